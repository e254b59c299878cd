"""数据质量检查报告 (SPEC §10): the findings of services.checks.run_checks grouped by rule (the national number and
title, never an internal code) with counts and where each stands in the 整改台账 (services.rectification: 无需整改
as decided, everything else still found is 待整改), the open ones by village and rule, then the list. An internal
working paper; reading the ledger, it changes nothing."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from reportlab.platypus import KeepTogether
from sqlalchemy import select

from ...models import Household
from .. import access, checks, rectification
from .base import TOTAL, Document, cn_date
from .common import in_scope, natural_key, region_names

TITLE = "数据质量检查报告"


def make(session, sc, kind: str, year: int, as_of: date):
    access.report_scope(session, sc)
    title = f"{sc.place}{TITLE}（{year} 年度）"
    d = Document(title, sc.township_name)
    allowed = in_scope(session, sc)
    findings = checks.run_checks(session, year, as_of, household_ids=None if allowed is None else sorted(allowed))
    info = {no: (hid, head, vid) for hid, no, head, vid in session.execute(
        select(Household.id, Household.household_no, Household.head_name, Household.village_id))}
    names = region_names(session)
    s = d.story
    households = {f.household_no for f in findings}
    s += d.heading(title, f"检查日期 {cn_date(as_of)}；共 {len(findings)} 条问题，涉及 {len(households)} 户")
    states = rectification.states_of(session, year, findings)

    def state(f) -> str:
        return states.get((rectification.rule_key(f), f.household_no, f.member_id_number or ""), rectification.OPEN)
    by_rule: dict[str, list] = defaultdict(list)
    for f in findings:
        by_rule[rectification.rule_key(f)].append(f)
    rows = [["序号", "规则编号", "问题类型", "问题条数", "涉及户数", "待整改", "无需整改"]]
    ordered = sorted(by_rule.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    for i, (_rk, fs) in enumerate(ordered, 1):
        waived = sum(1 for f in fs if state(f) == rectification.WAIVED)
        rows.append([str(i), fs[0].rule or "", d.p(fs[0].title, "cell"), str(len(fs)),
                     str(len({f.household_no for f in fs})), str(len(fs) - waived), str(waived)])
    waived_all = sum(1 for f in findings if state(f) == rectification.WAIVED)
    rows.append(["", "", "合计", str(len(findings)), str(len(households)), str(len(findings) - waived_all),
                 str(waived_all)])
    w = d.width
    s.append(d.p("一、问题分类统计（规则编号为全国系统疑点规则编号，本程序自有的检查为空）", "h"))
    s.append(d.table(rows, [w * x for x in (0.07, 0.13, 0.38, 0.11, 0.11, 0.1, 0.1)], header=1, padding=1.6,
                     extra=[("ALIGN", (0, 0), (-1, -1), "CENTER"), ("ALIGN", (2, 1), (2, -1), "LEFT"),
                            ("BACKGROUND", (0, -1), (-1, -1), TOTAL)]))
    open_by = Counter()
    hh_by = defaultdict(set)
    about = {}
    for f in findings:
        if state(f) == rectification.OPEN:
            vid = info.get(f.household_no, (None, "", None))[2]
            key = (names.get(vid, ""), rectification.rule_key(f))
            open_by[key] += 1
            hh_by[key].add(f.household_no)
            about[key] = (f.rule or "", f.title)
    vrows = [["序号", "行政村", "规则编号", "问题类型", "待整改条数", "涉及户数"]]
    for i, key in enumerate(sorted(open_by, key=lambda k: (natural_key(k[0]), -open_by[k], k[1])), 1):
        vrows.append([str(i), key[0], about[key][0], d.p(about[key][1], "cell"), str(open_by[key]),
                      str(len(hh_by[key]))])
    if not open_by:
        vrows.append(["", "（没有待整改的问题）"] + [""] * 4)
    s.append(d.p("二、待整改问题按村统计", "h"))
    s.append(d.table(vrows, [w * x for x in (0.07, 0.16, 0.13, 0.4, 0.12, 0.12)], header=1, padding=1.6,
                     extra=[("ALIGN", (0, 0), (-1, -1), "CENTER"), ("ALIGN", (1, 1), (3, -1), "LEFT")]
                     + ([("SPAN", (1, 1), (-1, 1))] if not open_by else [])))
    lrows = [["序号", "户编号", "户主", "行政村", "规则编号", "问题类型", "问题说明", "整改状态"]]
    for i, f in enumerate(findings, 1):
        _, head, vid = info.get(f.household_no, (None, "", None))
        lrows.append([str(i), f.household_no, head or "", names.get(vid, ""), f.rule or "", d.p(f.title, "cell"),
                      d.p(f.message, "cell"), rectification.state_name(state(f))])
    if not findings:
        lrows.append(["", "（未发现问题）"] + [""] * 6)
    s.append(d.p("三、问题清单", "h"))
    s.append(d.table(lrows, [w * x for x in (0.05, 0.2, 0.07, 0.09, 0.1, 0.11, 0.29, 0.09)], header=1,
                     extra=[("ALIGN", (1, 1), (-1, -1), "LEFT")]
                     + ([("SPAN", (1, 1), (-1, 1))] if not findings else [])))
    s.append(KeepTogether([d.gap(3), d.signatures([("检查人：", None), ("审核人：", None), ("日期：", cn_date(as_of))],
                                                  columns=3)]))
    return d, len(households)
