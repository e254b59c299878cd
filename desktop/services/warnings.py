"""预警中心: everything that is late or about to be, as of a date (SPEC §6.2, §7).

Overdue and due-soon steps, assistance plans past their 10 days, three-colour counts and
lists, villages over 2 %, households that look eligible for risk removal, revisits due, and
green channels near their month. Each row names the case or household it opens. Beside them, the
data-quality findings still 待整改 in the 整改台账, by rule and village.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Case, CaseStep, Household, Measure, Region
from . import access, procedures, rectification, rules, settings, workflow
from . import assess as assess_mod


@dataclass(frozen=True)
class WarningRow:
    kind: str  # overdue, due_soon, plan_overdue, colour, revisit_due, green_near, removal_eligible, suggested
    household_id: int
    household_no: str
    head_name: str
    village: str
    case_id: int | None
    what: str
    due_on: date | None
    days: int | None  # days overdue (positive) or left (negative)


@dataclass
class Dashboard:
    as_of: date
    rows: list[WarningRow] = field(default_factory=list)
    colours: dict[str, int] = field(default_factory=dict)
    villages: list[rules.VillageRatio] = field(default_factory=list)
    # 整改台账 entries still 待整改, by rule and village (as the latest recorded check left them)
    quality: list[rectification.Count] = field(default_factory=list)

    @property
    def quality_open(self) -> int:
        return sum(c.open for c in self.quality)

    def of(self, kind: str) -> list[WarningRow]:
        return [r for r in self.rows if r.kind == kind]

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(r.kind for r in self.rows))


TITLES = {"overdue": "逾期步骤", "due_soon": "即将到期", "plan_overdue": "帮扶计划逾期", "colour": "三色预警",
          "revisit_due": "回访到期", "green_near": "绿色通道临近一个月", "removal_eligible": "可启动风险消除",
          "suggested": "建议纳入（疑似应纳未纳）"}


def village_ratios(session: Session, as_of: date) -> list[rules.VillageRatio]:
    """[001 §32] per village: persons in unremoved monitored households without 整户无劳动能力兜底保障户."""
    access.logged_in(session)
    persons = dict(session.execute(
        select(Household.village_id, func.sum(Household.size))
        .where(Household.monitoring_status.in_(rules.UNREMOVED), Household.whole_no_labor_guarantee.is_(False))
        .group_by(Household.village_id)).all())
    tid = settings.get_app(session, "township_id")
    villages = session.execute(select(Region.id, Region.name, Region.rural_population)
                               .where(Region.level == "village", Region.parent_id == int(tid or 0))
                               .order_by(Region.name)).all()
    return [rules.village_ratio(vid, name, int(persons.get(vid) or 0), pop) for vid, name, pop in villages
            if access.visible_village(session, vid)]


def dashboard(session: Session, year: int, as_of: date, *, village_ids: frozenset[int] | None = None,
              with_removal: bool = True) -> Dashboard:
    village_ids = access.narrow(session, village_ids)
    proc = procedures.definitions()
    soon = timedelta(days=proc.due_soon_days)
    green_warn = timedelta(days=proc.green_warn_days)
    hh = {r.id: r for r in session.execute(select(Household.id, Household.household_no, Household.head_name,
                                                  Household.village_id, Household.monitoring_status,
                                                  Household.identified_on).where(Household.closed_on.is_(None)))}
    vnames = dict(session.execute(select(Region.id, Region.name).where(Region.level == "village")).all())
    visible = (lambda hid: True) if village_ids is None else (lambda hid: hh[hid].village_id in village_ids)
    d = Dashboard(as_of)

    def row(kind, hid, case_id, what, due):
        h = hh[hid]
        days = (as_of - due).days if due else None
        d.rows.append(WarningRow(kind, hid, h.household_no, h.head_name or "", vnames.get(h.village_id, ""),
                                 case_id, what, due, days))

    pending = session.execute(select(CaseStep, Case.kind, Case.household_id).join(Case, Case.id == CaseStep.case_id)
                              .where(Case.state == workflow.OPEN, CaseStep.done_on.is_(None))).all()
    for step, kind, hid in pending:
        if hid not in hh or not visible(hid) or step.due_on is None:
            continue
        label = f"{workflow.kind_names().get(kind, kind)}：{workflow.step_name(kind, step.step)}"
        if kind == "revisit":
            if as_of >= step.due_on:
                row("revisit_due", hid, step.case_id, label, step.due_on)
            continue
        if kind == "green" and step.due_on - green_warn <= as_of <= step.due_on:
            row("green_near", hid, step.case_id, label, step.due_on)
        if as_of > step.due_on:
            row("overdue", hid, step.case_id, label, step.due_on)
        elif as_of >= step.due_on - soon:
            row("due_soon", hid, step.case_id, label, step.due_on)

    with_measures = set(session.scalars(select(Measure.household_id).distinct()))
    for hid, h in hh.items():
        if h.monitoring_status in rules.UNREMOVED and h.identified_on and visible(hid) and hid not in with_measures:
            due = h.identified_on + timedelta(days=proc.plan_days)
            if as_of > due:
                row("plan_overdue", hid, None, "帮扶计划（帮扶措施）未制定", due)
            elif as_of >= due - soon:
                row("due_soon", hid, None, "帮扶计划（帮扶措施）待制定", due)

    try:
        assessed = assess_mod.assess(session, year, as_of)
    except assess_mod.AssessError:
        assessed = []
    colours = Counter()
    for a in assessed:
        if a.warning_color and visible(a.household_id):
            colours[a.warning_color] += 1
            row("colour", a.household_id, None, f"{a.warning_color}色预警（{a.identified_on} 识别）", a.identified_on)
    d.colours = {c: colours.get(c, 0) for c in ("红", "黄", "蓝")}
    d.villages = [v for v in village_ratios(session, as_of) if village_ids is None or v.village_id in village_ids]

    if with_removal:
        # Cheap pre-filter of what removal_eligibility decides (the 帮扶消除 way: the half-year applies).
        for a in assessed:
            if (a.status == "monitoring" and visible(a.household_id) and a.identified_on
                    and not rules.removal_too_soon(rules.ASSISTED, a.identified_on, as_of) and not a.guarantee_problems
                    and not a.whole_no_labor_candidate and a.income and not a.income.below(a.line, "A34")
                    and not a.income.below(a.line, "A38")):
                e = workflow.removal_eligibility(session, a.household_id, year, as_of, assessed=a)
                if e.eligible:
                    row("removal_eligible", a.household_id, None, "；".join(e.facts), None)
    from .overview import suggested_not_monitored  # overview reads this module's dashboard: import late

    for r in suggested_not_monitored(session, year, as_of, village_ids=village_ids, assessed=assessed):
        row("suggested", r.household_id, None, f"建议纳入{r.category_name}：" + "；".join(r.reasons), None)
    d.quality = rectification.open_counts(session, year, village_ids=village_ids)
    d.rows.sort(key=lambda r: (list(TITLES).index(r.kind), -(r.days or 0), r.household_no))
    return d
