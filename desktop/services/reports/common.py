"""What every document needs from the register: the township, the households chosen, the names
of villages and groups, the year's window. Plain reads; the rules stay in their services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Household, Region
from .. import access, regions, settings
from .. import assess as assess_mod
from .base import ReportError

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
    return [tuple(r) for r in session.execute(q)]


def chunks(ids: list[int], size: int = CHUNK):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]
