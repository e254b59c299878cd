"""首页 and the 建议纳入 list: the township at a glance, and the households the rules say should be monitored.

Both are read-only views over what the other services decide: assess (§6.1) says who is suggested, the warnings
dashboard says what is late, the checks say what is wrong. Nothing here decides anything of its own, so the
首页 tile, the register filter and the list always agree with assess.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Case, Clue, Household, Region
from . import access, national_rules, rules, workflow
from . import assess as assess_mod
from .codes import codes
from .errors import ServiceError

# A household that is in a procedure already (认定中) or monitored is not "应纳未纳".
IN_PROCEDURE_OR_MONITORED = rules.UNREMOVED | {"identifying"}


@dataclass(frozen=True)
class SuggestedRow:
    """One household the rules suggest for monitoring while it is not monitored."""

    household_id: int
    household_no: str
    head_name: str
    village_id: int
    village: str
    status: str  # monitoring_status code: none, removed, cleared
    size: int
    a34: object  # Decimal
    a38: object  # Decimal
    category: str  # the suggested category's code
    reasons: tuple[str, ...]
    open_clue: bool  # a clue is registered and not yet closed or turned into a case
    # The national should-be-monitored rules (1_02_001 危房, 1_02_002 饮水, 1_02_006 收入) the same assessment breaks
    # (services.national_rules.should_be_monitored): the checks read them from the same result.
    rules: tuple[str, ...] = ()

    @property
    def category_name(self) -> str:
        return codes("category").name(self.category, self.category)

    @property
    def status_name(self) -> str:
        return codes("monitoring_status").name(self.status, self.status)


def suggested_not_monitored(session: Session, year: int, as_of: date, *,
                            village_ids: frozenset[int] | None = None,
                            assessed: list[assess_mod.Assessment] | None = None) -> list[SuggestedRow]:
    """Households assess suggests a category for (§6.1) whose status is neither monitored nor in identification,
    by village and household number. `assessed` lets a caller that already ran assess pass its result."""
    village_ids = access.narrow(session, village_ids)
    if assessed is None:
        assessed = assess_mod.assess(session, year, as_of)
    hits = [a for a in assessed if a.suggested_category is not None and a.status not in IN_PROCEDURE_OR_MONITORED
            and (village_ids is None or a.village_id in village_ids)]
    if not hits:
        return []
    ids = [a.household_id for a in hits]
    heads = dict(session.execute(select(Household.id, Household.head_name)
                                 .where(Household.id.in_(ids) if len(ids) < 5000 else Household.id > 0)).all())
    vnames = dict(session.execute(select(Region.id, Region.name).where(Region.level == "village")).all())
    clued = set(session.scalars(select(Clue.household_id).where(Clue.case_id.is_(None), Clue.outcome.is_(None),
                                                                Clue.household_id.is_not(None))))
    rows = [SuggestedRow(a.household_id, a.household_no, heads.get(a.household_id) or "", a.village_id,
                         vnames.get(a.village_id, ""), a.status, a.size, a.income.A34, a.income.A38,
                         a.suggestion.category, tuple(a.suggestion.reasons), a.household_id in clued,
                         tuple(n for n, _ in national_rules.should_be_monitored(a)))
            for a in hits]
    rows.sort(key=lambda r: (r.village, r.household_no))
    return rows


@dataclass
class VillageCount:
    village_id: int
    village: str
    households: int = 0
    people: int = 0
    monitored_households: int = 0  # 未消除风险 (监测中, 消除中, 绿色通道)
    monitored_people: int = 0
    suggested: int = 0


@dataclass
class Overview:
    year: int
    as_of: date
    households: int = 0
    people: int = 0
    by_status: dict[str, int] = field(default_factory=dict)  # monitoring_status code -> households
    by_category: dict[str, int] = field(default_factory=dict)  # category code -> unremoved monitored households
    villages: list[VillageCount] = field(default_factory=list)
    identified_month: int = 0
    identified_year: int = 0
    removed_month: int = 0
    removed_year: int = 0
    clues_month: int = 0
    clues_year: int = 0
    clues_open: int = 0
    identified_by_month: list[int] = field(default_factory=lambda: [0] * 12)  # Jan..Dec of the year
    removed_by_month: list[int] = field(default_factory=lambda: [0] * 12)
    suggested: int = 0
    overdue_steps: int = 0
    due_soon: int = 0
    plans_overdue: int = 0
    revisits_due: int = 0
    villages_over_ratio: int = 0
    quality_findings: int | None = None  # None: not counted (the caller chose not to run the checks)
    settings_missing: str | None = None  # the year's monitoring line is not set: say so instead of counts


def overview(session: Session, year: int, as_of: date, *, village_ids: frozenset[int] | None = None,
             with_quality: bool = True) -> Overview:
    """The figures of 首页 for one year as of a date, limited to some villages for a 村级录入员."""
    village_ids = access.narrow(session, village_ids)
    from . import rectification, warnings  # late: both import assess too; keep this module light to import

    o = Overview(year, as_of)
    vnames = dict(session.execute(select(Region.id, Region.name).where(Region.level == "village")
                                  .order_by(Region.name)).all())
    visible = (lambda vid: True) if village_ids is None else (lambda vid: vid in village_ids)
    per_village = {vid: VillageCount(vid, name) for vid, name in vnames.items() if visible(vid)}

    rows = session.execute(select(Household.village_id, Household.monitoring_status, Household.a3_category,
                                  func.count(), func.sum(Household.size))
                           .where(Household.closed_on.is_(None))
                           .group_by(Household.village_id, Household.monitoring_status, Household.a3_category))
    status_counts: Counter[str] = Counter()
    category_counts: Counter[str] = Counter()
    for vid, status, category, n, people in rows:
        if not visible(vid):
            continue
        people = int(people or 0)
        o.households += n
        o.people += people
        status_counts[status] += n
        v = per_village.setdefault(vid, VillageCount(vid, vnames.get(vid, "")))
        v.households += n
        v.people += people
        if status in rules.UNREMOVED:
            v.monitored_households += n
            v.monitored_people += people
            if category:
                category_counts[category] += n
    o.by_status = dict(status_counts)
    o.by_category = dict(category_counts)

    year_start, month_start = date(year, 1, 1), as_of.replace(day=1)
    # Closed households (户注销) and voided cases (作废) are out of every count.
    hh_village = dict(session.execute(select(Household.id, Household.village_id)
                                      .where(Household.closed_on.is_(None))).all())
    for hid, identified_on, removed_on in session.execute(
            select(Household.id, Household.identified_on, Household.a54_removed_on)):
        if hid not in hh_village or not visible(hh_village.get(hid)):
            continue
        for when, by_month, kind in ((identified_on, o.identified_by_month, "identified"),
                                     (removed_on, o.removed_by_month, "removed")):
            if when is None or when > as_of or when.year != year:
                continue
            by_month[when.month - 1] += 1
            setattr(o, f"{kind}_year", getattr(o, f"{kind}_year") + 1)
            if when >= month_start:
                setattr(o, f"{kind}_month", getattr(o, f"{kind}_month") + 1)
    voided = select(Case.id).where(Case.state == workflow.VOID)
    for hid, reported_on, case_id, outcome in session.execute(
            select(Clue.household_id, Clue.reported_on, Clue.case_id, Clue.outcome)
            .where(Clue.case_id.is_(None) | Clue.case_id.not_in(voided))):
        if hid is not None and (hid not in hh_village or not visible(hh_village.get(hid))):
            continue
        if hid is None and village_ids is not None:
            continue  # a clue not yet tied to a household belongs to the township's staff
        if case_id is None and outcome is None:
            o.clues_open += 1
        if reported_on is not None and year_start <= reported_on <= as_of:
            o.clues_year += 1
            if reported_on >= month_start:
                o.clues_month += 1

    try:
        assessed = assess_mod.assess(session, year, as_of)
    except assess_mod.AssessError as exc:
        o.settings_missing = str(exc)
        assessed = []
    suggested = suggested_not_monitored(session, year, as_of, village_ids=village_ids, assessed=assessed)
    o.suggested = len(suggested)
    for r in suggested:
        per_village[r.village_id].suggested += 1
    o.villages = sorted(per_village.values(), key=lambda v: v.village)

    if o.settings_missing is None:
        d = warnings.dashboard(session, year, as_of, village_ids=village_ids, with_removal=False)
        counts = d.counts
        o.overdue_steps = counts.get("overdue", 0)
        o.due_soon = counts.get("due_soon", 0)
        o.plans_overdue = counts.get("plan_overdue", 0)
        o.revisits_due = counts.get("revisit_due", 0)
        o.villages_over_ratio = sum(1 for v in d.villages if v.flagged)
        if with_quality:
            mine = None if village_ids is None else [h for h, v in hh_village.items() if v in village_ids]
            o.quality_findings = len(rectification.found(session, year, as_of, mine))  # kept for 数据质量's check
    return o


def suggested_by_village(rows: list[SuggestedRow]) -> dict[str, list[SuggestedRow]]:
    out: dict[str, list[SuggestedRow]] = defaultdict(list)
    for r in rows:
        out[r.village].append(r)
    return dict(out)


class OverviewError(ServiceError):
    pass


CLUE_SOURCE = "02"  # 干部排查: the township's staff found it, with the rules' reasons


def clue_from_suggestion(session: Session, year: int, as_of: date, household_id: int, *,
                         reporter: str | None = None) -> int:
    """Register a clue for a household on the 建议纳入 list, its description the rules' reasons (one click)."""
    access.household(session, household_id, write=True)
    from . import workflow

    rows = suggested_not_monitored(session, year, as_of,
                                   assessed=assess_mod.assess(session, year, as_of, household_ids=[household_id]))
    if not rows:
        raise OverviewError("该户已不在建议纳入名单中（可能已纳入监测或收入已更新），请刷新后再试")
    row = rows[0]
    if row.open_clue:
        raise OverviewError(f"户 {row.household_no} 已有待处理的线索，请在“认定流程”中处理")
    text = f"收入测算建议纳入（{row.category_name}）：" + "；".join(row.reasons)
    return workflow.record_clue(session, CLUE_SOURCE, as_of, household_id=household_id, description=text,
                                reporter=reporter, as_of=as_of)


def suggested_listing(rows: list[SuggestedRow], title_scope: str):
    """The 建议纳入 list as a Listing for Excel and PDF (same columns as the page)."""
    from .listing import Listing

    return Listing("建议纳入监测（疑似应纳未纳）名单", list(SUGGESTED_HEADERS),
                   [suggested_cells(r) for r in rows], subtitle=title_scope,
                   widths=[1.2, 2.0, 1.1, 0.6, 0.9, 1.0, 1.0, 1.3, 5.0])


SUGGESTED_HEADERS = ("行政村", "户编号", "户主", "人口", "当前状态", "家庭人均纯收入", "人均收入参考值", "建议类别",
                     "理由")


def suggested_cells(r: SuggestedRow) -> list:
    return [r.village, r.household_no, r.head_name, r.size, r.status_name, r.a34, r.a38, r.category_name,
            "；".join(r.reasons)]
