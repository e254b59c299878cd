"""监测对象明白卡 per household [003]: category, risk types, the measures in effect, the
monitoring contact person (A55) and phone, the 12317 hotline and the township. Two cards on a
portrait A4 page with a cut line between; a card whose measures do not fit half a page is never
shrunk: it takes a sheet (or two) of its own, 9 pt at least, breaking between measures.
"""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Table, TableStyle

from .. import access, rules
from .. import measures as measures_mod
from ..codes import codes
from .base import FONT, HOTLINE, SHADE, Document, Mark, Page, Section, iso
from .common import household_ids
from .households import load

TITLE = "防止返贫监测对象明白卡"
CARD_HEIGHT = 124 * mm


class CutLine(Flowable):
    def __init__(self, width: float, label: str):
        super().__init__()
        self.width, self.height, self.label = width, 8 * mm, label

    def wrap(self, aw, ah):
        return self.width, self.height

    def draw(self):
        c = self.canv
        c.saveState()
        c.setDash(3, 3)
        c.setStrokeColor(colors.grey)
        c.setLineWidth(0.5)
        y = self.height / 2
        w = 28 * mm  # the label sits in a gap of the line
        c.line(0, y, self.width / 2 - w / 2, y)
        c.line(self.width / 2 + w / 2, y, self.width, y)
        c.setFillColor(colors.grey)
        c.setFont(FONT, 9)
        c.drawCentredString(self.width / 2, y - 1.1 * mm, self.label)
        c.restoreState()


def card(session, d: Document, h, year: int, as_of) -> tuple[Table, bool]:
    """One household's card and whether it fits half a page (two cards on a sheet to cut apart).
    A card with many measures is never shrunk: it runs on over the next page (9 pt at least)."""
    access.household(session, h.hh.id)
    hh = h.hh
    w = d.width
    cat = codes("category").name(hh.a3_category) or "—"
    risk_codes = codes("risk_type")
    risks = [risk_codes.name(c, c) for c in (hh.a27_risk_types or [])]
    if hh.a27_other_note and risks:
        risks[-1] = f"{risks[-1]}（{hh.a27_other_note}）" if risks[-1] == "其他" else risks[-1]
    disasters = [codes("disaster_type").name(c, c) for c in (hh.a27a_disaster_types or [])]
    risk_text = "、".join(risks) + (f"（{'、'.join(disasters)}）" if disasters else "") or "—"
    active = [m for m in measures_mod.measures(session, hh.id, as_of) if m.active]
    lines = []
    for i, m in enumerate(active, 1):
        detail = "，".join(x for x in (m.responsible_unit, f"{iso(m.start_date)} 起" if m.start_date else "",
                                      f"至 {iso(m.end_date)}" if m.end_date else "") if x)
        item = f"·{m.item}" if m.item else ""
        lines.append(f"{i}. {m.category_name}{item}" + (f"（{detail}）" if detail else ""))
    lines = lines or ["（暂无正在实施的帮扶措施）"]
    status = codes("monitoring_status").name(hh.monitoring_status)
    a = h.assessment
    rows = [
        [d.p(TITLE, "title")],
        [d.p(f"{d.township}  {year} 年度", "subtitle")],
        ["户主姓名", h.head, "家庭人口", f"{a.size if a else len(h.members)} 人"],
        ["家庭住址", h.address, "", ""],
        ["监测对象类别", cat, "识别监测时间", iso(hh.identified_on) or "—"],
        ["监测状态", status, "户编号", h.no],
        ["风险类型", risk_text, "", ""],
    ]
    first = len(rows)
    for k, text in enumerate(lines):
        rows.append(["帮扶措施" if k == 0 else "", text, "", ""])
    last = len(rows) - 1
    rows += [
        ["监测联系人", hh.a55_contact_person or "", "联系电话", hh.contact_phone or ""],
        [d.p(f"政策咨询、困难申报、问题反映电话：{HOTLINE}", "subtitle")],
        [d.p(f"温馨提示：家庭如因病、因灾、因意外事故等导致收入大幅减少或刚性支出大幅增加、生活出现困难，请及时向村委会或"
             f"监测联系人反映，也可拨打防止返贫监测和乡村振兴咨询服务平台电话 {HOTLINE}（与 12345 政务热线归并运行）"
             f"咨询政策、申报困难、反映问题。", "small")],
    ]
    n = len(rows)
    inner = w - 8 * mm
    widths = [inner * 0.17, inner * 0.38, inner * 0.17, inner * 0.28]
    # Each measure is a row of its own (a long list breaks between measures); no span runs over
    # several rows, so the table splits cleanly across pages.
    cmds = [("SPAN", (0, 0), (-1, 0)), ("SPAN", (0, 1), (-1, 1)), ("SPAN", (1, 3), (-1, 3)),
            ("SPAN", (1, 6), (-1, 6)), ("SPAN", (0, n - 2), (-1, n - 2)), ("SPAN", (0, n - 1), (-1, n - 1)),
            ("GRID", (0, 2), (-1, first - 1), 0.5, colors.black), ("GRID", (0, last + 1), (-1, last + 1), 0.5,
                                                                   colors.black),
            ("BOX", (0, first), (0, last), 0.5, colors.black), ("BOX", (1, first), (-1, last), 0.5, colors.black),
            ("ALIGN", (0, 2), (-1, -1), "LEFT"), ("VALIGN", (0, first), (-1, last), "TOP"),
            ("BACKGROUND", (0, 2), (0, last + 1), SHADE), ("BACKGROUND", (2, 2), (2, 2), SHADE),
            ("BACKGROUND", (2, 4), (2, 5), SHADE), ("BACKGROUND", (2, last + 1), (2, last + 1), SHADE)]
    cmds += [("SPAN", (1, r), (-1, r)) for r in range(first, last + 1)]
    t = d.table(rows, widths, header=0, size=9.5, padding=2.5, grid=False, extra=cmds)
    _, height = t.wrap(inner, 10**6)
    if height <= CARD_HEIGHT - 8 * mm:
        return Table([[t]], colWidths=[w], rowHeights=[CARD_HEIGHT], style=TableStyle(BOXED)), True
    t.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1.2, colors.black)]))
    t.hAlign = "CENTER"
    return t, False


BOXED = [("FONTNAME", (0, 0), (-1, -1), FONT), ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
         ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 4 * mm),
         ("RIGHTPADDING", (0, 0), (-1, -1), 4 * mm), ("TOPPADDING", (0, 0), (-1, -1), 3 * mm),
         ("BOTTOMPADDING", (0, 0), (-1, -1), 3 * mm)]


def make(session, sc, kind: str, year: int, as_of):
    access.report_scope(session, sc)
    ids = household_ids(session, sc, tuple(sorted(rules.UNREMOVED)))
    d = Document(TITLE, sc.township_name, Page(left=16 * mm, right=16 * mm, top=16 * mm, bottom=14 * mm))
    n = 0
    half = False  # the last card took the top half of a sheet: the next one may go below it
    for h in load(session, sc, ids, year, as_of, with_measures=False):
        label = f"户 {h.no}"
        d.glyphs.where = label
        flowable, short = card(session, d, h, year, as_of)
        if half and short:  # below the previous card, after the cut line, on the same sheet
            d.end()
            d.sections.append(Section(label, len(d.story)))
            d.story += [Mark(d.t(h.mark), start=True), CutLine(d.width, "沿虚线剪开"), flowable]
            half = False
        else:
            d.begin(label, h.mark)
            d.story.append(flowable)
            half = short
        n += 1
    d.end()
    if not n:
        d.nobody()
    return d, n
