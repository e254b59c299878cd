"""The registry of printed documents: one ReportKind per KIND of SPEC §11, in the order of §8.

Everything that differs between documents is here, read by the command line (`report KIND`),
the 报表打印 panel and the tests: the key, the Chinese title and wording (resources/reports.json),
whether it is one document per household, landscape or not, the function that builds it, what
scopes it takes (--village, --household) and, for the 公示 notices, which recorded procedure
it announces. Adding a document: write its module with `make()`, add a line below and its
wording to resources/reports.json; the check at import time refuses a kind without either.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Callable

from sqlalchemy.orm import Session

from ...paths import resource_path

if TYPE_CHECKING:
    from .base import Document
    from .common import Scope

Builder = Callable[[Session, "Scope", str, int, date], tuple["Document", int]]


@dataclass(frozen=True)
class ReportKind:
    key: str
    title: str
    description: str  # one line in the 报表打印 list
    covers: str  # who is covered when no household is listed
    per_household: bool  # one document per household, pages numbered within each household
    landscape: bool
    module: str  # the module beside this one whose make() builds it, imported when first printed (reportlab is slow
    # to load, and the command line names every kind in its help)
    takes_village: bool = True
    takes_households: bool = True
    procedure: str | None = None  # the recorded procedure a 公示 announces (procedures.json key)
    # What the 报表打印 panel offers (the command line takes every scope the kind takes): a batch of
    # per-household forms by village or listed households, never the whole township by mistake;
    # listed households for per-household documents and for reprinting a notice.
    township_in_window: bool = True
    excel: bool = False  # also exported as a workbook (the 汇总表)

    @property
    def builder(self) -> Builder:
        return importlib.import_module(f".{self.module}", __package__).make

    @property
    def notice(self) -> bool:
        return self.procedure is not None

    @property
    def households_in_window(self) -> bool:
        return self.takes_households and (self.per_household or self.notice)


def _wording() -> dict[str, dict]:
    with open(resource_path("reports.json"), encoding="utf-8") as f:
        return json.load(f)["kinds"]


def _registry() -> dict[str, ReportKind]:
    words = _wording()

    def kind(key: str, **kw) -> ReportKind:
        w = words[key]
        return ReportKind(key, w["title"], w["description"], w["covers"], **kw)
    per = dict(per_household=True, township_in_window=False)
    kinds = [
        kind("collection-form", landscape=True, module="collection_form", **per),
        kind("income-sheet", landscape=False, module="income_sheet", **per),
        kind("policy-list", landscape=True, module="policy_list", **per),
        kind("notice-identify", per_household=False, landscape=False, module="notices", procedure="identify"),
        kind("notice-remove", per_household=False, landscape=False, module="notices", procedure="removal"),
        kind("notice-policy", per_household=False, landscape=False, module="notices",
             procedure="policy_exclusion"),
        kind("summary", per_household=False, landscape=True, module="summary", excel=True),
        kind("card", landscape=False, module="card", **per),
        kind("revisit", landscape=False, module="revisit", **per),
        kind("screening", per_household=False, landscape=True, module="screening"),
        kind("quality", per_household=False, landscape=False, module="quality"),
        kind("rectification", per_household=False, landscape=True, module="rectification"),
    ]
    missing = set(words) - {k.key for k in kinds}
    if missing:
        raise RuntimeError(f"resources/reports.json names documents without a builder: {sorted(missing)}")
    return {k.key: k for k in kinds}


REPORT_KINDS: dict[str, ReportKind] = _registry()


def report_kind(key: str) -> ReportKind | None:
    return REPORT_KINDS.get(key)
