"""Export in the national 监测对象信息 layout (SPEC §9.1): a title row, the merged group row, the
header, then one row a person (members of status 正常) with the household's fields on every row —
the file a county can take back into its own tools, and that this program reads again unchanged.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models import Household, Measure, Member
from .. import access, assess, income, regions, rules, settings
from ..idnumber import parse_id
from .exporter import ExportCancelled, ExportResult, _exported, _names, _write_book, _yes
from .layout import national, national_columns
from .xlsx import MONEY, TEXT, Book, Col

Progress = Callable[[int, int, str], None]
EVERY = 5000
REMOVED = "removed"
MONITORED = ("monitoring", "removing", "green")


def _month(d) -> str | None:
    return f"{d.year}{d.month:02d}" if d is not None else None


def export_national(session: Session, path: Path | str, year: int, *, village_ids: frozenset[int] | None = None,
                    progress: Progress | None = None, cancelled: Callable[[], bool] | None = None) -> ExportResult:
    """Every household, its members of status 正常 one a row, income of `year`, in the national layout."""
    village_ids = access.narrow(session, village_ids)  # a 村级录入员: only their villages
    started = time.perf_counter()
    path, counts = _write_book(session, path, Book,
                              lambda book, tw: _write(session, book, year, tw, village_ids, progress, cancelled),
                              progress)
    return ExportResult(path, year, counts["household"], counts["member"], counts["measure"], 0,
                        path.stat().st_size, time.perf_counter() - started, layout="national", closed=counts["closed"])


def _layout() -> tuple[list[Col], list[list[tuple[int, int, str]]]]:
    cols, groups = [], []
    at = 0
    for group in national()["groups"]:
        n = len(group["columns"])
        groups.append((at, at + n - 1, group["name"]))
        at += n
    for nc in national_columns():
        money = nc.key is not None and (nc.key.startswith("A") and nc.sheet == "household"
                                        or nc.key.startswith("after_a"))
        kind = MONEY if money or nc.header.startswith("人均纯收入") else TEXT
        width = max(8, min(24, len(nc.header) * 1.6 + 2))
        cols.append(Col(nc.header, kind, width, "computed" if nc.sheet is None else "normal",
                        shared=kind == TEXT))
    title = [(0, len(cols) - 1, national()["title"])]
    return cols, [title, groups]


def _write(session: Session, book: Book, year: int, tw, village_ids, progress, cancelled) -> dict:
    H, M, S = Household.__table__.c, Member.__table__.c, Measure.__table__.c
    where, closed = _exported(session, village_ids)
    n_m = session.scalar(select(func.count()).select_from(Member).join(Household, Household.id == Member.household_id)
                         .where(Member.status == "normal", *where)) or 0
    counts = {"household": 0, "member": 0, "measure": 0, "done": 0, "total": n_m, "closed": closed}
    if progress is not None:
        progress(0, n_m, "正在计算收入")
    ys = settings.get_year(session, year)
    point = ys.status_time_point if ys is not None else settings.default_period(year)[2]
    facts = assess.member_facts(session, point)
    totals = income.totals_for_year(session, year)
    names = regions.names(session)
    n = {k: _names(k) for k in ("category", "risk_type", "removal_way", "sex", "relation", "ethnicity", "political",
                                "education", "school", "health", "labor", "dibao", "tekun")}
    sep = national()["list_separator"]

    # measures: household → category → items in order; member → A42 items held
    by_household: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    held: dict[int, list[str]] = defaultdict(list)
    q = select(S.household_id, S.member_id, S.category, S.item).order_by(S.household_id, S.id)
    if village_ids is not None:
        q = q.join(Household.__table__, H.id == S.household_id).where(*where)
    for hid, mid, cat, item in session.execute(q):
        word = item if item else "是"
        items = by_household[hid][cat]
        if word not in items:
            items.append(word)
        if mid is not None and cat == "A42" and word not in held[mid]:
            held[mid].append(word)
        counts["measure"] += 1

    ws = book.sheet(national()["title"][:31], *_sheet_args())
    order = [(nc.sheet, nc.key, nc.header) for nc in national_columns()]
    hq = (select(H.id, H.household_no, H.village_id, H.phone, H.a3_category, H.a4_poverty_alleviated,
                 H.monitoring_status, H.identified_on, H.whole_no_labor_guarantee, H.a23_housing_unsafe,
                 H.a24_school_dropout, H.a25_water_unsafe, H.a27_risk_types, H.a27_other_note, H.a53_removal_way,
                 H.a54_removed_on, H.a55_contact_person, H.contact_phone, H.after_dropout, H.after_housing_damaged,
                 H.after_medical_missing, H.after_water_damaged, H.after_a28, H.after_a29, H.after_a30, H.after_a31,
                 H.after_a32, H.after_a33, H.after_a34, H.after_a35, H.after_a36)
          .where(*where).order_by(H.household_no))
    households = {r.id: r for r in session.execute(hq)}
    mq = (select(M.household_id, M.id, M.name, M.sex, M.id_number, M.relation, M.ethnicity, M.political, M.education,
                 M.school, M.school_absence_reason, M.health, M.labor, M.work_place, M.work_months,
                 M.public_post_months, M.a20_dibao, M.a21_tekun, M.a17_medical, M.a17_resident_medical,
                 M.a17_employee_medical, M.a18_serious_illness, M.a19_pension, M.a19_employee_pension, M.phone)
          .join(Household.__table__, H.id == M.household_id)
          .where(M.status == "normal", *where).order_by(H.household_no, M.seq, M.id))
    seq = 0
    current, hh_values = None, None
    for m in session.execute(mq):
        if m.household_id != current:
            current = m.household_id
            hh_values = _household(households[current], tw, names, n, facts, totals, by_household, sep)
            counts["household"] += 1
        seq += 1
        info = parse_id(m.id_number)
        resident, employee = rules.medical_flags(m.a17_medical, m.a17_resident_medical, m.a17_employee_medical)
        person = {
            "序号": str(seq), "姓名": m.name, "性别": n["sex"](m.sex), "证件号码": m.id_number,
            "证件类型": "残疾人证" if info.disability_card else "居民身份证",
            "出生日期": info.birth_date.strftime("%Y%m%d") if info.birth_date else None,
            "与户主关系": n["relation"](m.relation), "民族": n["ethnicity"](m.ethnicity),
            "政治面貌": n["political"](m.political), "文化程度": n["education"](m.education),
            "在校生状况": n["school"](m.school), "义务教育阶段未上学原因": m.school_absence_reason,
            "失学或辍学原因": m.school_absence_reason, "健康状况": n["health"](m.health),
            "劳动技能": n["labor"](m.labor),
            "务工所在地": m.work_place, "务工时间": str(m.work_months) if m.work_months is not None else None,
            "公益性岗位": sep.join(held.get(m.id, ())) or None,
            "公益性岗位(月数)": str(m.public_post_months) if m.public_post_months is not None else None,
            "享受低保政策情况": n["dibao"](m.a20_dibao), "享受特困供养政策情况": n["tekun"](m.a21_tekun),
            "是否参加城乡居民基本医疗保险": _yes(resident), "是否参加城镇职工基本医疗保险": _yes(employee),
            "是否参加大病保险": _yes(m.a18_serious_illness), "是否参加城乡居民基本养老保险": _yes(m.a19_pension),
            "是否参加城镇职工基本养老保险": _yes(m.a19_employee_pension), "人联系电话": m.phone,
        }
        ws.row([person.get(header, hh_values.get(header)) for _sheet, _key, header in order])
        counts["member"] += 1
        counts["done"] += 1
        if counts["done"] % EVERY == 0:
            if progress is not None:
                progress(counts["done"], counts["total"], "正在导出")
            if cancelled is not None and cancelled():
                raise ExportCancelled("已取消导出")
    return counts


def _sheet_args():
    cols, above = _layout()
    return cols, 0, above


def _household(r, tw, names, n, facts, totals, by_household, sep) -> dict:
    members = facts.get(r.id, [])
    t = totals.get(r.id)
    result = income.compute(t, len(members)) if (t is not None and members) else None
    risks = [n["risk_type"](c) or c for c in (r.a27_risk_types or [])]
    if len(risks) > 5:
        risks = risks[:4] + ["、".join(risks[4:])]
    removed = "是" if r.monitoring_status == REMOVED else "否" if r.monitoring_status in MONITORED else None
    out = {
        "县": tw.county, "乡": tw.name, "村": names.get(r.village_id), "户编号": r.household_no,
        "户类型": None if r.a4_poverty_alleviated is None else ("脱贫户" if r.a4_poverty_alleviated else "一般农户"),
        "监测对象类别": n["category"](r.a3_category), "户联系电话": r.phone,
        "是否危房户": _yes(r.a23_housing_unsafe),
        "是否解决安全饮用水": None if r.a25_water_unsafe is None else _yes(not r.a25_water_unsafe),
        "是否义务教育阶段适龄儿童少年失学辍学": _yes(r.a24_school_dropout),
        "是否有家庭成员未参加城乡居民（职工）基本医疗保险": _yes(rules.a26_stated(members)),
        "人均纯收入（元）": result.A34 if result else None,
        "其他备注": r.a27_other_note, "识别监测时间": _month(r.identified_on), "消除监测时间": _month(r.a54_removed_on),
        "风险是否已消除": removed, "风险消除方式": n["removal_way"](r.a53_removal_way),
        "整户无劳动能力兜底保障户": _yes(r.whole_no_labor_guarantee), "信息采集人": r.a55_contact_person,
        "信息采集人联系电话": r.contact_phone,
        "风险消除后是否义务教育阶段适龄儿童少年失学辍学": _yes(r.after_dropout),
        "风险消除后是否住房损毁": _yes(r.after_housing_damaged),
        "风险消除后是否有家庭成员未参加城乡居民（职工）基本医疗保险": _yes(r.after_medical_missing),
        "风险消除后是否饮水设施损毁": _yes(r.after_water_damaged),
    }
    for i, name in enumerate(risks[:5], 1):
        out[f"致贫/返贫风险{i}"] = name
    for code, header in (("A28", "工资性收入"), ("A29", "生产经营性收入"), ("A30", "财产性收入"), ("A31", "转移性收入"),
                         ("A32", "生产经营性支出"), ("A35", "理赔收入"), ("A36", "合规自付支出")):
        out[header] = getattr(t, code) if t is not None else None
    for k, header in (("after_a28", "风险消除后工资性收入"), ("after_a29", "风险消除后生产经营性收入"),
                      ("after_a30", "风险消除后财产性收入"), ("after_a31", "风险消除后转移性收入"),
                      ("after_a32", "风险消除后生产经营性支出"), ("after_a33", "风险消除后家庭纯收入"),
                      ("after_a34", "风险消除后家庭人均纯收入"), ("after_a35", "风险消除后理赔收入"),
                      ("after_a36", "风险消除后合规自付支出")):
        out[header] = getattr(r, k)
    cats = by_household.get(r.id, {})
    for nc in national_columns():
        if nc.sheet == "measure":
            items = cats.get(nc.key)
            out[nc.header] = sep.join(items) if items else None
    return out
