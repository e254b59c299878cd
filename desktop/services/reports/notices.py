"""公示 notices for a village (or the township): identification, risk removal, 脱贫不再享受政策.

Public paper: names (户主), village and group, household size, the category / removal way /
criteria, the public period (5 days) and where to object (village committee, township, the
12317 hotline). Never ID numbers, phone numbers, bank accounts or health [001 §38]: none of
those is ever put in these tables, nor household numbers (long digit runs).

Which households:
- notice-identify: identification cases (not failed) that have reached the 村级公示 step, pending
  or done, whose public period starts in the year; plus households identified in the year
  (识别监测时间) that have no identification case at all (imported or older records).
- notice-remove: the same for risk-removal cases, and households whose risk was removed in the
  year (A54) without a removal case.
- notice-policy: 脱贫户 for which services.policy proposes 不再享受政策 (a criterion met, no
  exception).
The public period comes from the publicity step's data where recorded, else it is the 5 days
from the document's date. Where a case exists, the size and the category shown are those of
the frozen assessment of the decision (the category decided at 县级批准 once it is taken).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reportlab.platypus import KeepTogether
from sqlalchemy import select

from ...models import Case, CaseStep, Household
from .. import access, policy, workflow
from ..codes import codes
from .base import HOTLINE, Document, cn_date
from .common import in_scope, region_names, village_list, year_window

KIND_CASE = {"notice-identify": "identify", "notice-remove": "removal"}
TITLES = {"notice-identify": "防止返贫监测对象识别公示", "notice-remove": "防止返贫监测对象风险消除公示",
          "notice-policy": "脱贫不再享受政策人口认定公示"}


@dataclass
class Entry:
    household_id: int
    head: str
    village_id: int
    village: str
    group: str
    size: int
    what: str  # category, removal way or criteria
    start: date
    end: date
    household_no: str


def _latest(rows, key):
    out = {}
    for r in rows:
        cur = out.get(key(r))
        if cur is None or r.seq > cur.seq:
            out[key(r)] = r
    return out


def _case_entries(session, kind: str, year: int, as_of: date, allowed: set[int] | None) -> dict[int, tuple]:
    """household id → (case, publicity row, latest snapshot, decided data) of cases at/after the
    village publicity whose public period starts in the year."""
    case_kind = KIND_CASE[kind]
    default = workflow.publicity_period(as_of)
    rows = session.execute(select(Case, CaseStep).join(CaseStep, CaseStep.case_id == Case.id)
                           .where(Case.kind == case_kind, Case.state != workflow.FAILED,
                                  CaseStep.step == "publicity")).all()
    latest = _latest([step for _, step in rows], lambda s: s.case_id)
    cases = {c.id: c for c, _ in rows}
    out: dict[int, tuple] = {}
    if not latest:
        return out
    steps = session.scalars(select(CaseStep).where(CaseStep.case_id.in_(list(latest)))).all()
    snaps = _latest([s for s in steps if s.snapshot and "error" not in s.snapshot], lambda s: s.case_id)
    decided = {s.case_id: s for s in steps if s.step == "county_approve" and s.result == "passed"}
    for cid, row in latest.items():
        if row.result not in (None, "passed"):
            continue  # sent back: the case is before its publicity again
        case = cases[cid]
        if allowed is not None and case.household_id not in allowed:
            continue
        data = row.data or {}
        start = date.fromisoformat(data["publicity_start"]) if data.get("publicity_start") else default[0]
        end = date.fromisoformat(data["publicity_end"]) if data.get("publicity_end") else \
            workflow.publicity_period(start)[1]
        if start.year != year:
            continue
        prev = out.get(case.household_id)
        if prev is None or prev[0].opened_on <= case.opened_on:
            snap = snaps.get(cid)
            out[case.household_id] = (case, (start, end), snap.snapshot if snap else None,
                                      (decided[cid].data or {}) if cid in decided else None)
    return out


def entries(session, sc, kind: str, year: int, as_of: date) -> list[Entry]:
    access.report_scope(session, sc)
    allowed = in_scope(session, sc)
    names = region_names(session)
    default = workflow.publicity_period(as_of)
    cat = codes("category")
    way = codes("removal_way")
    found: dict[int, tuple] = {}
    if kind in KIND_CASE:
        found = _case_entries(session, kind, year, as_of, allowed)
        start, end = year_window(year, as_of)
        case_kind = KIND_CASE[kind]
        with_case = set(session.scalars(select(Case.household_id).where(Case.kind == case_kind)))
        col = Household.identified_on if kind == "notice-identify" else Household.a54_removed_on
        q = select(Household.id).where(col >= start, col <= end)
        if kind == "notice-identify":
            q = q.where(Household.monitoring_status.in_(("monitoring", "removing", "removed")))
        for hid in session.scalars(q):
            if hid not in with_case and hid not in found and (allowed is None or hid in allowed):
                found[hid] = (None, default, None, None)
        ids = list(found)
    else:
        proposals = [p for p in policy.proposals(session, year, as_of, household_ids=sorted(allowed) if allowed
                                                 is not None else None) if p.proposed]
        found = {p.household_id: p for p in proposals}
        ids = list(found)
    if not ids:
        return []
    hh = {}
    for i in range(0, len(ids), 900):
        for r in session.execute(select(Household.id, Household.household_no, Household.head_name,
                                        Household.village_id, Household.group_id, Household.size,
                                        Household.a3_category, Household.a53_removal_way)
                                 .where(Household.id.in_(ids[i:i + 900]))):
            hh[r.id] = r
    out = []
    for hid in ids:
        h = hh[hid]
        if kind == "notice-policy":
            p = found[hid]
            what = "；".join(f"第 {k[1]} 条：{policy.CRITERIA[k]}" for k in p.met)
            period, size = default, h.size
        else:
            case, period, snap, decision = found[hid]
            size = int(snap["size"]) if snap and snap.get("size") is not None else h.size
            if kind == "notice-identify":
                if decision and decision.get("category"):
                    what = cat.name(decision["category"])
                elif h.a3_category:
                    what = cat.name(h.a3_category)
                elif snap and snap.get("suggested_category"):
                    what = snap["suggested_category"]
                else:
                    what = "待定"
            else:
                code = (case.data or {}).get("way") if case is not None else h.a53_removal_way
                what = way.name(code) or "—"
        out.append(Entry(hid, h.head_name or "", h.village_id, names.get(h.village_id, ""),
                         names.get(h.group_id, ""), size, what, period[0], period[1], h.household_no))
    order = {vid: i for i, (vid, _, _) in enumerate(village_list(session, sc))}
    out.sort(key=lambda e: (order.get(e.village_id, 10**6), e.group, e.household_no))
    return out


def intro(kind: str, n: int, persons: int) -> str:
    if kind == "notice-identify":
        return (f"根据防止返贫动态监测和帮扶工作有关规定，经农户申报、干部排查、部门预警发现风险线索，"
                f"入户核实、县级信息比对、村级民主评议、镇级审核，"
                f"拟将以下 {n} 户 {persons} 人识别为防止返贫监测对象，现予以公示。")
    if kind == "notice-remove":
        return (f"根据防止返贫动态监测和帮扶工作有关规定，经入户核实、村级民主评议、镇级审核，以下 {n} 户 {persons} 人"
                f"返贫致贫风险已经稳定消除或自然消除，拟标注风险消除，现予以公示。")
    return (f"根据《脱贫不享受政策人口认定标准》，经入户核实、民主评议、乡镇审核，拟认定以下 {n} 户 {persons} 人为"
            f"脱贫不再享受政策人口，现予以公示。")


def make(session, sc, kind: str, year: int, as_of: date):
    access.report_scope(session, sc)
    title = f"{sc.place}{TITLES[kind]}"
    d = Document(title, sc.township_name)
    rows_ = entries(session, sc, kind, year, as_of)
    s = d.story
    s += d.heading(title)
    s.append(d.gap(2))
    persons = sum(e.size for e in rows_)
    s.append(d.p(intro(kind, len(rows_), persons), "notice"))
    s.append(d.gap(2))
    periods = sorted({(e.start, e.end) for e in rows_})
    one = len(periods) <= 1
    what = {"notice-identify": "监测对象类别", "notice-remove": "风险消除方式", "notice-policy": "认定依据"}[kind]
    head = ["序号", "户主姓名", "行政村", "村民小组", "家庭人口", what] + ([] if one else ["公示期"])
    w = d.width
    if kind == "notice-policy":
        widths = [0.07, 0.13, 0.13, 0.10, 0.10, 0.47]
    else:
        widths = [0.08, 0.18, 0.22, 0.14, 0.12, 0.26] if one else [0.07, 0.14, 0.17, 0.11, 0.09, 0.18, 0.24]
    rows = [head]
    for i, e in enumerate(rows_, 1):
        cell = d.p(e.what, "cell9") if kind == "notice-policy" else e.what
        row = [str(i), e.head, e.village, e.group, f"{e.size} 人", cell]
        if not one:
            row.append(f"{e.start.isoformat()} 至 {e.end.isoformat()}")
        rows.append(row)
    if not rows_:
        rows.append(["", "（本期无公示对象）"] + [""] * (len(head) - 2))
        d.warnings.append("没有需要公示的户")
    s.append(d.table(rows, [w * x for x in widths], header=1, size=10, padding=3,
                     extra=[("SPAN", (1, 1), (-1, 1))] if not rows_ else []))
    s.append(d.gap(3))
    if one:
        start, end = periods[0] if periods else workflow.publicity_period(as_of)
        days = (end - start).days + 1
        s.append(d.p(f"公示时间：{cn_date(start)}至{cn_date(end)}（共 {days} 天）。", "notice"))
    else:
        s.append(d.p("公示时间：见上表各户公示期（各 5 天）。", "notice"))
    where = f"{sc.village}村民委员会" if sc.village else "所在村村民委员会"
    objection = d.p(f"公示期间，如对公示对象有异议，请以书面或口头形式向{where}或{sc.township.name}（乡村振兴办）"
                    f"反映，也可拨打防止返贫监测和乡村振兴咨询服务平台电话 {HOTLINE} 反映。"
                    f"反映情况应实事求是，以单位名义反映的须加盖公章，以个人名义反映的须署真实姓名。", "notice")
    issued = periods[0][0] if one and periods else as_of
    issuer = [sc.township_name] + ([f"{sc.village}村民委员会"] if sc.village else [])
    s.append(KeepTogether([objection, d.gap(12)] + [d.p(x, "right") for x in issuer] + [d.p(cn_date(issued), "right")]))
    return d, len(rows_)
