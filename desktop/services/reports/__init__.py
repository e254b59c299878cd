"""Printed documents (SPEC §8): PDF, A4, one embedded CJK font, "第 X 页 共 Y 页", the township's
name, signature and stamp areas. `render()` is what the CLI (`report KIND`) and the 报表打印
panel call; `REPORT_KINDS` (kinds.py) defines every kind once: title, wording, layout, builder
and the scopes it takes.

Which households a document covers: `household_nos` picks households (printed whatever their
status; for a 公示, households whose publicity is under way or was completed: a reprint);
`village` a village by name; neither the whole township. Without `household_nos`, each kind
takes the households it is meant for (ReportKind.covers): e.g. the 信息采集表 the 监测对象, a
公示 the cases now at their 村级公示.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from .. import access
from ..files import written_whole
from .common import scope as make_scope
from .common import year_settings
from .errors import ReportError
from .kinds import REPORT_KINDS, ReportKind, report_kind

__all__ = ["REPORT_KINDS", "ReportError", "ReportKind", "ReportResult", "render", "report_kind"]


@dataclass
class ReportResult:
    kind: str
    title: str
    path: Path
    pages: int
    households: int  # households covered (rows of a list, forms of a per-household document)
    warnings: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # households that could not be laid out (named in warnings)


def render(session: Session, kind: str, out: Path, *, year: int, as_of: date, village: str | None = None,
           household_nos: list[str] | None = None) -> ReportResult:
    """Make the document `kind` of `year` as of `as_of` and write it to `out` (a PDF).

    Raises ReportError (Chinese message) for an unknown kind, village or household number (all
    the missing ones named), a scope the kind does not take, or a year without a monitoring line.
    Characters the font lacks do not fail: they are printed as 〓 and named in `warnings`; a
    household whose pages cannot be laid out is left out and named in `warnings`. The file
    appears only when complete (written beside, then renamed)."""
    access.logged_in(session)
    rk = REPORT_KINDS.get(kind)
    if rk is None:
        raise ReportError(f"未知的报表类型：{kind}（可选：{'、'.join(REPORT_KINDS)}）")
    if village and not rk.takes_village:
        raise ReportError(f"{rk.title}不能按行政村打印")
    if household_nos and not rk.takes_households:
        raise ReportError(f"{rk.title}不能按户打印")
    sc = make_scope(session, village, household_nos)
    year_settings(session, year)
    doc, count = rk.builder(session, sc, kind, year, as_of)
    out = Path(out)
    with written_whole(out) as tmp:
        pages = doc.build(tmp)
    return ReportResult(kind, rk.title, out, pages, count - len(doc.left_out), doc.warnings, doc.left_out)
