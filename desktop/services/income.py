"""Household income exactly as the collection form computes it (seed 004 annex 1, notes 1–2).

    A33 家庭纯收入           = A28 + A29 + A30 + A31 − A32
    A34 家庭人均纯收入       = A33 / size
    A37 纳入监测收入参考范围 = A33 + A35 − A36
    A38 人均收入参考范围     = A37 / size

size = members of status 正常 at the status time point of the year (a member born after it — the
birth date is in the ID number — is not counted, whatever the status cell says). Money is Decimal,
shown with 2 decimals (half up); comparisons with a line use the exact quotient (`below`), never the
rounded figure; inputs are ≥ 0; size 0 is an error, never a division.

Annual and quarterly records (SPEC §4): only the annual record (quarter empty) of a year gives the
year's A28–A38; quarterly collections are kept beside it for the "income clearly falling" screening
and the removal warning (`clear_falls`), and never stand for the year.
"""

from __future__ import annotations

import json
import struct
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.orm import Session

from ..models import Household, IncomeLine, IncomeRecord, Member
from ..models.base import utcnow
from . import access, concurrency, settings
from .codes import income_items
from .db import among
from .errors import ServiceError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal(10) ** 10  # ten billion yuan: anything larger is a typing error
ITEMS = ("A28", "A29", "A30", "A31", "A32", "A35", "A36")
EXTRA_LINES_KEY = "income_extra_lines"


class IncomeError(ServiceError):
    pass


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_money(value, where: str = "") -> Decimal:
    """A non-negative amount from user text ("12,000元", full-width digits) or a number."""
    import unicodedata
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, (int,)):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(str(value))
    else:
        text = unicodedata.normalize("NFKC", str(value or "")).replace(",", "").replace("元", "").strip()
        if text == "":
            return ZERO
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise IncomeError(f"{where}“{value}”不是有效的金额") from None
    if not amount.is_finite():
        raise IncomeError(f"{where}“{value}”不是有效的金额")
    if amount < 0:
        raise IncomeError(f"{where}金额不能为负数：{value}")
    if amount >= MAX_AMOUNT:
        raise IncomeError(f"{where}金额“{value}”过大，不是有效的金额")
    return money(amount)


@dataclass(frozen=True)
class Totals:
    """Item totals A28–A32, A35, A36 of one household for one period."""

    A28: Decimal = ZERO
    A29: Decimal = ZERO
    A30: Decimal = ZERO
    A31: Decimal = ZERO
    A32: Decimal = ZERO
    A35: Decimal = ZERO
    A36: Decimal = ZERO

    @classmethod
    def from_lines(cls, lines) -> "Totals":
        sums = defaultdict(lambda: ZERO)
        for ln in lines:
            sums[ln.item] += ln.amount
        return cls(**{k: money(v) for k, v in sums.items() if k in ITEMS})


_EXACT = {"A34": "A34_exact", "A38": "A38_exact"}


def grouped(amount: Decimal) -> str:
    """f"{amount:,.2f}" (12,345.60), several times faster for an amount that already has exactly 2 places (every
    computed one): assess writes one for every household of a county."""
    text = str(amount)
    if text[-3:-2] != "." or "E" in text:
        return f"{amount:,.2f}"
    return group_text(text)


def group_text(text: str) -> str:
    """An amount written with exactly 2 places (str of a Decimal of exponent -2, fen_text) with the thousands
    separated as f"{amount:,.2f}" separates them."""
    n = len(text)
    digits = n - 3 if text[0] != "-" else n - 4  # before the point
    if digits <= 3:
        return text
    if digits <= 6:  # one comma: the common per-capita amount
        return f"{text[:-6]},{text[-6:]}"
    if text[0] == "-":
        return f"-{int(text[1:-3]):,}{text[-3:]}"
    return f"{int(text[:-3]):,}{text[-3:]}"


def fen_text(fen: int) -> str:
    """Whole fen written as str(yuan_of_fen(fen)) writes it (1234.50, 0.05, -0.07), without making the Decimal."""
    if fen < 0:
        return "-" + fen_text(-fen)
    return "%d.%02d" % divmod(fen, 100)


def per_capita_fen(total: int, size: int) -> int:
    """A total in whole fen divided by the household size, rounded half up to the fen as Decimal's ROUND_HALF_UP
    does (away from zero on a tie): compute_fen's A34 and A38 in fen. A negative total that rounds to no fen gives
    0 here; compute_fen writes it -0.00, keeping its sign as Decimal does."""
    twice = size + size
    if total >= 0:
        return (total + total + size) // twice
    return -((size - total - total) // twice)


@dataclass(frozen=True)
class IncomeResult:
    """The form's four results, rounded to the fen for display, and the exact per-capita quotients
    that every comparison with a line uses (21,299.99 / 3 = 7,099.9967 is below 7,100 though it
    shows as 7,100.00).

    A result made by compute_fen (assess makes one for every household of a county) has no exact quotients until
    one is asked for (__getattr__ makes them as compute() does); `below`, `shown` and `versus` compare it with a
    line of at most two decimals without them, in whole fen: A33 / size < line exactly when A33 < line × size."""

    size: int
    totals: Totals
    A33: Decimal
    A34: Decimal
    A37: Decimal
    A38: Decimal
    A34_exact: Decimal | None = None
    A38_exact: Decimal | None = None

    def exact(self, code: str) -> Decimal:
        d = self.__dict__
        if "A34_exact" not in d:
            self._exact()
        value = d[_EXACT[code]]
        return d[code] if value is None else value

    def below(self, line: Decimal, code: str = "A38") -> bool:
        """Strictly below the line (SPEC §6.1), on the exact per-capita value."""
        d = self.__dict__
        if "A34_exact" not in d:  # compute_fen's: the exact quotient not made
            lf = line_fen(line)
            if lf is not None:
                return d[_TOTAL[code]] < lf * d["size"]
            self._exact()
        value = d[_EXACT[code]]
        return (d[code] if value is None else value) < line

    def shown(self, code: str, line: Decimal | None = None) -> str:
        """The per-capita figure in yuan as the forms print it (2 decimals), with the exact quotient
        beside it when rounding to the fen would put it on the other side of the line:
        "7,100.00 元（精确值 7,099.9966 元）"."""
        if line is None:
            return f"{grouped(self.__dict__[code])} 元"
        return self.versus(line, code)[1]

    def versus(self, line: Decimal, code: str = "A38") -> tuple[bool, str]:
        """(below(line, code), shown(code, line)) in one pass: what a reason comparing the household with a line
        says."""
        d = self.__dict__
        rounded = d[code]
        if "A34_exact" not in d and (lf := line_fen(line)) is not None:  # below(), for compute_fen's result
            below = d[_TOTAL[code]] < lf * d["size"]
            text = str(rounded)  # exactly 2 places: grouped() without its checks
            if len(text) > 6:
                text = group_text(text)
        else:
            below = self.below(line, code)
            text = grouped(rounded)
        if (rounded < line) == below:
            return below, f"{text} 元"
        exact = self.exact(code)
        return below, f"{text} 元（精确值 {exact.quantize(_TEN_THOUSANDTH, rounding=ROUND_DOWN):,} 元）"

    def item(self, code: str) -> Decimal:
        """One item total (A28 …), without turning the others into Decimal when the result came from compute_fen
        (a check that reads one item of every household of a county would otherwise build all seven for each)."""
        d = self.__dict__
        fen = d.get("_fen")
        if fen is not None and "totals" not in d:
            value = _FEN.unpack(fen)[ITEMS.index(code)]
            return _fen(value) if value else ZERO
        return getattr(self.totals, code)

    def _exact(self) -> None:
        """A compute_fen result's exact quotients, as compute() makes them (exact to 28 digits)."""
        d = self.__dict__
        size = d["size"]
        d["A34_exact"], d["A38_exact"] = d["A33"] / size, d["A37"] / size

    def __getattr__(self, name: str):
        """What a compute_fen result makes only when asked for: the item totals (only the checks and a snapshot
        look at them) and the exact quotients (assess compares with the line without them)."""
        d = self.__dict__
        if name == "totals":
            fen = d.get("_fen")
            if fen is not None:
                totals = d["totals"] = _totals_fen(_FEN.unpack(fen))
                return totals
        elif (name == "A34_exact" or name == "A38_exact") and "_fen" in d:
            self._exact()
            return d[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


# compute_fen's results have no A34_exact / A38_exact until asked for: without the class attributes (the dataclass's
# defaults, of which __init__ keeps its own copy) asking for them reaches __getattr__
del IncomeResult.A34_exact, IncomeResult.A38_exact
_TOTAL = {"A34": "_a33", "A38": "_a37"}  # compute_fen's: the total in fen a per-capita figure divides
_TEN_THOUSANDTH = Decimal("0.0001")
_LINE_FEN: dict = {}


def line_fen(line) -> int | None:
    """A line (monitoring line, average …) in whole fen, or None when it has more than 2 decimals, is no Decimal
    or is too large for line × size to be exact: such lines are compared with the exact quotient."""
    try:
        return _LINE_FEN[line]
    except KeyError:
        pass
    except TypeError:  # unhashable
        return None
    fen = None
    if type(line) is Decimal and line.is_finite():
        scaled = line.scaleb(2)
        if scaled == scaled.to_integral_value() and abs(scaled) < _FEN_LIMIT:
            fen = int(scaled)
    if len(_LINE_FEN) < 256:
        _LINE_FEN[line] = fen
    return fen


def compute(totals: Totals, size: int) -> IncomeResult:
    """The four results of the form. A33 and A37 may be negative (expenses above income)."""
    if size is None or size <= 0:
        raise IncomeError("家庭人口数为 0（状态时点无正常成员），无法计算人均收入")
    for item in ITEMS:
        if getattr(totals, item) < 0:
            raise IncomeError(f"{item} 金额不能为负数")
    a33 = money(totals.A28 + totals.A29 + totals.A30 + totals.A31 - totals.A32)
    a37 = money(a33 + totals.A35 - totals.A36)
    a34, a38 = a33 / size, a37 / size  # exact to 28 digits: a two-decimal line is compared exactly
    return IncomeResult(size, totals, a33, money(a34), a37, money(a38), a34, a38)


_new = object.__new__
_set = object.__setattr__
_fen = CENT.__mul__  # whole fen → yuan with exactly 2 places (1000.00, not 1E+3): the Money column's reading
# compute_fen keeps the item sums packed in bytes: a result's __dict__ then holds no container, so the cycle
# collector leaves it alone (a tuple would make it and the dict two more objects to walk per household)
_FEN = struct.Struct("7q")
_MINUS_ZERO = Decimal("-0.00")
# compute_fen's integers give exactly compute()'s Decimals while the amounts stay far inside Decimal's 28 digits:
# the quotient of a total below 10^18 fen by a size below 10^6, exact to 28 digits, is then never rounded onto a
# half fen or across a line of at most two decimals
_FEN_LIMIT = 10 ** 18
_SIZE_LIMIT = 10 ** 6


def yuan_of_fen(fen: int) -> Decimal:
    """Whole fen as the Decimal yuan amount the Money column reads back (2 decimal places)."""
    return _fen(fen)


def fen_exact(fen: tuple, size: int) -> bool:
    """compute_fen computes these item totals in whole fen in integers (no item negative, the sums and the size
    within what stays exact); otherwise it takes compute()'s way."""
    return min(fen) >= 0 and sum(fen) < _FEN_LIMIT and size < _SIZE_LIMIT


def compute_fen(fen: tuple, size: int) -> IncomeResult:
    """compute() for item totals in whole fen, as stored (A28, A29, A30, A31, A32, A35, A36, each an int ≥ 0):
    an IncomeResult equal to compute()'s, field for field (tests/services/test_income.py compares them), computed
    in integers — A33 and A37 in fen, A34 and A38 rounded half up to the fen (away from zero on a tie, as Decimal's
    ROUND_HALF_UP does) — and written as Decimal yuan; the exact quotients and the item totals are made only when
    asked for (IncomeResult.__getattr__): assess computes one for every household of a county. Sums beyond what
    Decimal's 28 digits hold exactly, and sizes beyond any household, take compute()'s way."""
    if size is None or size <= 0:
        raise IncomeError("家庭人口数为 0（状态时点无正常成员），无法计算人均收入")
    if not fen_exact(fen, size):
        return compute(_totals_fen(fen), size)  # says which item is negative
    a28, a29, a30, a31, a32, a35, a36 = fen
    a33 = a28 + a29 + a30 + a31 - a32
    a37 = a33 + a35 - a36
    a34, a38 = per_capita_fen(a33, size), per_capita_fen(a37, size)
    a34 = _fen(a34) if a34 or a33 >= 0 else _MINUS_ZERO  # a negative quotient rounded to no fen keeps its sign
    a38 = _fen(a38) if a38 or a37 >= 0 else _MINUS_ZERO
    r = _new(IncomeResult)
    _set(r, "__dict__", {"size": size, "_fen": _FEN.pack(*fen), "A33": _fen(a33), "A34": a34, "A37": _fen(a37),
                         "A38": a38, "_a33": a33, "_a37": a37})
    return r


def _totals_fen(fen: tuple) -> Totals:
    """Totals of item sums in whole fen, each as the Money column reads it back (ZERO for none)."""
    totals = _new(Totals)
    _set(totals, "__dict__", {k: _fen(v) if v else ZERO for k, v in zip(ITEMS, fen, strict=True)})
    return totals


# ---------------------------------------------------------------- detail lines as data

def item_names() -> dict[str, str]:
    return {it["code"]: it["name"] for it in income_items()}


def line_catalog(session: Session | None = None) -> dict[str, list[str]]:
    """Detail lines per item: the national defaults plus the township's own additions."""
    out = {it["code"]: list(it["lines"]) for it in income_items()}
    if session is not None:  # the township's own lines are a setting (read through settings.get_app)
        extra = json.loads(settings.get_app(session, EXTRA_LINES_KEY, "{}") or "{}")
        for item, lines in extra.items():
            out.setdefault(item, [])
            out[item] += [ln for ln in lines if ln not in out[item]]
    return out


def add_line(session: Session, item: str, line: str) -> None:
    access.manager(session, "增加收入明细项")
    line = (line or "").strip()
    if item not in ITEMS:
        raise IncomeError(f"未知的收入项：{item}")
    if not line:
        raise IncomeError("明细名称不能为空")
    if line in line_catalog(session)[item]:
        raise IncomeError(f"{item_names()[item]}下已有明细“{line}”")
    extra = json.loads(settings.get_app(session, EXTRA_LINES_KEY, "{}") or "{}")
    extra.setdefault(item, []).append(line)
    settings.set_app(session, EXTRA_LINES_KEY, json.dumps(extra, ensure_ascii=False))


# ---------------------------------------------------------------- household size at the time point

def born_after(point: date):
    """SQL condition: the birth date in the ID number (characters 7–14 of an 18-digit 居民身份证, or of
    the first 18 of a 残疾人证 number) is after the time point."""
    born = func.substr(Member.id_number, 7, 8)
    return and_(func.length(Member.id_number) >= 18, born > point.strftime("%Y%m%d"), born <= "99991231")


def alive_at(point: date):
    """SQL condition: a member of status 正常 at the time point [SPEC §4]: changes dated after it do
    not count (one who died or left after it still is, one who joined after it is not), and a member
    born after it is not counted even when the status cell is blank or says 正常."""
    return and_(or_(and_(Member.status == "normal", or_(Member.status_date.is_(None), Member.status_date <= point)),
                    and_(Member.status != "normal", Member.status_date.is_not(None), Member.status_date > point)),
                not_(born_after(point)))


def size_at(session: Session, household_id: int, point: date) -> int:
    access.household(session, household_id)
    return session.scalar(select(func.count()).select_from(Member)
                          .where(Member.household_id == household_id, alive_at(point))) or 0


def sizes_at(session: Session, point: date, household_ids: list[int] | None = None) -> dict[int, int]:
    household_ids = access.within(session, household_ids)
    q = select(Member.household_id, func.count()).where(alive_at(point)).group_by(Member.household_id)
    if household_ids is not None:
        q = q.where(among(Member.household_id, household_ids))
    return dict(session.execute(q).all())


# ---------------------------------------------------------------- records

@dataclass
class LineData:
    item: str
    line: str
    amount: Decimal
    note: str | None = None


ORIGINS = {"entered": "窗口录入", "imported": "导入"}


@dataclass
class RecordData:
    """One income record. `origin` says where it came from: "entered" in the calculator window by a
    collector (采集人 required, signatures answered), or "imported" from a file (the file and the
    importing user are its source; signatures unknown unless the file says)."""

    household_id: int
    year: int
    id: int | None = None
    quarter: int | None = None
    collected_on: date | None = None
    collected_by: str | None = None
    signatures_collected: bool | None = False
    note: str | None = None
    size: int | None = None
    lines: list[LineData] = field(default_factory=list)
    origin: str = "entered"
    source_file: str | None = None
    recorded_by: str | None = None  # the user who entered or imported it (set when saved)
    version: int | None = None  # as read (records()): a save over a newer change is refused (concurrency)

    @property
    def totals(self) -> Totals:
        return Totals.from_lines(self.lines)

    @property
    def annual(self) -> bool:
        return self.quarter is None

    @property
    def source_text(self) -> str:
        """Where the record came from, as people read it."""
        if self.origin == "imported":
            who = f"，{self.recorded_by}" if self.recorded_by else ""
            return f"导入：{self.source_file or '（文件名未记录）'}{who}"
        if self.origin == "entered":
            return f"窗口录入：{self.collected_by or ''}"
        return "来源未记录"


def validate_record(data: RecordData, as_of: date | None = None) -> list[str]:
    """Everything wrong with a record before it is saved, in Chinese; the calculator window shows
    exactly this list."""
    problems = []
    if data.origin not in ORIGINS:
        problems.append(f"收入记录来源“{data.origin}”无效")
    elif data.origin == "entered":
        if not (data.collected_by or "").strip():
            problems.append("请填写采集人")
        if data.signatures_collected is None:
            problems.append("请说明采集人、被采集人是否已签字")
    elif not (data.source_file or "").strip():
        problems.append("导入的收入记录须记下来源文件")
    if data.quarter is not None and data.quarter not in (1, 2, 3, 4):
        problems.append(f"季度应为 1–4，现为 {data.quarter}")
    if data.collected_on is None and data.origin == "entered":
        problems.append("请填写采集日期")
    if as_of is not None and data.collected_on is not None and data.collected_on > as_of:
        problems.append(f"采集日期 {data.collected_on} 晚于今天 {as_of}")
    for i, ln in enumerate(data.lines, 1):
        if ln.item not in ITEMS:
            problems.append(f"第 {i} 条明细的收入项“{ln.item}”无效")
        if not (ln.line or "").strip():
            problems.append(f"第 {i} 条明细没有名称")
        if ln.amount is None or ln.amount < 0:
            problems.append(f"第 {i} 条明细（{ln.line}）金额不能为负数")
        elif ln.amount >= MAX_AMOUNT:
            problems.append(f"第 {i} 条明细（{ln.line}）金额过大")
    return problems


def save_record(session: Session, data: RecordData, as_of: date | None = None, user=None) -> int:
    """Create or replace a dated income record with its lines, all at once."""
    access.household(session, data.household_id, write=True)
    from .register import check_access
    problems = validate_record(data, as_of)
    hh = concurrency.lock_household(session, data.household_id)  # one seat at a time saves this household's lines
    if hh is None:
        problems.append("户不存在")
    if problems:
        raise IncomeError("；".join(problems))
    check_access(session, user, hh.village_id)
    if data.id is None:
        _refuse_second_copy(session, hh, data)
        rec = IncomeRecord(household_id=data.household_id, year=data.year)
        session.add(rec)
    else:
        rec = session.get(IncomeRecord, data.id)
        if rec is None or rec.household_id != data.household_id:
            raise IncomeError("收入记录不存在")
        concurrency.expect_version(session, rec, data.version)
        for old in session.scalars(select(IncomeLine).where(IncomeLine.record_id == rec.id)):
            session.delete(old)
        rec.updated_at = utcnow()  # the record's UPDATE (and version) even when only its lines changed
    rec.year, rec.quarter, rec.collected_on = data.year, data.quarter, data.collected_on
    rec.collected_by = (data.collected_by or "").strip() or None
    rec.signatures_collected = None if data.signatures_collected is None else bool(data.signatures_collected)
    rec.origin = data.origin
    rec.source_file = (data.source_file or "").strip() or None if data.origin == "imported" else None
    rec.recorded_by = session.info.get("user") or (getattr(user, "username", None) if user is not None else None)
    rec.note = (data.note or "").strip() or None
    rec.size = data.size
    session.flush()
    for ln in data.lines:
        if ln.amount == 0 and not ln.note:
            continue  # an empty line of the form is not stored
        session.add(IncomeLine(record_id=rec.id, item=ln.item, line=ln.line.strip(), amount=money(ln.amount),
                               note=(ln.note or "").strip() or None))
    session.flush()
    return rec.id


def _refuse_second_copy(session: Session, hh: Household, data: RecordData) -> None:
    """A new record of a day that already has one for the same year and period is another seat's save of the same
    collection: refused (its lines would otherwise stand beside the first one's and count twice)."""
    if data.collected_on is None:
        return
    same = select(IncomeRecord).where(IncomeRecord.household_id == hh.id, IncomeRecord.year == data.year,
                                      IncomeRecord.collected_on == data.collected_on,
                                      IncomeRecord.quarter.is_(None) if data.quarter is None
                                      else IncomeRecord.quarter == data.quarter)
    other = session.scalars(same.order_by(IncomeRecord.id.desc())).first()
    if other is None:
        return
    period = "年度" if data.quarter is None else f"第 {data.quarter} 季度"
    who = concurrency.describe_change(session, "income_record", other.id) or "已由其他用户保存"
    raise concurrency.Conflict(f"户 {hh.household_no} {data.collected_on} 的{data.year} 年{period}收入记录{who}"
                               f"（采集人 {other.collected_by or '未填'}）。{concurrency.RELOAD}")


def records(session: Session, household_id: int, year: int | None = None) -> list[RecordData]:
    access.household(session, household_id)
    q = select(IncomeRecord).where(IncomeRecord.household_id == household_id)
    if year is not None:
        q = q.where(IncomeRecord.year == year)
    recs = session.scalars(q.order_by(IncomeRecord.year.desc(), IncomeRecord.collected_on.desc(),
                                      IncomeRecord.id.desc())).all()
    lines = defaultdict(list)
    if recs:
        for ln in session.scalars(select(IncomeLine).where(among(IncomeLine.record_id, [r.id for r in recs]))
                                  .order_by(IncomeLine.id)):
            lines[ln.record_id].append(LineData(ln.item, ln.line, ln.amount, ln.note))
    from .audit import user_names  # late: audit reads the models of every service
    who = user_names(session, {r.recorded_by for r in recs})  # shown as the user's name, not the log-in name
    return [RecordData(r.household_id, r.year, r.id, r.quarter, r.collected_on, r.collected_by,
                       r.signatures_collected, r.note, r.size, lines[r.id], r.origin or "", r.source_file,
                       who.get(r.recorded_by, r.recorded_by) if r.recorded_by else None, r.version)
            for r in recs]


ANNUAL = IncomeRecord.quarter.is_(None)


def latest_record_ids(session: Session, year: int, household_ids: list[int] | None = None) -> dict[int, int]:
    """household id → the record that stands for the year: the latest collected (then newest) annual
    record. A quarterly collection never stands for the year (SPEC §4)."""
    household_ids = access.within(session, household_ids)
    # Ascending, the last one seen wins: undated records first, so any dated record beats them.
    order = (IncomeRecord.collected_on.is_not(None), IncomeRecord.collected_on, IncomeRecord.id)
    q = (select(IncomeRecord.household_id, IncomeRecord.id).where(IncomeRecord.year == year, ANNUAL)
         .order_by(*order))
    if household_ids is not None:
        q = q.where(among(IncomeRecord.household_id, household_ids))
    out: dict[int, int] = {}
    for hid, rid in session.execute(q):
        out[hid] = rid  # ascending order: the last one seen wins
    return out


def totals_for_year(session: Session, year: int, household_ids: list[int] | None = None) -> dict[int, Totals]:
    """household id → item totals of its record for the year (households without one are absent)."""
    household_ids = access.within(session, household_ids)
    rec = latest_record_ids(session, year, household_ids)
    if not rec:
        return {}
    by_record = {rid: hid for hid, rid in rec.items()}
    sums: dict[int, dict[str, Decimal]] = defaultdict(dict)
    q = (select(IncomeLine.record_id, IncomeLine.item, func.sum(IncomeLine.amount))
         .group_by(IncomeLine.record_id, IncomeLine.item))
    if len(by_record) < 5000:
        q = q.where(among(IncomeLine.record_id, list(by_record)))
    for rid, item, total in session.execute(q):  # Money's result processor turns the fen sum into yuan
        if rid in by_record and item in ITEMS:
            sums[by_record[rid]][item] = total
    return {hid: Totals(**sums.get(hid, {})) for hid in rec}


# ---------------------------------------------------------------- quarterly collections

@dataclass(frozen=True)
class QuarterFall:
    """A quarterly collection whose per-capita net income (A34) fell clearly against the collection
    before it."""

    household_id: int
    earlier_on: date
    later_on: date
    earlier: Decimal
    later: Decimal

    @property
    def text(self) -> str:
        return (f"{self.earlier_on} 采集的季度人均纯收入 {self.earlier:,.2f} 元，{self.later_on} 降至 "
                f"{self.later:,.2f} 元")


def clear_falls(session: Session, ratio: Decimal, since: date, until: date,
                household_ids: list[int] | None = None, *, last_only: bool = False) -> dict[int, QuarterFall]:
    """household id → the last clear fall between consecutive quarterly collections of the same year
    whose later one was collected in [since, until]: per-capita A34 (income.compute, with the size
    frozen in the record or else the size on the collection day) below (1 − ratio) × the one before.
    last_only: only the last two collections up to `until` count (a later recovery ends the fall)."""
    household_ids = access.within(session, household_ids)
    q = (select(IncomeRecord.household_id, IncomeRecord.id, IncomeRecord.collected_on, IncomeRecord.size,
                IncomeRecord.year)
         .where(IncomeRecord.quarter.is_not(None), IncomeRecord.collected_on.is_not(None),
                IncomeRecord.collected_on <= until)
         .order_by(IncomeRecord.household_id, IncomeRecord.collected_on, IncomeRecord.id))
    if household_ids is not None:
        q = q.where(among(IncomeRecord.household_id, household_ids))
    by_household: dict[int, list] = defaultdict(list)
    for row in session.execute(q):
        by_household[row.household_id].append(row)
    wanted = {hid: rows for hid, rows in by_household.items()
              if len(rows) >= 2 and any(since <= r.collected_on for r in rows[1:])}
    if not wanted:
        return {}
    record_ids = [r.id for rows in wanted.values() for r in rows]
    lines: dict[int, list[LineData]] = defaultdict(list)
    for start in range(0, len(record_ids), 900):
        for rid, item, amount in session.execute(select(IncomeLine.record_id, IncomeLine.item, IncomeLine.amount)
                                                 .where(IncomeLine.record_id.in_(record_ids[start:start + 900]))):
            lines[rid].append(LineData(item, "", amount))
    sizes: dict[date, dict[int, int]] = {}
    out: dict[int, QuarterFall] = {}
    for hid, rows in wanted.items():
        per_capita = []
        for r in rows:
            size = r.size
            if not size:
                if r.collected_on not in sizes:
                    sizes[r.collected_on] = sizes_at(session, r.collected_on, list(wanted))
                size = sizes[r.collected_on].get(hid, 0)
            try:
                per_capita.append(compute(Totals.from_lines(lines.get(r.id, [])), size).exact("A34"))
            except IncomeError:
                per_capita.append(None)
        for i in range(len(rows) - 1 if last_only else 1, len(rows)):
            a, b = per_capita[i - 1], per_capita[i]
            if (since <= rows[i].collected_on and rows[i].year == rows[i - 1].year and a is not None
                    and b is not None and a > 0 and b < a * (1 - ratio)):
                out[hid] = QuarterFall(hid, rows[i - 1].collected_on, rows[i].collected_on, money(a), money(b))
    return out


def editable_lines(catalog: dict[str, list[str]], lines: list[LineData] = ()) -> list[LineData]:
    """Every line of the catalog (amount 0 unless recorded) in form order, with a record's lines filled in.

    A recorded line the catalog does not know (an old or imported one), or a second line of the same
    name, is kept as a line of its own after its item's lines, so editing never loses an amount."""
    rows: dict[str, list[LineData]] = {item: [LineData(item, name, ZERO) for name in catalog.get(item, [])]
                                       for item in ITEMS}
    free = {(ln.item, ln.line): ln for item_rows in rows.values() for ln in item_rows}
    for ln in lines:
        slot = free.pop((ln.item, ln.line), None)
        if slot is not None:
            slot.amount, slot.note = ln.amount, ln.note
        else:
            rows.setdefault(ln.item, []).append(LineData(ln.item, ln.line, ln.amount, ln.note))
    return [ln for item in rows for ln in rows[item]]
