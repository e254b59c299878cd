"""One household's facts for the per-household documents, loaded a chunk at a time.

Income, guarantees, flags and the size come from services.assess (which takes them from
services.income and services.rules); members are those of status 正常 at the status time
point, the same people the size counts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Iterator

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ...models import Household, IncomeRecord, Measure, Member
from .. import access, income
from .. import assess as assess_mod
from .common import Scope, chunks, measure_window, region_names, year_settings

LOAD_CHUNK = 400


@dataclass
class HouseholdInfo:
    hh: Household
    village: str
    group: str
    scope: Scope
    members: list[Member] = field(default_factory=list)
    assessment: assess_mod.Assessment | None = None
    measures: set[tuple[str, str | None]] = field(default_factory=set)  # (category, item) in the year
    collected_on: date | None = None
    collected_by: str | None = None

    @property
    def no(self) -> str:
        return self.hh.household_no

    @property
    def head(self) -> str:
        return self.hh.head_name or ""

    @property
    def address(self) -> str:
        t = self.scope.township
        street = self.hh.address or ""
        group = "" if self.group and street.startswith(self.group) else self.group
        parts = [t.province, t.city, t.county, t.name, self.village, group, street]
        return "".join(p for p in parts if p)

    @property
    def mark(self) -> str:
        return f"户编号 {self.no}  户主 {self.head}"

    @property
    def result(self) -> income.IncomeResult | None:
        return self.assessment.income if self.assessment else None


def assistance_from_members(members: list[Member]) -> set[tuple[str, str]]:
    """The A48 综合保障 items a household has by its members' own answers: 低保 when a member's
    A20 says 农村/城市低保, 特困供养 when A21 says 农村/城市特困. The forms tick A48 from these as
    well as from recorded measures, so A48 never contradicts A20/A21 on the same page."""
    out = set()
    if any(m.a20_dibao not in (None, "", "00") for m in members):
        out.add(("A48", "低保"))
    if any(m.a21_tekun not in (None, "", "00") for m in members):
        out.add(("A48", "特困供养"))
    return out


def load(session: Session, sc: Scope, ids: list[int], year: int, as_of: date, *, with_measures: bool = True,
         chunk: int = LOAD_CHUNK) -> Iterator[HouseholdInfo]:
    """The households of `ids` in that order, read `chunk` at a time."""
    access.report_scope(session, sc)
    ys = year_settings(session, year)
    point = ys.status_time_point
    start, end = measure_window(ys)
    names = region_names(session)
    for part in chunks(ids, chunk):
        rows = {h.id: h for h in session.scalars(select(Household).where(Household.id.in_(part)))}
        members = defaultdict(list)
        for m in session.scalars(select(Member).where(Member.household_id.in_(part), income.alive_at(point))
                                 .order_by(Member.household_id, Member.seq, Member.id)):
            members[m.household_id].append(m)
        assessed = {a.household_id: a for a in assess_mod.assess(session, year, as_of, household_ids=part)}
        used = defaultdict(set)
        if with_measures:
            for hid, cat, item in session.execute(
                    select(Measure.household_id, Measure.category, Measure.item)
                    .where(Measure.household_id.in_(part),
                           or_(Measure.start_date.is_(None), Measure.start_date <= end),
                           or_(Measure.end_date.is_(None), Measure.end_date >= start),
                           or_(Measure.ended_on.is_(None), Measure.ended_on >= start))):
                used[hid].add((cat, item))
            for hid in part:
                used[hid] |= assistance_from_members(members[hid])
        record_ids = income.latest_record_ids(session, year, part)
        collected = {}
        if record_ids:
            for rid, on, by in session.execute(select(IncomeRecord.id, IncomeRecord.collected_on,
                                                      IncomeRecord.collected_by)
                                               .where(IncomeRecord.id.in_(list(record_ids.values())))):
                collected[rid] = (on, by)
        for hid in part:
            h = rows[hid]
            on, by = collected.get(record_ids.get(hid), (None, None))
            yield HouseholdInfo(h, names.get(h.village_id, ""), names.get(h.group_id, ""), sc, members[hid],
                                assessed.get(hid), used[hid], on, by)
