"""防止返贫监测对象信息采集表 (seed 004, annex 1), one per household, filled.

Laid out like the form: 填报日期, 一 基本信息, 二 家庭成员信息 (A5–A22, ID numbers in full: this
form is not public), 三 三保障和饮水安全 (A23–A26), 四 风险类型 (A27, A27a), 五 收支情况 (A28–A38,
computed by services.income through services.assess), 六 帮扶措施 (A39–A52, √ for the items
the household had in the year), 七 风险消除 (A53, A54), A55 and the signatures.
Landscape A4: the member table has 19 columns.
"""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether

from .. import access, rules
from ..codes import codes, measure_catalog
from .base import MIN_BODY, SHADE, Document, Page, cn_date, yes_no
from .households import HouseholdInfo

TITLE = "防止返贫监测对象信息采集表"

# The form's grouping of the measure rows (seed 004 annex 1, 六).
MEASURE_GROUPS = (("增收类", ("A39", "A40", "A41", "A42")),
                  ("三保障和饮水安全类", ("A43", "A44", "A45", "A46", "A47")),
                  ("兜底保障类", ("A48",)),
                  ("其他类", ("A49", "A50", "A51", "A52")))

MEMBER_HEADER = ("序号", "A5\n姓名", "A6\n性别", "A7 居民身份证\n（残疾人证）号码", "A8\n与户主\n关系", "A9\n民族",
                 "A10\n政治\n面貌", "A11\n文化\n程度", "A12\n在校生\n状况", "A13\n健康\n状况", "A14\n劳动\n技能",
                 "A15\n务工\n区域", "A16\n务工\n时间\n（月）", "A17\n基本医疗\n保险", "A18\n大病\n保险",
                 "A19\n基本养老\n保险", "A20\n享受\n低保", "A21\n特困\n供养", "A22\n易地扶贫\n搬迁")
MEMBER_WIDTHS = (7, 17, 7, 33, 11, 10, 12, 15, 16, 17, 16, 16, 12, 12, 10, 12, 12, 12, 12)
MEMBER_SIZE = MIN_BODY
NOTES = ("注：1. A33=A28+A29+A30+A31−A32，A34=A33÷家庭人口，A37=A33+A35−A36，A38=A37÷家庭人口。",
         "2. A38 是确定监测对象的参考，A34 是区分前两类还是第三类对象的参考。",
         "3. 家庭成员如出现因病因灾因意外事故等刚性支出较大后，在识别监测对象过程中突发死亡，"
         "录入系统后将其标注为死亡。")


def page() -> Page:
    return Page(landscape=True, left=15 * mm, right=15 * mm, top=16 * mm, bottom=14 * mm)


def title(year: int, sc) -> str:
    return f"{sc.township.county or ''}{TITLE}"


def yn(d: Document, value: bool | None, size: float = 9):
    return d.checks([("是", value is True), ("否", value is False)], size)


def section(d: Document, text: str):
    return d.bar(text)


def policy_rows(d: Document, hh, w: float) -> list[list]:
    """Criteria 2–8 and exceptions 2 and 4 as 是/否 boxes, two to a row (criterion 1 and exceptions 1
    and 3 come from income and members, so the form does not ask them)."""
    from ..policy import CRITERIA, EXCEPTIONS, FACT_COLUMNS
    cells = []
    for key, column in FACT_COLUMNS.items():
        text = (f"第 {key[1]} 条 {CRITERIA[key]}" if key.startswith("c") else f"例外第 {key[1]} 条 {EXCEPTIONS[key]}")
        cells += [text, yn(d, getattr(hh, column))]  # plain cells wrap to their column (9 pt)
    cells += [""] * (-len(cells) % 4)
    return [cells[i:i + 4] for i in range(0, len(cells), 4)]


def add(d: Document, h: HouseholdInfo, year: int) -> None:
    """The whole form of one household, from a new page."""
    d.begin(f"户 {h.no}", h.mark)
    s = d.story
    s += d.heading(d.title)
    a = h.assessment
    w = d.width
    unit = f"{h.scope.township.name}{h.village}"
    s.append(d.table([[f"填报单位：{unit}", f"户编号：{h.no}（{year} 年度）", f"填报日期：{cn_date(h.collected_on)}"]],
                     [w * 0.42, w * 0.33, w * 0.25], header=0, grid=False, padding=1,
                     extra=[("ALIGN", (0, 0), (0, 0), "LEFT"), ("ALIGN", (2, 0), (2, 0), "RIGHT"),
                            ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    s.append(d.gap(1))

    # 一、基本信息
    widths = [w * 0.19, w * 0.33, w * 0.19, w * 0.29]
    cat = codes("category")
    hh = h.hh
    basic = [
        ["户主姓名", h.head, "家庭人口（状态时点）", f"{a.size if a else len(h.members)} 人"],
        ["家庭住址", h.address, "联系电话", hh.phone or ""],
        ["A1 居住在大中型易地扶贫搬迁集中安置区（800人以上）", yn(d, hh.a1_relocation_site),
         "A2 安置区地址", hh.a2_site_address or ""],
        ["A3 监测对象类别", d.checks([(c.name, hh.a3_category == c.code) for c in cat]),
         "A4 脱贫户（身份证比对生成）", yn(d, hh.a4_poverty_alleviated)],
    ]
    s.append(KeepTogether([section(d, "一、基本信息"),
                           d.table(basic, widths, header=0, size=9,
                                   extra=[("ALIGN", (0, 0), (-1, -1), "LEFT"),
                                          ("BACKGROUND", (0, 0), (0, -1), SHADE),
                                          ("BACKGROUND", (2, 0), (2, -1), SHADE)])]))

    # 二、家庭成员信息 (members of status 正常 at the status time point)
    scale = d.width / (sum(MEMBER_WIDTHS) * mm)
    mw = [x * mm * scale for x in MEMBER_WIDTHS]
    rows = [list(MEMBER_HEADER)]
    names = {k: codes(k) for k in ("sex", "relation", "ethnicity", "political", "education", "school", "health",
                                   "disability_grade", "labor", "work_region", "dibao", "tekun")}
    for i, m in enumerate(h.members, 1):
        health = names["health"].name(m.health)
        if m.disability_grade:
            health = f"{health}（{names['disability_grade'].name(m.disability_grade)}）"
        cells = [str(i), m.name, names["sex"].name(m.sex), m.id_number, names["relation"].name(m.relation),
                 names["ethnicity"].name(m.ethnicity), names["political"].name(m.political),
                 names["education"].name(m.education), names["school"].name(m.school), health,
                 names["labor"].name(m.labor), names["work_region"].name(m.work_region),
                 "" if m.work_months is None else str(m.work_months), yes_no(m.a17_medical),
                 yes_no(m.a18_serious_illness), yes_no(m.a19_pension), names["dibao"].name(m.a20_dibao),
                 names["tekun"].name(m.a21_tekun), yes_no(m.a22_relocated)]
        rows.append(cells)
    if not h.members:
        rows.append(["", "（状态时点无正常状态的家庭成员）"] + [""] * 17)
    members = d.table(rows, mw, header=1, size=MEMBER_SIZE, padding=1.8,
                      extra=[("SPAN", (1, 1), (-1, 1))] if not h.members else [])
    s.append(KeepTogether([d.gap(1.5), section(d, "二、家庭成员信息"), members]))

    # 三、三保障和饮水安全状况 (A26 derived from A17 by services.rules; blank when an A17 is unknown)
    a26 = rules.a26_stated(h.members)
    half = [w * 0.33, w * 0.17, w * 0.33, w * 0.17]
    guarantee = [["A23 是否住房出现安全问题", yn(d, hh.a23_housing_unsafe),
                  "A24 是否义务教育阶段适龄儿童少年失学辍学", yn(d, hh.a24_school_dropout)],
                 ["A25 是否饮水出现安全问题", yn(d, hh.a25_water_unsafe),
                  "A26 是否有家庭成员未参加城乡居民（职工）基本医疗保险（A17 指标生成）",
                  yn(d, a26)]]
    s.append(KeepTogether([d.gap(1.5), section(d, "三、三保障和饮水安全状况"),
                           d.table(guarantee, half, header=0, size=9, extra=[("ALIGN", (0, 0), (-1, -1), "LEFT")])]))

    # 四、风险类型
    risks = set(hh.a27_risk_types or [])
    risk_items = []
    for c in codes("risk_type"):
        if c.flag("national") and c.code not in risks:
            continue  # 因安全住房 / 因安全饮水: the national system's words, not boxes of the form (seed 004)
        label = c.name
        if c.name == "其他":
            label = f"其他（{hh.a27_other_note}）" if hh.a27_other_note else "其他（文字备注）"
        risk_items.append((label, c.code in risks))
    disasters = set(hh.a27a_disaster_types or [])
    dis_items = [(c.name if c.name != "其他" else "其他（森林草原火灾、海洋灾害等）", c.code in disasters)
                 for c in codes("disaster_type")]
    risk_table = [["A27 风险类型", d.checks(risk_items)], ["A27a 因自然灾害", d.checks(dis_items)]]
    s.append(KeepTogether([d.gap(1.5), section(d, "四、风险类型"),
                           d.table(risk_table, [w * 0.14, w * 0.86], header=0, size=9,
                                   extra=[("ALIGN", (0, 0), (-1, -1), "LEFT")])]))

    # 五、收支情况
    r = h.result
    t = r.totals if r else None

    def money(v):
        return rules.yuan(v) if v is not None else ""
    income_rows = [
        ["A28 工资性收入（元）", "A29 生产经营性收入（元）", "A30 财产性收入（元）", "A31 转移性收入（元）",
         "A32 生产经营性支出（元）", "A33 家庭纯收入（系统生成）（元）", "A34 家庭人均纯收入（系统生成）（元）"],
        [money(t.A28 if t else None), money(t.A29 if t else None), money(t.A30 if t else None),
         money(t.A31 if t else None), money(t.A32 if t else None), money(r.A33 if r else None),
         money(r.A34 if r else None)],
        ["A35 理赔收入（元）", "A36 合规自付支出（元）", "A37 纳入监测对象的收入参考范围（系统生成）（元）", "",
         "A38 纳入监测对象的人均收入参考范围（系统生成）（元）", "", f"{year} 年监测线（元/人·年）"],
        [money(t.A35 if t else None), money(t.A36 if t else None), money(r.A37 if r else None), "",
         money(r.A38 if r else None), "", rules.line_text(a.line) if a else ""],
    ]
    note = (f"家庭人口 {r.size} 人（{year} 年状态时点正常状态成员）；收入采集日期 {cn_date(h.collected_on, '未填')}"
            f"{'，采集人 ' + h.collected_by if h.collected_by else ''}。" if r else
            (a.suggestion.reasons[0] if a and a.suggestion.reasons else f"没有 {year} 年收入记录") + "。")
    s.append(KeepTogether([d.gap(1.5), section(d, "五、收支情况"),
                           d.table(income_rows, [w / 7] * 7, header=0, size=9.5,
                                   extra=[("SPAN", (2, 2), (3, 2)), ("SPAN", (4, 2), (5, 2)),
                                          ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                                          ("SPAN", (2, 3), (3, 3)), ("SPAN", (4, 3), (5, 3)),
                                          ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                                          ("BACKGROUND", (0, 2), (-1, 2), SHADE),
                                          ("FONTSIZE", (0, 0), (-1, 0), 9), ("FONTSIZE", (0, 2), (-1, 2), 9),
                                          ("LEADING", (0, 0), (-1, 0), 11.7), ("LEADING", (0, 2), (-1, 2), 11.7)]),
                           d.gap(0.8), d.p(note, "small")]))

    # 六、帮扶措施
    catalog = {c["code"]: c for c in measure_catalog()}
    had = h.measures
    rows, spans = [], []
    for group, cats in MEASURE_GROUPS:
        first = len(rows)
        for code in cats:
            c = catalog[code]
            names_ = [it["name"] for it in c["items"]]
            if names_:
                unknown = any(cat == code and item not in names_ for cat, item in had)
                items = [(n, (code, n) in had or (n == "其他" and unknown)) for n in names_]
            else:
                items = [("", any(cat == code for cat, _ in had))]
            rows.append([group if code == cats[0] else "", f"{code} {c['name']}", d.checks(items)])
        if len(cats) > 1:
            spans.append(("SPAN", (0, first), (0, len(rows) - 1)))
    s.append(KeepTogether([d.gap(1.5), section(d, "六、帮扶措施"),
                           d.table(rows, [w * 0.12, w * 0.15, w * 0.73], header=0, padding=0.3,
                                   extra=spans + [("ALIGN", (1, 0), (-1, -1), "LEFT"),
                                                  ("BACKGROUND", (0, 0), (0, -1), SHADE)])]))

    # 附：脱贫不享受政策认定事项 (seed 004 annex 2), for a 脱贫户: the recorded facts, blank when unknown.
    if hh.a4_poverty_alleviated:
        s.append(KeepTogether([d.gap(1.5), section(d, "附：脱贫不享受政策认定事项（脱贫户填写，附件 2）"),
                               d.table(policy_rows(d, hh, w), [w * 0.40, w * 0.10] * 2, header=0, size=9,
                                       extra=[("ALIGN", (0, 0), (-1, -1), "LEFT")])]))

    # 七、风险消除；A55
    way = hh.a53_removal_way
    removal = [["A53 风险消除方式", d.checks([(c.name, way == c.code) for c in codes("removal_way")]),
                "A54 风险消除时间", cn_date(hh.a54_removed_on, "")],
               ["A55 监测联系人", hh.a55_contact_person or "", "联系电话", hh.contact_phone or ""]]
    s.append(KeepTogether([d.gap(1.5), section(d, "七、风险消除"),
                           d.table(removal, widths, header=0, size=9,
                                   extra=[("ALIGN", (0, 0), (-1, -1), "LEFT"),
                                          ("BACKGROUND", (0, 0), (0, -1), SHADE),
                                          ("BACKGROUND", (2, 0), (2, -1), SHADE)]),
                           d.gap(1),
                           *[d.p(n, "small") for n in NOTES],
                           d.gap(1),
                           d.signatures([("采集人（填表人）签字：", None), ("被采集人（户主）签字：", None),
                                         ("审核人签字：", None), ("日期：", "        年      月      日")],
                                        columns=2, stamp="单位（盖章）")]))


def build(d: Document, households, year: int) -> int:
    n = 0
    for h in households:
        add(d, h, year)
        n += 1
    d.end()
    return n


def make(session, sc, kind: str, year: int, as_of):
    access.report_scope(session, sc)
    from .common import MONITORED, household_ids
    from .households import load
    ids = household_ids(session, sc, MONITORED)
    d = Document(title(year, sc), sc.township_name, page())
    n = build(d, load(session, sc, ids, year, as_of), year)
    if not n:
        d.nobody()
    return d, n
