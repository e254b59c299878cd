"""数据质量问题整改清单: the 整改台账's findings still 待整改, one part a village (its own pages, numbered within
the village) to hand to the village: the count by rule, then each finding with the household, the member, what was
found and since when, and a blank column for what was done; signature lines for the village.

It prints the ledger as the latest recorded check left it (services.rectification), never a fresh run: what the
village is asked to correct is what the township recorded and can follow up.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether

from .. import access, rectification
from .base import TOTAL, Document, Page, cn_date, iso
from .common import in_scope, natural_key, village_list

TITLE = "数据质量问题整改清单"


def make(session, sc, kind: str, year: int, as_of: date):
    access.report_scope(session, sc)
    d = Document(f"{sc.place}{TITLE}（{year} 年度）", sc.township_name,
                 Page(landscape=True, left=12 * mm, right=12 * mm, top=16 * mm, bottom=14 * mm))
    allowed = in_scope(session, sc)
    rows = rectification.entries(session, year, states=[rectification.OPEN],
                                 household_ids=None if allowed is None else sorted(allowed))
    order = {vid: i for i, (vid, _, _) in enumerate(village_list(session, sc))}
    by_village: dict[int | None, list[rectification.Entry]] = defaultdict(list)
    for e in sorted(rows, key=lambda e: (order.get(e.village_id, 10**6), natural_key(e.village), e.household_no,
                                         e.rule_key, e.member_id_number or "")):
        by_village[e.village_id].append(e)
    last = max((e.last_found_on for e in rows), default=None)
    for entries in by_village.values():
        village = entries[0].village or "（未分村）"
        d.begin(village, f"{village}整改清单")
        _village(d, sc, year, as_of, village, entries, last)
    d.end()
    if not rows:
        d.story += d.heading(d.title)
        d.story.append(d.p("（整改台账中没有待整改的问题：请先在“数据质量”页检查，检查结果会记入整改台账）"))
        d.warnings.append("没有待整改的问题")
    return d, len({e.household_id for e in rows})


def _village(d: Document, sc, year: int, as_of: date, village: str, entries: list, last: date | None) -> None:
    s = d.story
    title = f"{sc.township.name}{village}{TITLE}（{year} 年度）"
    households = len({e.household_id for e in entries})
    s += d.heading(title, f"待整改问题 {len(entries)} 条，涉及 {households} 户；依据整改台账（最近一次检查 "
                          f"{iso(last) if last else '—'}），打印日期 {cn_date(as_of)}")
    w = d.width
    count = Counter(e.rule_key for e in entries)
    hh = defaultdict(set)
    about = {}
    for e in entries:
        hh[e.rule_key].add(e.household_id)
        about[e.rule_key] = (e.rule or "", e.title)
    summary = [["序号", "规则编号", "问题", "条数", "户数"]]
    for i, (rk, n) in enumerate(sorted(count.items(), key=lambda kv: (-kv[1], kv[0])), 1):
        rule, what = about[rk]
        summary.append([str(i), rule, d.p(what, "cell"), str(n), str(len(hh[rk]))])
    summary.append(["", "", "合计", str(len(entries)), str(households)])
    s.append(d.p("一、按规则统计", "h"))
    s.append(d.table(summary, [w * x for x in (0.07, 0.15, 0.52, 0.13, 0.13)], header=1, padding=1.6,
                     extra=[("ALIGN", (0, 0), (-1, -1), "CENTER"), ("ALIGN", (2, 1), (2, -1), "LEFT"),
                            ("BACKGROUND", (0, -1), (-1, -1), TOTAL)]))
    lrows = [["序号", "户编号", "户主", "成员", "规则编号", "问题", "问题说明", "首次发现", "整改情况"]]
    for i, e in enumerate(entries, 1):
        member = e.member_name or (e.member_id_number or "")
        lrows.append([str(i), e.household_no, e.head_name, member, e.rule or "", d.p(e.title, "cell"),
                      d.p(e.message, "cell"), iso(e.first_found_on), ""])
    s.append(d.p("二、问题清单（整改后在“整改情况”栏写明怎样改正；认为无需整改的写明理由）", "h"))
    s.append(d.table(lrows, [w * x for x in (0.045, 0.125, 0.065, 0.065, 0.075, 0.14, 0.3, 0.075, 0.11)],
                     header=1, extra=[("ALIGN", (1, 1), (-1, -1), "LEFT")]))
    s.append(KeepTogether([d.gap(3), d.signatures([("村负责人：", None), ("填表人：", None), ("日期：", None)],
                                                  columns=3)]))
