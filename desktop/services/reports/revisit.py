"""风险稳定消除回访表 per removed household [003]: removal date and way, the revisit due date
(half a year after removal: the revisit case's step, else A54 + 6 months), the current income
per capita against the line and the 三保障 status (services.assess), the measures that continue
after removal, then the questions with boxes and blanks to fill by hand, and the signatures.
"""

from __future__ import annotations

from datetime import date

from reportlab.platypus import KeepTogether
from sqlalchemy import select

from ...models import Case, CaseStep, Household
from .. import access, rules
from .. import measures as measures_mod
from ..codes import codes
from ..dates import add_months
from .base import SHADE, Document, iso
from .common import household_ids
from .households import load

TITLE = "防止返贫监测对象风险稳定消除回访表"
REVISIT_MONTHS = 6
QUESTIONS = (
    ("家庭收入是否持续稳定、高于监测线", ("是", "否")),
    ("务工就业、产业经营是否稳定", ("是", "否")),
    ("是否出现因病、因学、因残、因灾、因意外事故等新的返贫致贫风险", ("否", "是")),
    ("住房安全、义务教育、基本医疗和饮水安全是否持续巩固", ("是", "否")),
    ("延续的帮扶政策（小额信贷、公益岗位、雨露计划等）是否落实到位", ("是", "否", "不涉及")),
    ("家庭成员是否有新增、减少等变化", ("否", "是")),
    ("对风险消除和帮扶工作是否满意", ("满意", "基本满意", "不满意")),
)


def _revisits(session, ids: list[int]) -> dict[int, tuple]:
    """household id → (due date, done date, finding) of its latest revisit case."""
    out: dict[int, tuple] = {}
    if not ids:
        return out
    for i in range(0, len(ids), 900):
        q = (select(Case.household_id, Case.opened_on, CaseStep.due_on, CaseStep.done_on, CaseStep.notes,
                    CaseStep.data)
             .join(CaseStep, CaseStep.case_id == Case.id)
             .where(Case.kind == "revisit", Case.state != "void", Case.household_id.in_(ids[i:i + 900]))
             .order_by(Case.opened_on, CaseStep.seq))
        for hid, _opened, due, done, notes, data in session.execute(q):
            finding = (data or {}).get("finding") or notes
            out[hid] = (due, done, finding)
    return out


def add(session, d: Document, h, year: int, as_of, revisit) -> None:
    access.household(session, h.hh.id)
    d.begin(f"户 {h.no}", h.mark)
    s = d.story
    s += d.heading(TITLE, f"{year} 年度")
    hh = h.hh
    a = h.assessment
    w = d.width
    due = due_on(hh, revisit)
    name = codes
    info = [["户编号", h.no, "户主姓名", h.head],
            ["家庭住址", h.address, "联系电话", hh.phone or ""],
            ["家庭人口", f"{a.size if a else len(h.members)} 人", "监测对象类别",
             name("category").name(hh.a3_category) or "—"],
            ["识别监测时间", iso(hh.identified_on) or "—", "监测状态",
             name("monitoring_status").name(hh.monitoring_status)],
            ["风险消除时间", iso(hh.a54_removed_on) or "—", "风险消除方式",
             name("removal_way").name(hh.a53_removal_way) or "—"],
            ["回访到期日", iso(due) or "—", "监测联系人",
             f"{hh.a55_contact_person or ''} {hh.contact_phone or ''}".strip()]]
    s.append(d.p("一、基本情况", "h"))
    s.append(d.table(info, [w * 0.16, w * 0.38, w * 0.16, w * 0.30], header=0, size=9,
                     extra=[("ALIGN", (0, 0), (-1, -1), "LEFT"), ("BACKGROUND", (0, 0), (0, -1), SHADE),
                            ("BACKGROUND", (2, 0), (2, -1), SHADE)]))

    r = h.result
    line = rules.line_text(a.line) if a else ""
    if r is not None:
        verdict = "低于" if r.below(a.line, "A38") else "高于"  # the exact value, as assess compares
        income_text = (f"{year} 年家庭人均纯收入（A34）{rules.yuan(r.A34)} 元，"
                       f"人均收入参考范围（A38）{rules.yuan(r.A38)} 元，{verdict} {year} 年监测线 {line} 元。")
    else:
        income_text = (a.suggestion.reasons[0] if a and a.suggestion.reasons else f"没有 {year} 年收入记录") + "。"
    problems = a.guarantee_problems if a else []
    g_rows = [["项目", "系统登记情况", "回访核实"]]
    for g in rules.GUARANTEES:
        g_rows.append([g, "存在问题" if g in problems else "有保障",
                       d.checks([("有保障", False), ("存在问题", False)])])
    cont = [m for m in measures_mod.measures(session, hh.id, as_of) if m.active and m.continues_after_removal]
    cont_text = "；".join(f"{m.category_name}·{m.item}" + (f"（至 {iso(m.end_date)}）" if m.end_date else "")
                          for m in cont) or "无"
    s.append(KeepTogether([d.p("二、当前情况（系统登记，回访时核实）", "h"), d.p(income_text),
                           d.gap(1), d.table(g_rows, [w * 0.25, w * 0.25, w * 0.5], header=1, size=9),
                           d.gap(1), d.p(f"延续实施的帮扶措施：{cont_text}")]))

    q_rows = [["序号", "回访内容", "回访情况", "说明"]]
    for i, (question, options) in enumerate(QUESTIONS, 1):
        q_rows.append([str(i), d.p(question, "cell"), d.checks([(o, False) for o in options]), ""])
    s.append(KeepTogether([d.p("三、回访内容", "h"),
                           d.table(q_rows, [w * 0.06, w * 0.44, w * 0.26, w * 0.24], header=1, size=9, padding=4,
                                   extra=[("ALIGN", (1, 1), (-1, -1), "LEFT")])]))
    done = ""
    if revisit and revisit[1]:
        done = f"（系统已登记：{iso(revisit[1])} 回访，{revisit[2] or '无说明'}）"
    s.append(KeepTogether([
        d.p("四、回访结论" + done, "h"),
        d.checks([("风险稳定消除，继续跟踪监测", False), ("存在返贫致贫风险，按程序重新识别为监测对象", False)], 9.5),
        d.gap(1), d.p("其他情况说明：" + "_" * 60),
        d.gap(4),
        d.signatures([("回访人签字：", None), ("被回访人（户主）签字：", None), ("村级审核：", None),
                      ("回访日期：", "        年      月      日")], columns=2, stamp="乡镇（盖章）")]))


def due_on(hh, revisit) -> date | None:
    """When the revisit is due: the revisit case's step, else half a year after removal (A54)."""
    if revisit and revisit[0]:
        return revisit[0]
    return add_months(hh.a54_removed_on, REVISIT_MONTHS) if hh.a54_removed_on else None


def make(session, sc, kind: str, year: int, as_of):
    access.report_scope(session, sc)
    ids = household_ids(session, sc, ("removed",))
    revisits = _revisits(session, ids)
    if sc.household_ids is None:  # the batch: households whose revisit is due and not yet recorded
        removed = dict(session.execute(select(Household.id, Household.a54_removed_on)
                                       .where(Household.id.in_(ids))).all()) if ids else {}
        ids = [hid for hid in ids if _due(removed.get(hid), revisits.get(hid), as_of)]
    d = Document(TITLE, sc.township_name)
    n = 0
    for h in load(session, sc, ids, year, as_of, with_measures=False):
        add(session, d, h, year, as_of, revisits.get(h.hh.id))
        n += 1
    d.end()
    if not n:
        d.nobody()
    return d, n


def _due(removed_on: date | None, revisit, as_of: date) -> bool:
    if revisit and revisit[1]:
        return False  # already revisited (the form can be reprinted by naming the household)
    due = revisit[0] if revisit and revisit[0] else (add_months(removed_on, REVISIT_MONTHS) if removed_on else None)
    return due is not None and due <= as_of
