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
from .common import Scope, chunks, region_names, year_settings, year_window

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


def load(session: Session, sc: Scope, ids: list[int], year: int, as_of: date, *, with_measures: bool = True,
         chunk: int = LOAD_CHUNK) -> Iterator[HouseholdInfo]:
    """The households of `ids` in that order, read `chunk` at a time."""
    access.report_scope(session, sc)
    ys = year_settings(session, year)
    point = ys.status_time_point
    start, end = year_window(year, as_of)
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
