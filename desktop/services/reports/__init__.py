"""Printed documents (SPEC §8): PDF, A4, one embedded CJK font, "第 X 页 共 Y 页", the township's
name, signature and stamp areas. `render()` is what the CLI (`report KIND`) and the 报表打印
panel call; `KINDS` lists the kinds of SPEC §11 in order with their Chinese titles.

Which households a document covers: `household_nos` picks households (printed whatever their
status); `village` a village by name; neither the whole township. Without `household_nos`, the
per-household documents take the households they are meant for (DEFAULT_SCOPE): e.g. the 信息
采集表 the 监测对象, the 回访表 the households whose risk is removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from .. import access
from ..files import written_whole
from .base import ReportError
from .common import scope as make_scope
from .common import year_settings

KINDS: dict[str, str] = {
    "collection-form": "防止返贫监测对象信息采集表",
    "income-sheet": "收入核算明细表",
    "policy-list": "到户政策享受清单",
    "notice-identify": "防止返贫监测对象识别公示",
    "notice-remove": "防止返贫监测对象风险消除公示",
    "notice-policy": "脱贫不再享受政策人口认定公示",
    "summary": "防止返贫监测帮扶汇总表",
    "card": "防止返贫监测对象明白卡",
    "revisit": "防止返贫监测对象风险稳定消除回访表",
    "screening": "防止返贫监测帮扶集中排查情况汇总",
    "quality": "数据质量检查报告",
}

# Who is covered when no households are listed (for the panel's hint and the docs).
DEFAULT_SCOPE: dict[str, str] = {
    "collection-form": "监测对象（认定中、监测中、消除中、已消除风险、绿色通道）",
    "income-sheet": "脱贫户和监测对象",
    "policy-list": "脱贫户和监测对象",
    "notice-identify": "本年度进入或完成村级公示的认定，及本年识别而无流程记录的户",
    "notice-remove": "本年度进入或完成村级公示的风险消除，及本年消除而无流程记录的户",
    "notice-policy": "符合脱贫不再享受政策认定标准且无例外情形的脱贫户",
    "summary": "全部户（按行政村汇总）",
    "card": "未消除风险的监测对象（监测中、消除中、绿色通道）",
    "revisit": "已消除风险的户",
    "screening": "全部户",
    "quality": "全部户",
}

PER_HOUSEHOLD = frozenset({"collection-form", "income-sheet", "policy-list", "card", "revisit"})

__all__ = ["DEFAULT_SCOPE", "KINDS", "PER_HOUSEHOLD", "ReportError", "ReportResult", "render"]


@dataclass
class ReportResult:
    kind: str
    title: str
    path: Path
    pages: int
    households: int  # households covered (rows of a list, forms of a per-household document)
    warnings: list[str] = field(default_factory=list)


def _module(kind: str):
    from . import card, collection_form, income_sheet, notices, policy_list, quality, revisit, screening, summary
    return {"collection-form": collection_form, "income-sheet": income_sheet, "policy-list": policy_list,
            "notice-identify": notices, "notice-remove": notices, "notice-policy": notices, "summary": summary,
            "card": card, "revisit": revisit, "screening": screening, "quality": quality}[kind]


def render(session: Session, kind: str, out: Path, *, year: int, as_of: date, village: str | None = None,
           household_nos: list[str] | None = None) -> ReportResult:
    """Make the document `kind` of `year` as of `as_of` and write it to `out` (a PDF).

    Raises ReportError (Chinese message) for an unknown kind, village or household number, or a
    year without a monitoring line. Characters the font lacks do not fail: they are printed as 〓
    and named in `warnings`. The file appears only when complete (written beside, then renamed)."""
    access.logged_in(session)
    if kind not in KINDS:
        raise ReportError(f"未知的报表类型：{kind}（可选：{'、'.join(KINDS)}）")
    sc = make_scope(session, village, household_nos)
    year_settings(session, year)
    doc, count = _module(kind).make(session, sc, kind, year, as_of)
    out = Path(out)
    with written_whole(out) as tmp:
        pages = doc.build(tmp)
    return ReportResult(kind, doc.title, out, pages, count, doc.warnings)
