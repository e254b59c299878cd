"""Assessment of every household for a year: income (§4), suggested category (§6.1), flags (§6.2).

One pass of a few set-based queries, so the whole county is assessed in seconds. The CLI
`assess`, the windows and the checks all take their facts from here.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Text, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from ..models import Household, IncomeLine, IncomeRecord, Measure, Member
from . import access, dataversion, gcpause, income, rules, settings
from .codes import codes
from .db import among
from .errors import ServiceError
from .income import IncomeResult, Totals
from .rules import MemberFacts, Suggestion


class AssessError(ServiceError):
    pass


@dataclass(slots=True)
class Assessment:
    """One household's assessment. The lists a household shares with others (guarantee problems, risk types, its
    members' facts) are tuples, shared between the households that have the same: treat them as read-only."""

    household_id: int
    household_no: str
    village_id: int
    year: int
    status: str
    category: str | None  # the household's current A3
    poverty_alleviated: bool
    identified_on: date | None
    size: int
    income: IncomeResult | None
    suggestion: Suggestion
    guarantee_problems: tuple[str, ...]
    whole_household_no_labor: bool
    whole_no_labor_candidate: bool
    developmental_measure_required: bool
    developmental_measure_missing: bool
    warning_color: str | None
    line: Decimal
    risk_types: tuple[str, ...] = ()
    members: tuple[MemberFacts, ...] = field(default=(), repr=False)

    @property
    def suggested_category(self) -> str | None:
        """suggestion.category, without making a _Deferred household's suggestion (it has none)."""
        return self.suggestion.category

    def pending_fen(self) -> tuple | None:
        """The item totals in whole fen (A28, A29, A30, A31, A32, A35, A36, each an int ≥ 0) when the IncomeResult is
        not made yet (a _Deferred household's, made when first asked for), so that a caller reading only a sign or
        a bound of them may test these first; None when the result is made (or there is none)."""
        return None

    def a34_not_below(self, line: Decimal) -> bool:
        """True when, without making an IncomeResult not made yet, A34 is known not to be below the line
        (IncomeResult.below's own comparison of the total in fen with the line times the size); False means ask the
        result."""
        return False

    def to_json(self) -> dict:
        """The object of `assess` (SPEC §11); money stays Decimal for dumps() to print with 2 decimals."""
        r = self.income
        return {
            "household_no": self.household_no, "year": self.year, "size": self.size,
            "A33": r.A33 if r else None, "A34": r.A34 if r else None,
            "A37": r.A37 if r else None, "A38": r.A38 if r else None,
            "suggested_category": self.suggestion.category_name,
            "needs_review": self.suggestion.needs_review,
            "reasons": list(self.suggestion.reasons),
            "guarantee_problems": list(self.guarantee_problems),
            "whole_household_no_labor": self.whole_household_no_labor,
            "developmental_measure_required": self.developmental_measure_required,
            "developmental_measure_missing": self.developmental_measure_missing,
            "warning_color": self.warning_color,
        }

    def json_text(self) -> str:
        """dumps([self.to_json()]) without the dict and the encoder's passes: the same text, byte for byte
        (tests/services/test_assess_fast.py compares them for every household), written by one f-string —
        `assess` prints one for each household of a county. What many households share (the category with
        needs_review; the guarantees, flags and colour) is written once per distinct value (_JSON_HEADS,
        _JSON_TAILS)."""
        r, s = self.income, self.suggestion
        if r is None:
            money = '"A33": null, "A34": null, "A37": null, "A38": null'
        else:
            d = r.__dict__
            if "_fen" in d:  # income.compute_fen's amounts have exactly 2 places: str() is f"{:.2f}"
                money = (f'"A33": {str(d["A33"])}, "A34": {str(d["A34"])}, "A37": {str(d["A37"])}, '
                         f'"A38": {str(d["A38"])}')
            else:
                money = f'"A33": {_two(r.A33)}, "A34": {_two(r.A34)}, "A37": {_two(r.A37)}, "A38": {_two(r.A38)}'
        head = _json_head(s.category, s.needs_review, s)
        tail = self._json_tail()
        reasons = s.reasons
        if len(reasons) == 2:  # nearly every household: its own A38 sentence and one of a few shared ones
            reasons = f"{_text(reasons[0])}, {_second_reason(reasons[1])}"
        else:
            reasons = ", ".join(map(_text, reasons))
        return (f'{{"household_no": {_text(self.household_no)}, "year": {self.year!r}, "size": {self.size!r}, '
                f'{money}, {head}, "reasons": [{reasons}], {tail}')

    def _json_tail(self) -> str:
        """json_text's part after the reasons, shared by the households with the same guarantees, flags and colour
        (a few dozen distinct ones in a county)."""
        key = (self.guarantee_problems, self.warning_color, self.whole_household_no_labor,
               self.developmental_measure_required, self.developmental_measure_missing)
        tail = _JSON_TAILS.get(key)
        if tail is None:
            colour = self.warning_color
            tail = _JSON_TAILS[key] = (
                f'"guarantee_problems": [{", ".join(map(_text, self.guarantee_problems))}], '
                f'"whole_household_no_labor": {_TF[self.whole_household_no_labor]}, '
                f'"developmental_measure_required": {_TF[self.developmental_measure_required]}, '
                f'"developmental_measure_missing": {_TF[self.developmental_measure_missing]}, '
                f'"warning_color": {"null" if colour is None else _text(colour)}}}')
        return tail

    def snapshot(self) -> dict:
        """A frozen copy of the facts a decision is based on: JSON-safe, money as text, categories,
        guarantees and colours as codes, with SNAPSHOT_VERSION (read back with read_snapshot)."""
        r = self.income
        data = {
            "version": SNAPSHOT_VERSION, "household_no": self.household_no, "year": self.year, "size": self.size,
            "category": self.suggestion.category, "needs_review": self.suggestion.needs_review,
            "reasons": list(self.suggestion.reasons),
            "guarantees": [rules.GUARANTEE_CODES[rules.GUARANTEES.index(g)] for g in self.guarantee_problems],
            "whole_household_no_labor": self.whole_household_no_labor,
            "developmental_measure_required": self.developmental_measure_required,
            "developmental_measure_missing": self.developmental_measure_missing,
            "warning": rules.WARNING_CODES.get(self.warning_color) if self.warning_color else None,
            "monitoring_line": f"{self.line:.2f}",
        }
        for k in ("A33", "A34", "A37", "A38"):
            data[k] = None if r is None else f"{getattr(r, k):.2f}"
        if r is not None:
            data["A34_exact"], data["A38_exact"] = str(r.exact("A34")), str(r.exact("A38"))
            data["totals"] = {k: f"{getattr(r.totals, k):.2f}" for k in income.ITEMS}
        return data


_text = json.encoder.encode_basestring  # a JSON string as JSONEncoder(ensure_ascii=False) writes it
_TF = {True: "true", False: "false"}
_JSON_HEADS: dict[tuple, str] = {}  # json_text's shared pieces, a few dozen distinct ones in a county (at most
_JSON_TAILS: dict[tuple, str] = {}  # 10 categories × needs_review; 16 guarantee sets × 8 flags × 4 colours)
_JSON_REASONS: dict[str, str] = {}  # a second reason's JSON text (the shared ones, and a few thousand others)


def _json_head(category: str | None, needs_review: bool, suggestion: Suggestion | None) -> str:
    """json_text's suggested category and needs_review (a suggestion of `category`, or None when it has none)."""
    head = _JSON_HEADS.get((category, needs_review))
    if head is None:
        name = suggestion.category_name if category is not None else None
        name = "null" if name is None else _text(name)
        head = f'"suggested_category": {name}, "needs_review": {_TF[needs_review]}'
        _JSON_HEADS[(category, needs_review)] = head
    return head


def _second_reason(reason: str) -> str:
    """A second reason's JSON text: nearly every household's is one of a few shared ones."""
    second = _JSON_REASONS.get(reason)
    if second is None:
        second = _text(reason)
        if len(_JSON_REASONS) < 4096:
            _JSON_REASONS[reason] = second
    return second


def _two(amount: Decimal) -> str:
    """f"{amount:.2f}", four times faster for amounts that already have exactly 2 places (every computed one)."""
    text = str(amount)
    return text if text[-3:-2] == "." and "E" not in text else f"{amount:.2f}"


def dumps_assessments(results: list[Assessment]) -> str:
    """dumps([a.to_json() for a in results]), the output of `assess`, from json_text."""
    if not results:
        return "[]"
    parts = _json_lines(results)
    parts[0] = "[\n" + parts[0]  # the brackets on the first and last, not around the whole (one copy less of it)
    parts[-1] += "\n]"
    return ",\n".join(parts)


# _json_lines' line of a household with A33, A37 ≥ 0 and A38 under a million yuan: household_no, year, size, the four
# amounts (yuan, fen), the reason's piece before A38, A38 grouped (under 1,000 yuan; under a million), the piece after
# it, the rest (json_text's tail). One %-format: several times cheaper than four money texts and an f-string.
_LINE_START = ('{"household_no": %s, "year": %s, "size": %d, "A33": %d.%02d, "A34": %d.%02d, "A37": %d.%02d, '
               '"A38": %d.%02d')
_LINE_UNDER_1000 = _LINE_START + "%s%d.%02d%s%s"
_LINE = _LINE_START + "%s%d,%03d.%02d%s%s"


def _json_lines(results: list[Assessment]) -> list[str]:
    """json_text of each, those of the _Deferred households whose income and suggestion have not been made written
    from their item totals in whole fen: what compute_fen and their suggester make of them (A33 and A37 in fen, A34
    and A38 rounded half up to the fen, the reasons suggest gives them (rules.NOTHING_ELSE) with A38 as
    IncomeResult.versus shows it), without making them — one loop for the county, its shared pieces looked up once.
    The rare figures written otherwise (a per-capita figure whose rounding reaches the other side of the line, shown
    with its exact quotient; -0.00; a line not in whole fen) take json_text's way."""
    out = []
    append = out.append
    deferred, fen_text, group_text, per_capita = _Deferred, income.fen_text, income.group_text, income.per_capita_fen
    line = suggest = lf = None
    for a in results:
        if a.__class__ is not deferred or a._result is not None or a._suggested is not None:
            append(Assessment.json_text(a))
            continue
        if a.line is not line or a._suggest is not suggest:  # one county: the same throughout
            line, suggest, lf = a.line, a._suggest, income.line_fen(a.line)
            year = repr(a.year)  # the suggester is one year's
            # the pieces around A38 in the suggester's first reason (its a38_vs), then the second and the head; the
            # figure between them is digits, commas and a point, which JSON writes as they are
            around = {}
            for below, line_text, second in ((True, suggest.line_texts[0], rules.NOTHING_ELSE_BELOW),
                                             (False, suggest.line_texts[1], rules.NOTHING_ELSE)):
                around[below] = (f', {_json_head(None, below, None)}, "reasons": ["{_text("人均收入参考值 ")[1:-1]}',
                                 f'{_text(f" 元{line_text}")[1:-1]}", {_second_reason(second)}], ')
        if lf is None:
            append(Assessment.json_text(a))
            continue
        a28, a29, a30, a31, a32, a35, a36 = a._fen
        size = a.size
        a33 = a28 + a29 + a30 + a31 - a32
        a37 = a33 + a35 - a36
        below = a37 < lf * size
        before, after = around[below]
        tail = _JSON_TAILS.get((a.guarantee_problems, a.warning_color, a.whole_household_no_labor,
                                a.developmental_measure_required, a.developmental_measure_missing))
        if tail is None:
            tail = a._json_tail()
        if a33 >= 0 and a37 >= 0:
            twice = size + size
            a34, a38 = (a33 + a33 + size) // twice, (a37 + a37 + size) // twice  # per_capita_fen
            if (a38 < lf) != below:  # the exact quotient beside the figure
                append(Assessment.json_text(a))
                continue
            y38 = a38 // 100
            if y38 < 1_000_000:  # fen_text of the four and A38 grouped (group_text), in one format
                if y38 < 1000:
                    append(_LINE_UNDER_1000 % (_text(a.household_no), year, size, a33 // 100, a33 % 100, a34 // 100,
                                               a34 % 100, a37 // 100, a37 % 100, y38, a38 % 100, before, y38,
                                               a38 % 100, after, tail))
                else:
                    append(_LINE % (_text(a.household_no), year, size, a33 // 100, a33 % 100, a34 // 100, a34 % 100,
                                    a37 // 100, a37 % 100, y38, a38 % 100, before, y38 // 1000, y38 % 1000, a38 % 100,
                                    after, tail))
                continue
            t33, t34, t37, t38 = fen_text(a33), fen_text(a34), fen_text(a37), fen_text(a38)
        else:
            a34, a38 = per_capita(a33, size), per_capita(a37, size)
            if (a34 == 0 and a33 < 0) or (a38 == 0 and a37 < 0) or (a38 < lf) != below:  # -0.00; the exact quotient
                append(Assessment.json_text(a))
                continue
            t33, t34, t37, t38 = fen_text(a33), fen_text(a34), fen_text(a37), fen_text(a38)
        append(f'{{"household_no": {_text(a.household_no)}, "year": {year}, "size": {size!r}, "A33": {t33}, '
               f'"A34": {t34}, "A37": {t37}, "A38": {t38}{before}{group_text(t38)}{after}{tail}')
    return out


SNAPSHOT_VERSION = 2  # 1 (before 2026-11): no "version"; category, guarantees and colour as Chinese names


@dataclass(frozen=True)
class SnapshotView:
    """A frozen assessment read back for display, whatever version wrote it."""

    version: int
    error: str | None = None
    year: int | None = None
    size: int | None = None
    monitoring_line: str | None = None
    money: dict = field(default_factory=dict)  # A33, A34, A37, A38 as text
    category: str | None = None  # code of "category"
    needs_review: bool = False
    reasons: tuple = ()
    guarantee_problems: tuple = ()  # names: 住房安全 …
    whole_household_no_labor: bool = False
    developmental_measure_required: bool = False
    developmental_measure_missing: bool = False
    warning_color: str | None = None  # 红 / 黄 / 蓝
    totals: dict = field(default_factory=dict)
    policy_lines: tuple = ()  # 脱贫不享受政策: the criteria met and the exceptions, as read then

    @property
    def category_name(self) -> str | None:
        return codes("category").name(self.category) if self.category else None


def read_snapshot(snap: dict | None) -> SnapshotView | None:
    """Version 2 stores codes; version 1 (no "version" key) stored Chinese names, mapped back here once."""
    if not snap:
        return None
    if "error" in snap:
        return SnapshotView(int(snap.get("version", 1)), error=str(snap["error"]), year=snap.get("year"))
    version = int(snap.get("version", 1))
    if version >= 2:
        category = snap.get("category")
        guarantees = tuple(rules.GUARANTEES[rules.GUARANTEE_CODES.index(c)] for c in snap.get("guarantees") or ()
                           if c in rules.GUARANTEE_CODES)
        colour = {v: k for k, v in rules.WARNING_CODES.items()}.get(snap.get("warning"))
    else:
        name = snap.get("suggested_category")
        category = codes("category").code_of(name) if name else None
        guarantees = tuple(snap.get("guarantee_problems") or ())
        colour = snap.get("warning_color")
    return SnapshotView(
        version=version, year=snap.get("year"), size=snap.get("size"), monitoring_line=snap.get("monitoring_line"),
        money={k: snap.get(k) for k in ("A33", "A34", "A37", "A38")}, category=category or None,
        needs_review=bool(snap.get("needs_review")), reasons=tuple(snap.get("reasons") or ()),
        guarantee_problems=guarantees, whole_household_no_labor=bool(snap.get("whole_household_no_labor")),
        developmental_measure_required=bool(snap.get("developmental_measure_required")),
        developmental_measure_missing=bool(snap.get("developmental_measure_missing")),
        warning_color=colour, totals=dict(snap.get("totals") or {}), policy_lines=_policy_lines(snap.get("policy")))


def _policy_lines(data: dict | None) -> tuple:
    if not data:
        return ()
    from .policy import CRITERIA, EXCEPTIONS
    lines = [f"符合第 {k[1]} 条：{CRITERIA.get(k, k)}" + (f"（{v}）" if v else "")
             for k, v in (data.get("criteria") or {}).items()]
    lines += [f"例外第 {k[1]} 条：{EXCEPTIONS.get(k, k)}" + (f"（{v}）" if v else "")
              for k, v in (data.get("exceptions") or {}).items()]
    lines += [f"例外第 {k[1]} 条无法判断：{v}" for k, v in (data.get("undecided") or {}).items()]
    return tuple(lines)


def dumps(objs: list) -> str:
    """A JSON array, one object a line, with Decimal money written as numbers with exactly 2
    decimals (5200.00, not 5200.0). Each object goes through the C encoder (no indent), made once.

    Money goes through the encoder as a string between two lone surrogates, which no text read from a
    database, a file or the keyboard holds; the quotes and surrogates around it are then taken away in two
    passes of str.replace. If the text should hold them anyway (counted: more than the amounts written), the
    slower, pattern-matching way below is taken instead."""
    written = 0

    def default(o):
        nonlocal written
        if isinstance(o, Decimal):
            written += 1
            return f"\ud800{o:.2f}\udbff"
        if isinstance(o, date):
            return o.isoformat()
        raise TypeError(type(o).__name__)
    encode = _encoder(default)
    body = ",\n".join(encode(o) for o in objs)
    text = f"[\n{body}\n]" if objs else "[]"
    if text.count('"\ud800') == written and text.count('\udbff"') == written:
        return text.replace('"\ud800', "").replace('\udbff"', "")
    return _dumps_matched(objs)


def _encoder(default):
    """One object to JSON text as JSONEncoder(ensure_ascii=False, default=default).encode does, with the C
    encoder built once instead of once per object."""
    from json import encoder
    if encoder.c_make_encoder is None:
        return json.JSONEncoder(ensure_ascii=False, default=default, check_circular=False).encode
    make = encoder.c_make_encoder(None, default, encoder.encode_basestring, None, ": ", ", ", False, False, True)
    return lambda o: "".join(make(o, 0))


def _dumps_matched(objs: list) -> str:
    def default(o):
        if isinstance(o, Decimal):
            return f"\x00D{o:.2f}"
        if isinstance(o, date):
            return o.isoformat()
        raise TypeError(type(o).__name__)
    encode = json.JSONEncoder(ensure_ascii=False, default=default).encode
    body = ",\n".join(encode(o) for o in objs)
    return re.sub(r'"\\u0000D(-?\d+\.\d{2})"', r"\1", f"[\n{body}\n]" if objs else "[]")


def year_settings(session: Session, year: int) -> settings.YearSettingsData:
    access.logged_in(session)
    ys = settings.get_year(session, year)
    if ys is None or ys.monitoring_line is None:
        raise AssessError(f"{year} 年度未设置监测线：请在“年度设置”中填写，"
                          f"或运行 config --year {year} --monitoring-line 金额")
    return ys


def member_facts(session: Session, point: date, household_ids: list[int] | None = None
                 ) -> dict[int, list[MemberFacts]]:
    """Members of status 正常 at the time point, per household, in member order."""
    household_ids = access.within(session, household_ids)
    q = (select(Member.household_id, Member.labor, Member.a17_medical, Member.a20_dibao, Member.a21_tekun)
         .where(income.alive_at(point)).order_by(Member.id))
    if household_ids is not None and len(household_ids) < 5000:
        q = q.where(among(Member.household_id, household_ids))
    out: dict[int, list[MemberFacts]] = defaultdict(list)
    for hid, labor, a17, a20, a21 in session.execute(q):
        out[hid].append(MemberFacts(labor, a17, a20, a21))
    return out


def active_measure_filter(as_of: date):
    return (or_(Measure.start_date.is_(None), Measure.start_date <= as_of),
            or_(Measure.end_date.is_(None), Measure.end_date >= as_of),
            or_(Measure.ended_on.is_(None), Measure.ended_on > as_of))


def households_with_developmental(session: Session, as_of: date) -> set[int]:
    access.logged_in(session)
    q = select(Measure.household_id, Measure.category, Measure.item, Measure.developmental_override,
               Measure.raises_working_ability).where(*active_measure_filter(as_of))
    return {hid for hid, cat, item, ov, raises in session.execute(q)
            if rules.is_developmental(cat, item, ov, raises)}


def assess(session: Session, year: int, as_of: date, household_nos: list[str] | None = None,
           household_ids: list[int] | None = None, *,
           members: Callable[[], tuple[list, list[MemberFacts]]] | None = None,
           households: Callable[[], list | None] | None = None) -> list[Assessment]:
    """Every household (or those named) for the year as of a date. The whole register's assessment is kept
    per (year, as-of, the user's villages, data version): asked again before anything is written, by this
    or any other window or process, it is not computed again (services.dataversion).

    members: for a check, which has read every member of these households already (national_rules.assess_members),
    asked only when assess is computed: (household id, places in a table) for every household with members of
    status 正常 at the year's status time point, in any order, and that table of their distinct MemberFacts (A17 read
    as this module reads it: bool of the cell's JSON value). The answers are those of assess's own read.
    households: likewise (national_rules.assess_households), asked only when assess is computed: the households to
    assess as (id, 户编号, village, the cells of _PROFILE as SQLite's driver gives them) in 户编号 order, or None
    (assess reads them itself)."""
    if household_nos is None and household_ids is None:
        key = (year, as_of, access.scope(session))
        return list(dataversion.cached(session, "assess", key,
                                       lambda: _assess(session, year, as_of, None, None, members, households)))
    return _assess(session, year, as_of, household_nos, household_ids, members, households)


# what a household's assessment reads of it besides its id, number and village; many households share the same
_PROFILE = (Household.monitoring_status, Household.a3_category, Household.a4_poverty_alleviated,
            Household.identified_on, Household.a23_housing_unsafe, Household.a24_school_dropout,
            Household.a25_water_unsafe, Household.a27_risk_types, Household.dibao_tier)


def _household_query(household_nos: list[str] | None, household_ids: list[int] | None, whole_register: bool,
                     profile=None):
    """The households both paths assess, in 户编号 order: (id, 户编号, village, status, A3, A4, identified_on, A23,
    A24, A25, A27 risk types, dibao tier), or (id, 户编号, village, profile) with the columns of _PROFILE as one
    expression."""
    columns = _PROFILE if profile is None else (profile,)
    q = select(Household.id, Household.household_no, Household.village_id, *columns).order_by(Household.household_no)
    if household_nos is not None:
        q = q.where(among(Household.household_no, household_nos))
    if household_ids is not None:
        q = q.where(among(Household.id, household_ids))
    if whole_register:
        q = q.where(Household.closed_on.is_(None))
    return q


def _named(rows: list, household_nos: list[str] | None, household_ids: list[int] | None) -> list[int] | None:
    """The ids of the households found when some were named (None for the whole register); a 户编号 named but not
    found is refused."""
    if household_nos is not None:
        missing = sorted(set(household_nos) - {r[1] for r in rows})
        if missing:
            raise AssessError(f"户编号不存在：{'、'.join(missing)}")
    return [r[0] for r in rows] if (household_nos is not None or household_ids is not None) else None


def _household_rows(session: Session, household_nos: list[str] | None, household_ids: list[int] | None,
                    whole_register: bool) -> tuple[list, list[int] | None]:
    """The households the plain path assesses (ORM rows, see _household_query) and their ids when named."""
    rows = session.execute(_household_query(household_nos, household_ids, whole_register)).all()
    return rows, _named(rows, household_nos, household_ids)


def _assess(session: Session, year: int, as_of: date, household_nos: list[str] | None,
            household_ids: list[int] | None, members: Callable | None = None,
            households: Callable | None = None) -> list[Assessment]:
    """The fast path: the same answers as _assess_plain (tests/services/test_assess_fast.py), household for household.

    Three set-based queries read as the driver's plain tuples (no ORM rows, no per-value type conversion): the
    households; each household's members of status 正常 as one JSON text (json_group_array / json_agg, in member
    order), so one row per household and the text itself is the key of what depends only on the members; and the
    standing annual record's item sums in whole fen (one grouped query, records in the order that makes the last
    one of a household the one that stands). What many households share — their members' facts, the guarantees,
    the colour of a date, a date's text, a risk list's text — is worked out once per distinct value; the money
    once per household in integers (income.compute_fen). Households named (by number or id) are assessed whatever
    their state; the whole register (or a clerk's villages) means the households not closed (户注销). members: see
    assess (instead of _member_situations' read); households: see assess (instead of _household_tuples' read)."""
    whole_register = household_nos is None and household_ids is None
    household_ids = access.within(session, household_ids)
    ys = year_settings(session, year)
    with gcpause.paused():  # hundreds of thousands of new objects, none in a cycle: the collector would only walk them
        given = households() if households is not None and household_nos is None else None
        if given is None:
            rows, ids, profiles = *_household_tuples(session, household_nos, household_ids, whole_register), None
        else:
            rows, ids, profiles = given, _named(given, None, household_ids), _CellProfiles(as_of)
        if members is None:
            situations = _member_situations(session, ys.status_time_point, ids)
        else:
            situations = _situations_of(*members())
        totals = _standing_fen(session, year, ids)
        developmental = _developmental_ids(session, as_of, ids)
        return _build(rows, situations, totals, developmental, year, ys.monitoring_line, ys.rural_average, as_of,
                      profiles)


def _tuples(session: Session, stmt) -> list[tuple]:
    """The rows of a Core statement as the driver hands them over: no Row objects, no result processing (Money
    stays whole fen, SQLite's dates and JSON stay text, its booleans 0/1; psycopg gives date, bool and list)."""
    result = session.connection().execute(stmt)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _household_tuples(session: Session, household_nos: list[str] | None, household_ids: list[int] | None,
                      whole_register: bool) -> tuple[list, list[int] | None]:
    """_household_rows as the driver's plain tuples (id, 户编号, village, profile): the columns of _PROFILE as one
    JSON text, which many households share (decoded once per distinct text by _Profiles)."""
    if session.get_bind().dialect.name == "postgresql":
        profile = cast(func.json_build_array(*_PROFILE), Text)
    else:
        profile = func.json_array(*_PROFILE)
    rows = _tuples(session, _household_query(household_nos, household_ids, whole_register, profile))
    return rows, _named(rows, household_nos, household_ids)


class _Profiles(dict):
    """A _PROFILE JSON text → (status, A3, A4, 脱贫户 as bool, identified_on, the guarantee problems without and with
    the members' A26, risk types, dibao tier, warning colour), decoded and worked out once per distinct text. SQLite
    writes its booleans 0/1 and its dates and the A27 JSON as text; PostgreSQL true/false, ISO dates and A27 as an
    array."""

    def __init__(self, as_of: date):
        super().__init__()
        self.as_of = as_of

    def __missing__(self, text: str) -> tuple:
        return self._decoded(text, *json.loads(text))

    def _decoded(self, key, status, a3, a4, day, a23, a24, a25, risks, tier) -> tuple:
        identified_on = date.fromisoformat(day) if day else None
        if isinstance(risks, str):
            risks = json.loads(risks)
        colour = rules.warning_color(status, identified_on, self.as_of)
        guarantees = (tuple(rules.guarantee_problems(a23, a24, a25, False)),
                      tuple(rules.guarantee_problems(a23, a24, a25, True)))  # by the members' A26
        profile = self[key] = (status, a3, a4, bool(a4), identified_on, guarantees, tuple(risks or ()), tier, colour)
        return profile


class _CellProfiles(_Profiles):
    """_Profiles keyed by the cells themselves as SQLite's driver gives them (a check's read of the households,
    national_rules.assess_households): the same values the JSON text of _household_tuples holds (yes/no cells 0/1,
    the date and the A27 JSON as text), decoded the same way."""

    def __missing__(self, cells: tuple) -> tuple:
        return self._decoded(cells, *cells)


def _in_order(members) -> tuple:
    """A household's member facts in one order whatever order they were read in (the facts name no one, and no rule
    of §6.2 depends on their order): Assessment.members, and the key of the members' situation."""
    return tuple(sorted(members, key=repr))


class _Situation:
    """What depends only on a household's members of status 正常 (the same for every household with the same)."""

    __slots__ = ("members", "size", "a26", "cannot_work", "work_needed", "candidates")

    def __init__(self, members: tuple):
        self.members, self.size = members, len(members)
        self.a26 = rules.derived_a26(members)
        self.cannot_work = rules.whole_household_cannot_work(members)
        self.work_needed = rules.developmental_required(True, members)
        self.candidates: dict = {}  # dibao tier → whole_no_labor_candidate

    def candidate(self, tier):
        c = self.candidates.get(tier)
        if c is None:
            c = self.candidates[tier] = rules.whole_no_labor_candidate(list(self.members), tier)
        return c


_NOBODY = _Situation(())


def _member_situations(session: Session, point: date, household_ids: list[int] | None) -> dict[int, _Situation]:
    """member_facts per household, one row per household: the members as a JSON array of [labor, A17, A20, A21],
    decoded once per distinct text (in whatever order the database aggregates them: _in_order sorts them; asking
    for member order cost SQLite a sort of every member)."""
    facts = (Member.labor, Member.a17_medical, Member.a20_dibao, Member.a21_tekun)
    if session.get_bind().dialect.name == "postgresql":
        agg = cast(func.json_agg(func.json_build_array(*facts)), Text)
    else:
        agg = func.json_group_array(func.json_array(*facts))
    q = select(Member.household_id, agg).where(income.alive_at(point)).group_by(Member.household_id)
    if household_ids is not None:
        q = q.where(among(Member.household_id, household_ids))
    shared: dict[str, _Situation] = {}
    out = {}
    for hid, text in _tuples(session, q):
        s = shared.get(text)
        if s is None:
            s = shared[text] = _Situation(_in_order(MemberFacts(labor, None if a17 is None else bool(a17), a20, a21)
                                                    for labor, a17, a20, a21 in json.loads(text)))
        out[hid] = s
    return out


def _situations_of(places: list, table: list[MemberFacts]) -> dict[int, _Situation]:
    """_member_situations from members read already (assess's `members`): one _Situation per distinct list of
    places, its members in _in_order's order (the same tuple _member_situations makes of the same members)."""
    shared: dict[tuple, _Situation] = {}
    out = {}
    for hid, key in places:
        s = shared.get(key)
        if s is None:
            s = shared[key] = _Situation(_in_order([table[i] for i in key]))
        out[hid] = s
    return out


def _standing_fen(session: Session, year: int, household_ids: list[int] | None) -> dict[int, tuple]:
    """income.totals_for_year in one grouped query, in whole fen: household id → (A28, A29, A30, A31, A32, A35,
    A36) of its standing annual record. A household with one annual record for the year (nearly every one) needs
    no order; those with more (dated and undated collections) are read again in income.latest_record_ids' order,
    the last one standing — sorting every record instead cost about a third of the query."""
    sums = [func.coalesce(func.sum(IncomeLine.amount).filter(IncomeLine.item == item), 0) for item in income.ITEMS]
    # PostgreSQL's sum of a bigint is numeric (psycopg: Decimal): cast back, so both hand over int fen
    whole = cast if session.get_bind().dialect.name == "postgresql" else type_coerce
    q = (select(IncomeRecord.household_id, *(whole(x, BigInteger) for x in sums))
         .select_from(IncomeRecord).outerjoin(IncomeLine, IncomeLine.record_id == IncomeRecord.id)
         .where(IncomeRecord.year == year, income.ANNUAL).group_by(IncomeRecord.id))
    if household_ids is not None:
        q = q.where(among(IncomeRecord.household_id, household_ids))
    rows = _tuples(session, q)
    out = {r[0]: r[1:] for r in rows}
    if len(out) < len(rows):
        seen, several = set(), set()
        for r in rows:
            (several if r[0] in seen else seen).add(r[0])
        ordered = (q.where(among(IncomeRecord.household_id, sorted(several)))
                   .order_by(IncomeRecord.collected_on.is_not(None), IncomeRecord.collected_on, IncomeRecord.id))
        out.update((r[0], r[1:]) for r in _tuples(session, ordered))
    return out


def _developmental_ids(session: Session, as_of: date, household_ids: list[int] | None) -> set[int]:
    """households_with_developmental among the households named (None: all), each distinct (category, item,
    override, raises) decided once. Named households only: a clerk's one-household assess (线索, 风险消除) read every
    household's measures, about 50 ms at 20,000 households."""
    q = select(Measure.household_id, Measure.category, Measure.item, Measure.developmental_override,
               Measure.raises_working_ability).where(*active_measure_filter(as_of))
    if household_ids is not None:
        q = q.where(among(Measure.household_id, household_ids))
    decided: dict[tuple, bool] = {}
    out = set()
    for hid, *key in session.execute(q).all():
        key = tuple(key)
        yes = decided.get(key)
        if yes is None:
            yes = decided[key] = rules.is_developmental(*key)
        if yes:
            out.add(hid)
    return out


class _Deferred(Assessment):
    """The assessment of a household whose income decides no category: it has neither guarantee problems nor risk
    types, its 脱贫户 flag is known, and it has members and a standing annual record (rules.NOTHING_ELSE) —
    most households of a county. Its IncomeResult and Suggestion, the same as the other households', are made when
    first asked for (income, suggestion): the flags depend on no category, and json_text writes its line of
    `assess` from the item totals in whole fen without them. Equal (==) to the Assessment the plain path makes."""

    __slots__ = ("_fen", "_suggest", "_result", "_suggested")
    suggested_category = None  # by construction

    def __init__(self, household_id, household_no, village_id, year, status, category, poverty_alleviated,
                 identified_on, size, whole_household_no_labor, whole_no_labor_candidate, required, missing,
                 warning_color, line, members, fen, suggest):
        self.household_id, self.household_no, self.village_id, self.year = household_id, household_no, village_id, year
        self.status, self.category, self.poverty_alleviated = status, category, poverty_alleviated
        self.identified_on, self.size, self.guarantee_problems = identified_on, size, ()
        self.whole_household_no_labor = whole_household_no_labor
        self.whole_no_labor_candidate = whole_no_labor_candidate
        self.developmental_measure_required, self.developmental_measure_missing = required, missing
        self.warning_color, self.line, self.risk_types, self.members = warning_color, line, (), members
        self._fen, self._suggest, self._result, self._suggested = fen, suggest, None, None

    @property
    def income(self) -> IncomeResult:
        r = self._result
        if r is None:
            r = self._result = income.compute_fen(self._fen, self.size)
        return r

    def pending_fen(self) -> tuple | None:
        return self._fen if self._result is None else None

    def a34_not_below(self, line: Decimal) -> bool:
        if self._result is not None:
            return False
        lf = income.line_fen(line)
        f = self._fen
        return lf is not None and f[0] + f[1] + f[2] + f[3] - f[4] >= lf * self.size

    @property
    def suggestion(self) -> Suggestion:
        s = self._suggested
        if s is None:
            s = self._suggested = self._suggest(self.income, self.poverty_alleviated, (), ())
        return s

    def __eq__(self, other):
        if not isinstance(other, Assessment):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in _FIELDS)

    __hash__ = None

    def json_text(self) -> str:
        """Assessment.json_text, the same text (_json_lines)."""
        return _json_lines([self])[0]


_FIELDS = tuple(f.name for f in fields(Assessment))


def _build(rows: list, situations: dict, totals: dict, developmental: set, year: int, line: Decimal,
           rural_average: Decimal | None, as_of: date, profiles: _Profiles | None = None) -> list[Assessment]:
    """_one for every household, with what households share looked up instead of worked out again; the households
    whose income decides no category as _Deferred (their income and suggestion made when asked for). profiles:
    decodes the rows' profiles (_Profiles: a JSON text, the default)."""
    profiles = _Profiles(as_of) if profiles is None else profiles
    no_record = f"没有 {year} 年收入记录，无法判断"
    nobody = f"{year} 年状态时点无正常状态的家庭成员，无法计算人均收入"
    unremoved = rules.UNREMOVED
    suggest, compute = rules.suggester(year, line, rural_average), income.compute_fen
    exact = income.fen_exact
    out = []
    append = out.append
    for hid, no, village, profile in rows:
        status, a3, a4, alleviated, identified_on, guarantees, risks, tier, colour = profiles[profile]
        sit = situations.get(hid, _NOBODY)
        g = guarantees[sit.a26]
        fen = totals.get(hid)
        if not g and not risks and a4 is not None and fen is not None and sit.size and exact(fen, sit.size):
            required = sit.work_needed and status in unremoved  # no category suggested
            candidate = sit.candidates.get(tier)
            if candidate is None:
                candidate = sit.candidate(tier)
            append(_Deferred(hid, no, village, year, status, a3, alleviated, identified_on, sit.size, sit.cannot_work,
                             candidate, required, required and hid not in developmental, colour, line, sit.members,
                             fen, suggest))
            continue
        result = None
        if fen is None:
            suggestion = Suggestion(None, True, [no_record])
        elif not sit.size:
            suggestion = Suggestion(None, True, [nobody])
        else:
            result = compute(fen, sit.size)
            suggestion = suggest(result, alleviated, g, risks)
        if a4 is None:
            unsure = suggestion.category in ("01", "02")
            why = "是否脱贫户未知（未登记）：" + ("无法判断是脱贫不稳定户还是边缘易致贫户，" if unsure else "")
            suggestion = Suggestion(None if unsure else suggestion.category, True,
                                    [*suggestion.reasons, why + "请核实后在户信息中填写"])
        required = sit.work_needed and (status in unremoved or suggestion.category is not None)
        candidate = sit.candidates.get(tier)
        if candidate is None:
            candidate = sit.candidate(tier)
        append(Assessment(hid, no, village, year, status, a3, alleviated, identified_on, sit.size, result, suggestion,
                          g, sit.cannot_work, candidate, required, required and hid not in developmental,
                          colour, line, risks, sit.members))
    return out


def _assess_plain(session: Session, year: int, as_of: date, household_nos: list[str] | None,
                  household_ids: list[int] | None) -> list[Assessment]:
    """The reference the fast path (_assess) is tested against: household by household through _one."""
    whole_register = household_nos is None and household_ids is None
    household_ids = access.within(session, household_ids)
    ys = year_settings(session, year)
    line, point = ys.monitoring_line, ys.status_time_point
    rows, ids = _household_rows(session, household_nos, household_ids, whole_register)
    facts = member_facts(session, point, ids)
    totals = income.totals_for_year(session, year, ids)
    developmental = households_with_developmental(session, as_of)
    return [_one(r, year, line, ys.rural_average, as_of, facts.get(r.id, []), totals.get(r.id), r.id in developmental)
            for r in rows]


def _one(r, year: int, line: Decimal, rural_average: Decimal | None, as_of: date, members: list[MemberFacts],
         totals: Totals | None, has_developmental: bool) -> Assessment:
    size = len(members)
    g = tuple(rules.guarantee_problems(r.a23_housing_unsafe, r.a24_school_dropout, r.a25_water_unsafe,
                                       rules.derived_a26(members)))
    risks = tuple(r.a27_risk_types or ())
    result = None
    if totals is None:
        suggestion = Suggestion(None, True, [f"没有 {year} 年收入记录，无法判断"])
    elif size == 0:
        suggestion = Suggestion(None, True, [f"{year} 年状态时点无正常状态的家庭成员，无法计算人均收入"])
    else:
        result = income.compute(totals, size)
        suggestion = rules.suggest_category(year=year, result=result, line=line, rural_average=rural_average,
                                            poverty_alleviated=bool(r.a4_poverty_alleviated), guarantees=g,
                                            risk_types=risks)
    if r.a4_poverty_alleviated is None:  # unknown, e.g. a national list without 户类型: never taken as 否
        unsure = suggestion.category in ("01", "02")
        why = "是否脱贫户未知（未登记）：" + ("无法判断是脱贫不稳定户还是边缘易致贫户，" if unsure else "")
        suggestion = Suggestion(None if unsure else suggestion.category, True,
                                [*suggestion.reasons, why + "请核实后在户信息中填写"])
    monitored = r.monitoring_status in rules.UNREMOVED or suggestion.category is not None
    required = rules.developmental_required(monitored, members)
    return Assessment(
        household_id=r.id, household_no=r.household_no, village_id=r.village_id, year=year,
        status=r.monitoring_status, category=r.a3_category, poverty_alleviated=bool(r.a4_poverty_alleviated),
        identified_on=r.identified_on, size=size, income=result, suggestion=suggestion, guarantee_problems=g,
        whole_household_no_labor=rules.whole_household_cannot_work(members),  # cheap: stops at a worker
        whole_no_labor_candidate=rules.whole_no_labor_candidate(members, r.dibao_tier),
        developmental_measure_required=required,
        developmental_measure_missing=required and not has_developmental,
        warning_color=rules.warning_color(r.monitoring_status, r.identified_on, as_of),
        line=line, risk_types=risks, members=_in_order(members))


# ---------------------------------------------------------------- what the calculator window needs

@dataclass(frozen=True)
class CalculatorFacts:
    """One household's facts for the calculator of a year: who, how many, the line, and the facts
    of §6.1 other than income (taken from the assessment, not worked out again)."""

    household_id: int
    household_no: str
    head_name: str
    village: str
    year: int
    size: int
    status_time_point: date
    monitoring_line: Decimal
    rural_average: Decimal | None
    poverty_alleviated: bool
    guarantee_problems: list[str]
    risk_types: list[str]


def calculator_facts(session: Session, household_id: int, year: int, as_of: date) -> CalculatorFacts:
    access.household(session, household_id)
    from ..models import Region
    ys = year_settings(session, year)
    hh = session.get(Household, household_id)
    if hh is None:
        raise AssessError(f"户 #{household_id} 不存在")
    a = assess(session, year, as_of, household_ids=[household_id])[0]
    village = session.get(Region, hh.village_id)
    return CalculatorFacts(household_id, hh.household_no, hh.head_name or "", village.name if village else "", year,
                           a.size, ys.status_time_point, ys.monitoring_line, ys.rural_average, a.poverty_alleviated,
                           list(a.guarantee_problems), list(a.risk_types))


@dataclass(frozen=True)
class Calculation:
    result: IncomeResult | None
    suggestion: Suggestion | None
    problem: str | None  # why there is no result or no suggestion


def calculate(facts: CalculatorFacts, totals: Totals, quarter: int | None = None) -> Calculation:
    """The calculator's live answer: the same income.compute and rules.suggest_category as `assess`.
    A quarterly collection is computed but never suggests a category (SPEC §4: only the annual record
    decides)."""
    try:
        result = income.compute(totals, facts.size)
    except income.IncomeError as e:
        return Calculation(None, None, str(e))
    if quarter is not None:
        return Calculation(result, None, f"第 {quarter} 季度的收入只用于排查收入是否明显下降，不据此建议类别；"
                                         f"类别由 {facts.year} 年度收入记录决定")
    suggestion = rules.suggest_category(year=facts.year, result=result, line=facts.monitoring_line,
                                        rural_average=facts.rural_average,
                                        poverty_alleviated=facts.poverty_alleviated,
                                        guarantees=facts.guarantee_problems, risk_types=facts.risk_types)
    return Calculation(result, suggestion, None)
