"""The exchange workbook's layout (SPEC §9) as data: sheets, columns in export order, header aliases.

Everything Chinese lives in resources/exchange.json; this module loads it once and answers two
questions: which column of ours does a header of a file mean, and which sheet does a sheet name mean.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ...paths import resource_path

SHEETS = ("household", "member", "measure", "income_line")
INCOME_ITEMS = ("A28", "A29", "A30", "A31", "A32", "A35", "A36")
COMPUTED = ("a26", "A33", "A34", "A37", "A38")

# "A28 工资性收入", "A28工资性收入", "A27a、自然灾害类型", "a7.身份证号"
_CODE_PREFIX = re.compile(r"^(A\d{1,2}A?)(?![0-9])[.、:_\-]?(.*)$")
# "工资性收入(A28)" or "(元)" and "(系统生成)" suffixes
_PARENS = re.compile(r"\([^()]*\)")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str
    index: int  # position in the sheet's export order
    required: bool = False
    code: str | None = None  # form field code, A1 … A55
    list: str | None = None  # code list for kind code/codes
    fmt: str | None = None  # computed columns: how the value looks (money, bool)
    width: int = 10
    aliases: tuple[str, ...] = ()

    @property
    def computed(self) -> bool:
        return self.kind == "computed"

    @property
    def display(self) -> str:
        """The header as people read it in messages, with the form code where there is one."""
        return f"{self.code} {self.header}" if self.code else self.header


@dataclass(frozen=True)
class Sheet:
    key: str
    name: str
    required: bool
    columns: tuple[Column, ...]
    aliases: tuple[str, ...]
    freeze_cols: int

    def __post_init__(self):
        object.__setattr__(self, "_by_key", {c.key: c for c in self.columns})

    def column(self, key: str) -> Column:
        return self._by_key[key]

    def index(self, key: str) -> int:
        return self._by_key[key].index


def norm_header(text: object) -> str:
    """Fold full-width forms (NFKC), drop every space and line break, marks of required (*) and
    a trailing colon; upper-case Latin letters."""
    s = "".join(unicodedata.normalize("NFKC", str(text)).split()).upper()
    s = s.strip("*").rstrip(":")
    return s.replace("(必填)", "").replace("必填", "") if "必填" in s else s


def norm_value(text: object) -> str:
    return "".join(unicodedata.normalize("NFKC", str(text)).split()).upper()


@lru_cache(maxsize=1)
def raw() -> dict:
    with open(resource_path("exchange.json"), encoding="utf-8") as f:
        return json.load(f)


@lru_cache(maxsize=1)
def sheets() -> dict[str, Sheet]:
    out = {}
    for s in raw()["sheets"]:
        cols = tuple(Column(key=c["key"], header=c["header"], kind=c["kind"], index=i, required=bool(c.get("required")),
                            code=c.get("code"), list=c.get("list"), fmt=c.get("format"), width=int(c.get("width", 10)),
                            aliases=tuple(c.get("aliases", ())))
                     for i, c in enumerate(s["columns"]))
        out[s["key"]] = Sheet(s["key"], s["name"], bool(s.get("required")), cols, tuple(s.get("aliases", ())),
                              int(s.get("freeze_cols", 1)))
    return out


def sheet(key: str) -> Sheet:
    return sheets()[key]


def setting(key: str) -> str:
    return raw()[key]


class HeaderMatcher:
    """Header text of a file → our column of one sheet."""

    def __init__(self, sh: Sheet):
        self.sheet = sh
        self.by_name: dict[str, Column] = {}
        self.by_code: dict[str, Column] = {}
        for c in sh.columns:
            for name in (c.header, *c.aliases):
                self.by_name.setdefault(norm_header(name), c)
            if c.code:
                self.by_code[c.code.upper()] = c

    def match(self, header: object) -> Column | None:
        if header is None:
            return None
        n = norm_header(header)
        if not n:
            return None
        m = _CODE_PREFIX.match(n)
        if m and m.group(1) in self.by_code:
            return self.by_code[m.group(1)]  # "A28 工资性收入", "A7 居民身份证（残疾人证）号码"
        rest = m.group(2) if m else n
        for candidate in self._candidates(rest):
            c = self.by_name.get(candidate)
            if c is not None:
                return c
        return None

    @staticmethod
    def _candidates(text: str):
        yield text
        bare = _PARENS.sub("", text)
        while bare != _PARENS.sub("", bare):
            bare = _PARENS.sub("", bare)
        if bare != text:
            yield bare
        for t in (text, bare):
            inner = re.fullmatch(r"(.*)\((A\d{1,2}A?)\)", t)
            if inner:
                yield inner.group(1)
        if bare.startswith("是否"):
            yield bare[2:]


def match_sheet(names: list[str]) -> dict[str, str]:
    """Our sheet key → the workbook's sheet name, by name or alias (width, spaces ignored)."""
    found: dict[str, str] = {}
    for key, sh in sheets().items():
        wanted = {norm_header(n) for n in (sh.name, *sh.aliases)}
        for name in names:
            if norm_header(name) in wanted:
                found[key] = name
                break
    return found
