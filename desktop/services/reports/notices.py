"""公示 notices: identification, risk removal, 脱贫不再享受政策 — one notice per village (村级公示).

A notice names exactly the households whose case of the procedure (ReportKind.procedure:
identify, removal, policy_exclusion) is now at its 村级公示 step with a recorded start date;
named with `--household`, also a household whose 村级公示 was completed (a reprint of what was
posted). Nothing is invented: the public period is the recorded one, the introduction names only
the steps recorded (passed) before the publicity in every listed case, the size and category are
those frozen in the case. A named household with no such case is refused, all of them named.

Public paper: names (户主), village and group, household size, the category / removal way /
recorded criteria, the public period and where to object (village committee, township, the 12317
hotline). Never ID numbers, phone numbers, bank accounts or health [001 §38], nor household numbers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from reportlab.platypus import KeepTogether
from sqlalchemy import select

from ...models import Case, CaseStep, Household
from .. import access, assess, policy, workflow
from ..codes import codes
from .base import HOTLINE, Document, ReportError, cn_date
from .common import in_scope, natural_key, region_names, village_list

WHAT = {"identify": "监测对象类别", "removal": "风险消除方式", "policy_exclusion": "认定依据"}


@dataclass
class Listed:
    household_id: int
    household_no: str
    head: str
    village_id: int
    village: str
    group: str
    size: int
    what: str  # category, removal way or recorded criteria ("" when none recorded)
    start: date
    end: date
    steps: tuple[str, ...]  # step keys recorded (passed) before the publicity, in procedure order
    reprint: bool  # the publicity was completed (named with --household)


# Names of procedures a notice may announce before procedures.json defines them (no case can exist).
PENDING_NAMES = {"policy_exclusion": "脱贫不享受政策认定"}


def defined(procedure: str) -> bool:
    return procedure in workflow.kind_names()


def procedure_name(procedure: str) -> str:
    return workflow.kind_names().get(procedure) or PENDING_NAMES.get(procedure, procedure)


def publicity_step(procedure: str) -> workflow.StepDef:
    """The procedure's 村级公示 step (the one with a publicity period)."""
    step = next((s for s in workflow.procedure(procedure).steps if s.publicity_days), None)
    if step is None:
        raise ReportError(f"流程“{procedure_name(procedure)}”没有村级公示步骤")
    return step


def at_publicity(session, procedure: str, *, allowed: set[int] | None = None,
                 named: list[int] | None = None) -> list[Listed]:
    """The households to list on the 公示 of `procedure` (see the module's docstring). `allowed`
    narrows to a village; `named` are households asked for by number (current or completed
    publicity). Raises ReportError naming every named household that has neither. A 村级录入员 sees only the
    households of their villages."""
    mine = access.within(session, None)  # None: every village
    if named:
        access.households(session, named)
    elif mine is not None:
        allowed = set(mine) if allowed is None else set(allowed) & set(mine)
    if not defined(procedure):  # no case of it can have been recorded
        if named:
            _refuse(session, procedure, named)
        return []
    step = publicity_step(procedure)
    order = [s.key for s in workflow.procedure(procedure).steps]
    rows = session.execute(select(Case, CaseStep).join(CaseStep, CaseStep.case_id == Case.id)
                           .where(Case.kind == procedure, CaseStep.step == step.key,
                                  Case.state != workflow.VOID)
                           .order_by(CaseStep.seq)).all()
    current: dict[int, tuple[Case, CaseStep]] = {}
    completed: dict[int, tuple[Case, CaseStep]] = {}
    for case, row in rows:
        hid = case.household_id
        data = row.data or {}
        if row.done_on is None and case.state == workflow.OPEN and data.get("publicity_start"):
            current[hid] = (case, row)
        elif row.result == "passed" and data.get("publicity_start"):
            prev = completed.get(hid)
            if prev is None or (prev[1].done_on, prev[0].id) <= (row.done_on, case.id):
                completed[hid] = (case, row)
    if named is not None:
        chosen = {}
        for hid in named:
            if hid in current:
                chosen[hid] = (current[hid], False)
            elif hid in completed:
                chosen[hid] = (completed[hid], True)
        missing = [hid for hid in named if hid not in chosen]
        if missing:
            _refuse(session, procedure, missing)
    else:
        chosen = {hid: (v, False) for hid, v in current.items() if allowed is None or hid in allowed}
    if not chosen:
        return []
    case_ids = [case.id for (case, _), _ in chosen.values()]
    steps_of = defaultdict(list)
    for s in session.scalars(select(CaseStep).where(CaseStep.case_id.in_(case_ids)).order_by(CaseStep.seq)):
        steps_of[s.case_id].append(s)
    hh = {r.id: r for r in session.execute(
        select(Household.id, Household.household_no, Household.head_name, Household.village_id, Household.group_id,
               Household.size).where(Household.id.in_(list(chosen))))}
    names = region_names(session)
    out = []
    for hid, ((case, pub), reprint) in chosen.items():
        before = [s for s in steps_of[case.id] if s.seq < pub.seq]
        done = {s.step for s in before if s.result == "passed"}
        # A step sent back and done again counts once it is passed; a step whose last row was
        # sent back (and not redone) is not claimed.
        last = {}
        for s in before:
            last[s.step] = s
        recorded = tuple(k for k in order if k in done and last[k].result == "passed")
        snap = next((s.snapshot for s in reversed(before) if s.snapshot and "error" not in s.snapshot), None)
        decided = next((s.data or {} for s in steps_of[case.id]
                        if s.seq > pub.seq and s.result == "passed" and s.step == "county_approve"), None)
        h = hh[hid]
        data = pub.data or {}
        start = date.fromisoformat(data["publicity_start"])
        end = (date.fromisoformat(data["publicity_end"]) if data.get("publicity_end")
               else workflow.publicity_period(start, step.publicity_days)[1])
        size = int(snap["size"]) if snap and snap.get("size") is not None else int(h.size or 0)
        out.append(Listed(hid, h.household_no, h.head_name or "", h.village_id, names.get(h.village_id, ""),
                          names.get(h.group_id, ""), size, _what(procedure, case, snap, decided), start, end,
                          recorded, reprint))
    return out


def _refuse(session, procedure: str, missing: list[int]) -> None:
    nos = dict(session.execute(select(Household.id, Household.household_no).where(Household.id.in_(missing))).all())
    raise ReportError(f"户 {'、'.join(nos[h] for h in missing)} 没有处于（或已完成）村级公示的"
                      f"“{procedure_name(procedure)}”流程，不能列入公示")


def _what(procedure: str, case: Case, snap: dict | None, decided: dict | None) -> str:
    if procedure == "identify":
        if decided and decided.get("category"):
            return codes("category").name(decided["category"])
        view = assess.read_snapshot(snap)  # version 1 stored the name, version 2 the code
        if view is not None and view.category:
            return codes("category").name(view.category)
        return "待定"
    if procedure == "removal":
        return codes("removal_way").name((case.data or {}).get("way")) or "—"
    criteria = (case.data or {}).get("criteria") or []
    if isinstance(criteria, str):
        return criteria
    return "；".join(f"第 {k[1:]} 条：{policy.CRITERIA[k]}" if k in policy.CRITERIA else str(k) for k in criteria)


def intro(procedure: str, steps: list[str], n: int, persons: int) -> str:
    by = f"经{'、'.join(steps)}，" if steps else ""
    if procedure == "identify":
        return (f"根据防止返贫动态监测和帮扶工作有关规定，{by}拟将以下 {n} 户 {persons} 人识别为防止返贫监测对象，"
                f"现予以公示。")
    if procedure == "removal":
        return (f"根据防止返贫动态监测和帮扶工作有关规定，{by}以下 {n} 户 {persons} 人返贫致贫风险已经稳定消除或"
                f"自然消除，拟标注风险消除，现予以公示。")
    return f"根据《脱贫不享受政策人口认定标准》，{by}拟认定以下 {n} 户 {persons} 人为脱贫不再享受政策人口，现予以公示。"


def _village_notice(d: Document, sc, procedure: str, title: str, village: str, rows_: list[Listed]) -> None:
    s = d.story
    s += d.heading(f"{village}{title}")
    s.append(d.gap(2))
    persons = sum(e.size for e in rows_)
    defined = workflow.procedure(procedure).steps
    steps = [st.name for st in defined if all(st.key in e.steps for e in rows_)]  # recorded in every case
    s.append(d.p(intro(procedure, steps, len(rows_), persons), "notice"))
    s.append(d.gap(2))
    periods = sorted({(e.start, e.end) for e in rows_})
    one = len(periods) == 1
    with_what = any(e.what for e in rows_)
    head = ["序号", "户主姓名", "行政村", "村民小组", "家庭人口"] + ([WHAT[procedure]] if with_what else []) + \
        ([] if one else ["公示期"])
    if procedure == "policy_exclusion" and with_what:
        widths = [0.07, 0.16, 0.15, 0.12, 0.10, 0.40] if one else [0.06, 0.13, 0.13, 0.10, 0.09, 0.29, 0.20]
    elif with_what:
        widths = [0.08, 0.20, 0.20, 0.14, 0.12, 0.26] if one else [0.07, 0.15, 0.16, 0.12, 0.10, 0.18, 0.22]
    else:
        widths = [0.08, 0.26, 0.26, 0.22, 0.18] if one else [0.07, 0.18, 0.20, 0.15, 0.12, 0.28]
    rows = [head]
    for i, e in enumerate(rows_, 1):
        row = [str(i), e.head, e.village, e.group, f"{e.size} 人"] + ([e.what or "—"] if with_what else [])
        if not one:
            row.append(f"{e.start.isoformat()} 至 {e.end.isoformat()}")
        rows.append(row)
    w = d.width
    s.append(d.table(rows, [w * x for x in widths], header=1, size=10.5, padding=3,
                     extra=[("ALIGN", (0, 1), (0, -1), "CENTER"), ("ALIGN", (4, 1), (4, -1), "CENTER")]))
    s.append(d.gap(3))
    if one:
        start, end = periods[0]
        days = (end - start).days + 1
        s.append(d.p(f"公示时间：{cn_date(start)}至{cn_date(end)}（共 {days} 天）。", "notice"))
    else:
        s.append(d.p("公示时间：见上表各户公示期。", "notice"))
    objection = d.p(f"公示期间，如对公示对象有异议，请以书面或口头形式向{village}村民委员会或"
                    f"{sc.township.name}（乡村振兴办）反映，也可拨打防止返贫监测和乡村振兴咨询服务平台电话 {HOTLINE} "
                    f"反映。反映情况应实事求是，以单位名义反映的须加盖公章，以个人名义反映的须署真实姓名。", "notice")
    issued = periods[0][0]
    issuer = [f"{village}村民委员会", cn_date(issued)]
    s.append(KeepTogether([objection, d.gap(12)] + [d.p(x, "right") for x in issuer]))


def make(session, sc, kind: str, year: int, as_of: date):
    access.report_scope(session, sc)
    from .kinds import REPORT_KINDS
    rk = REPORT_KINDS[kind]
    title = rk.title
    d = Document(f"{sc.place}{title}", sc.township_name)
    listed = at_publicity(session, rk.procedure, allowed=in_scope(session, sc), named=sc.household_ids)
    order = {vid: i for i, (vid, _, _) in enumerate(village_list(session, sc))}
    listed.sort(key=lambda e: (order.get(e.village_id, 10**6), natural_key(e.group), e.household_no))
    by_village: dict[int, list[Listed]] = defaultdict(list)
    for e in listed:
        by_village[e.village_id].append(e)
    for rows_ in by_village.values():
        village = rows_[0].village
        d.begin(village, f"{village}村级公示")
        _village_notice(d, sc, rk.procedure, title, village, rows_)
    d.end()
    if not listed:
        d.story += d.heading(d.title)
        d.story.append(d.p(f"（目前没有处于村级公示的“{procedure_name(rk.procedure)}”流程）", "notice"))
        d.warnings.append("没有需要公示的户")
    return d, len(listed)
