"""The registry of printed documents: one ReportKind per KIND of SPEC §11, in the order of §8.

Everything that differs between documents is here, read by the command line (`report KIND`),
the 报表打印 panel and the tests: the key, the Chinese title and wording (resources/reports.json),
whether it is one document per household, landscape or not, the function that builds it, what
scopes it takes (--village, --household) and, for the 公示 notices, which recorded procedure
it announces. Adding a document: write its module with `make()`, add a line below and its
wording to resources/reports.json; the check at import time refuses a kind without either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Callable

from sqlalchemy.orm import Session

from ...paths import resource_path
from . import (
    card,
    collection_form,
    income_sheet,
    notices,
    policy_list,
    quality,
    rectification,
    revisit,
    screening,
    summary,
)
from .base import Document
from .common import Scope

Builder = Callable[[Session, Scope, str, int, date], tuple[Document, int]]


@dataclass(frozen=True)
class ReportKind:
    key: str
    title: str
    description: str  # one line in the 报表打印 list
    covers: str  # who is covered when no household is listed
    per_household: bool  # one document per household, pages numbered within each household
    landscape: bool
    builder: Builder
    takes_village: bool = True
    takes_households: bool = True
    procedure: str | None = None  # the recorded procedure a 公示 announces (procedures.json key)
    # What the 报表打印 panel offers (the command line takes every scope the kind takes): a batch of
    # per-household forms by village or listed households, never the whole township by mistake;
    # listed households for per-household documents and for reprinting a notice.
    township_in_window: bool = True
    excel: bool = False  # also exported as a workbook (the 汇总表)

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
        kind("collection-form", landscape=True, builder=collection_form.make, **per),
        kind("income-sheet", landscape=False, builder=income_sheet.make, **per),
        kind("policy-list", landscape=True, builder=policy_list.make, **per),
        kind("notice-identify", per_household=False, landscape=False, builder=notices.make, procedure="identify"),
        kind("notice-remove", per_household=False, landscape=False, builder=notices.make, procedure="removal"),
        kind("notice-policy", per_household=False, landscape=False, builder=notices.make,
             procedure="policy_exclusion"),
        kind("summary", per_household=False, landscape=True, builder=summary.make, excel=True),
        kind("card", landscape=False, builder=card.make, **per),
        kind("revisit", landscape=False, builder=revisit.make, **per),
        kind("screening", per_household=False, landscape=True, builder=screening.make),
        kind("quality", per_household=False, landscape=False, builder=quality.make),
        kind("rectification", per_household=False, landscape=True, builder=rectification.make),
    ]
    missing = set(words) - {k.key for k in kinds}
    if missing:
        raise RuntimeError(f"resources/reports.json names documents without a builder: {sorted(missing)}")
    return {k.key: k for k in kinds}


REPORT_KINDS: dict[str, ReportKind] = _registry()


def report_kind(key: str) -> ReportKind | None:
    return REPORT_KINDS.get(key)
