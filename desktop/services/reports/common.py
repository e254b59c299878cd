"""What every document needs from the register: the township, the households chosen, the names
of villages and groups, the year's window. Plain reads; the rules stay in their services."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Household, Region
from .. import access, regions, settings
from .. import assess as assess_mod
from .errors import ReportError

# Monitoring statuses of a 监测对象 (identified or in a procedure), 已消除风险 included: they stay
# in the register and their information is collected every year [001 §39].
MONITORED = ("identifying", "monitoring", "removing", "removed", "green")
CHUNK = 900  # SQLite's bound-parameter budget per IN (...)


@dataclass(frozen=True)
class Scope:
    """Who a document is about: the township, perhaps one village, perhaps listed households."""

    township: regions.Township
    village_id: int | None
    village: str | None
    household_ids: list[int] | None  # only when households were listed

    @property
    def township_name(self) -> str:
        """The name printed on every page: county and township, e.g. 临淄区稷下街道."""
        t = self.township
        return f"{t.county or ''}{t.name}"

    @property
    def place(self) -> str:
        """The village when one was chosen, else the township."""
        return self.village or self.township.name


def scope(session: Session, village: str | None, household_nos: list[str] | None) -> Scope:
    village = access.report_village(session, village, bool(household_nos))
    tw = regions.township(session)
    if tw is None:
        raise ReportError("尚未配置乡镇：请先运行初始化（init）")
    village_id = None
    if village:
        village_id = regions.village_by_name(session, village)
        if village_id is None:
            raise ReportError(f"行政村“{village}”不存在")
    ids = None
    if household_nos:
        nos = list(dict.fromkeys(n.strip() for n in household_nos if n and n.strip()))
        found: dict[str, tuple[int, int]] = {}
        for i in range(0, len(nos), CHUNK):
            for hid, no, vid in session.execute(select(Household.id, Household.household_no, Household.village_id)
                                                .where(Household.household_no.in_(nos[i:i + CHUNK]))):
                found[no] = (hid, vid)
        missing = [n for n in nos if n not in found]
        if missing:
            raise ReportError(f"户编号不存在：{'、'.join(missing[:20])}{' 等' if len(missing) > 20 else ''}")
        if village_id is not None:
            elsewhere = [n for n in nos if found[n][1] != village_id]
            if elsewhere:
                raise ReportError(f"户 {'、'.join(elsewhere[:20])} 不在“{village}”")
        ids = [found[n][0] for n in sorted(nos)]
    return Scope(tw, village_id, village.strip() if village else None, ids)


def household_ids(session: Session, sc: Scope, statuses: tuple[str, ...] | None = None,
                  poverty_alleviated_too: bool = False) -> list[int]:
    """The households a per-household document covers, in household-number order. Listed
    households are taken as listed (whatever their status); otherwise the village or township,
    narrowed to `statuses` (and 脱贫户 when `poverty_alleviated_too`)."""
    access.report_scope(session, sc)
    if sc.household_ids is not None:
        return list(sc.household_ids)
    q = select(Household.id).where(Household.closed_on.is_(None)).order_by(Household.household_no)
    if sc.village_id is not None:
        q = q.where(Household.village_id == sc.village_id)
    if statuses is not None:
        cond = Household.monitoring_status.in_(statuses)
        if poverty_alleviated_too:
            cond = cond | Household.a4_poverty_alleviated.is_(True)
        q = q.where(cond)
    return list(session.scalars(q))


def in_scope(session: Session, sc: Scope) -> set[int] | None:
    """Ids of the households a township-wide list is narrowed to (None: no narrowing)."""
    access.report_scope(session, sc)
    if sc.household_ids is not None:
        return set(sc.household_ids)
    if sc.village_id is not None:
        return set(session.scalars(select(Household.id).where(Household.village_id == sc.village_id)))
    return None


def year_settings(session: Session, year: int) -> settings.YearSettingsData:
    access.logged_in(session)
    try:
        return assess_mod.year_settings(session, year)
    except assess_mod.AssessError as e:
        raise ReportError(str(e)) from None


def year_window(year: int, as_of: date) -> tuple[date, date]:
    """"In the year": from 1 January of the year to the date of the document (or 31 December)."""
    return date(year, 1, 1), min(date(year, 12, 31), as_of)


def measure_window(ys: settings.YearSettingsData) -> tuple[date, date]:
    """The 统计期 of the year (上年 10-01 to 当年 09-30 unless set otherwise): the period whose
    income and assistance measures every document reports (采集表 六, 到户政策享受清单, 汇总表 三)."""
    return ys.period_start, ys.period_end


def region_names(session: Session) -> dict[int, str]:
    access.logged_in(session)
    return regions.names(session)


def village_list(session: Session, sc: Scope) -> list[tuple[int, str, int | None]]:
    """(id, name, 农村户籍人口) of the villages in scope, in the township's order."""
    access.report_scope(session, sc)
    q = (select(Region.id, Region.name, Region.rural_population)
         .where(Region.level == "village", Region.parent_id == sc.township.id)
         .order_by(Region.sort_order, Region.name))
    if sc.village_id is not None:
        q = q.where(Region.id == sc.village_id)
    rows = [(r.id, r.name, r.rural_population, r.sort_order) for r in session.execute(q.add_columns(Region.sort_order))]
    rows.sort(key=lambda r: (r[3] or 0, natural_key(r[1])))
    return [r[:3] for r in rows]


def chunks(ids: list[int], size: int = CHUNK):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMBER = re.compile(r"[0-9]+|[零〇一二两三四五六七八九十百千]+")


def cn_number(text: str) -> int | None:
    """一 → 1, 十三 → 13, 二十 → 20, 一百零五 → 105, 13 → 13; None when not a number."""
    if text.isdigit():
        return int(text)
    total, digit = 0, None
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch] if digit is None else digit * 10 + _DIGITS[ch]
        elif ch in _UNITS:
            total += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
        else:
            return None
    return total + (digit or 0)


def natural_key(name: str | None) -> tuple:
    """Sort key that reads numbers in names: 一组, 二组, … 十组, 十三组; 第2村民小组 before 第10村民小组."""
    out: list = []
    pos = 0
    name = name or ""
    for m in _NUMBER.finditer(name):
        value = cn_number(m.group())
        if value is None:
            continue
        out += [(0, name[pos:m.start()]), (1, value)]
        pos = m.end()
    out.append((0, name[pos:]))
    return tuple(out)
