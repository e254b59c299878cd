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
class Alias:
    """A header a column is also known by, and how that header's values read (SPEC §9.1: the
    national names of some facts carry other values, e.g. 是否解决安全饮用水 is the opposite of A25)."""

    name: str
    convert: str | None = None  # not, household_type, yyyymm
    append: bool = False  # several columns fill one list (致贫/返贫风险1 … 5)


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
    virtual: bool = False  # read on import only (风险是否已消除, a person's 公益性岗位): not a column we write
    more: tuple[Alias, ...] = ()  # headers with their own reading of the values

    @property
    def computed(self) -> bool:
        return self.kind == "computed"

    @property
    def skipped(self) -> bool:
        """A column we know and leave out (computed, or a national column the register has no place for)."""
        return self.kind in ("computed", "skip")

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
    """A value as compared: NFKC, no white space, upper case. Each distinct text is worked out once (_norm_text): a
    village, group or township name comes again on every household's row of a file."""
    return _norm_text(text if text.__class__ is str else str(text))


@lru_cache(maxsize=8192)
def _norm_text(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


@lru_cache(maxsize=1)
def raw() -> dict:
    with open(resource_path("exchange.json"), encoding="utf-8") as f:
        return json.load(f)


@lru_cache(maxsize=1)
def sheets() -> dict[str, Sheet]:
    """The program's own layout (SPEC §9). Each column also answers to the national names that
    fill it (SPEC §9.1), so that a clerk's half-reshaped sheet reads the same as a national one."""
    national: dict[tuple[str, str], list[Alias]] = {}
    for col in national_columns():
        if col.sheet in ("household", "member"):
            for alias in col.names:
                national.setdefault((col.sheet, col.key), []).append(alias)
    out = {}
    for s in raw()["sheets"]:
        cols = tuple(Column(key=c["key"], header=c["header"], kind=c["kind"], index=i, required=bool(c.get("required")),
                            code=c.get("code"), list=c.get("list"), fmt=c.get("format"), width=int(c.get("width", 10)),
                            aliases=tuple(c.get("aliases", ())), virtual=bool(c.get("virtual")),
                            more=tuple(national.get((s["key"], c["key"]), ())))
                     for i, c in enumerate(s["columns"]))
        out[s["key"]] = Sheet(s["key"], s["name"], bool(s.get("required")), cols, tuple(s.get("aliases", ())),
                              int(s.get("freeze_cols", 1)))
    return out


# ---------------------------------------------------------------- the national layout (SPEC §9.1)

@dataclass(frozen=True)
class NationalColumn:
    """One column of the national one-row-a-person layout."""

    header: str
    group: str
    sheet: str | None  # household, member, measure; None: known, no place in the register
    key: str | None  # column key of that sheet, or the measure category code (A39 …)
    names: tuple[Alias, ...]  # the header and its aliases, each with how its values read
    why: str | None = None  # why a column without a place is left out


@lru_cache(maxsize=1)
def national() -> dict:
    return raw()["national"]


@lru_cache(maxsize=1)
def national_columns() -> tuple[NationalColumn, ...]:
    out = []
    for group in national()["groups"]:
        for c in group["columns"]:
            sheet_key, _dot, key = (c.get("to") or "").partition(".")
            convert, append = c.get("convert"), c.get("mode") == "append"
            names = tuple(Alias(n, convert, append) for n in (c["header"], *c.get("aliases", ())))
            out.append(NationalColumn(c["header"], group["name"], sheet_key or None, key or None, names, c.get("why")))
    return tuple(out)


PERSON_SHEETS = ("household", "member")


@lru_cache(maxsize=1)
def person_sheet() -> Sheet:
    """The national layout read as one sheet: every household column (keys "household.…"), every
    member column ("member.…"), the 14 measure columns ("measure.A39" …) and the national columns
    the register keeps no place for ("skip.…"). Names are matched national first, then ours."""
    cols: list[Column] = []
    by_key: dict[str, dict] = {}
    extra: dict[str, list[Alias]] = {}
    for nc in national_columns():
        if nc.sheet is None:
            key = f"skip.{nc.header}"
            by_key[key] = dict(header=nc.header, kind="skip")
        elif nc.sheet == "measure":
            key = f"measure.{nc.key}"
            by_key[key] = dict(header=nc.header, kind="measure_items", list=nc.key)
        else:
            key = f"{nc.sheet}.{nc.key}"
        extra.setdefault(key, []).extend(nc.names)
    required = {"household.household_no", "household.village", "member.name", "member.id_number", "member.relation"}
    for sh_key in ("member", "household"):
        for c in sheets()[sh_key].columns:
            key = f"{sh_key}.{c.key}"
            if key == "member.household_no":
                continue
            by_key.setdefault(key, dict(header=c.header, kind=c.kind, list=c.list, code=c.code, fmt=c.fmt,
                                        aliases=c.aliases, virtual=c.virtual))
    for i, (key, c) in enumerate(by_key.items()):
        names = tuple(extra.get(key, ()))
        cols.append(Column(key=key, header=names[0].name if names else c["header"], kind=c["kind"], index=i,
                           required=key in required, code=c.get("code"), list=c.get("list"), fmt=c.get("fmt"),
                           aliases=(c["header"], *c.get("aliases", ())) if names else tuple(c.get("aliases", ())),
                           more=names, virtual=bool(c.get("virtual"))))
    return Sheet("person", national()["title"], True, tuple(cols), (), 1)


def sheet(key: str) -> Sheet:
    return sheets()[key]


def setting(key: str) -> str:
    return raw()[key]


class HeaderMatcher:
    """Header text of a file → our column of one sheet (and the alias it matched by)."""

    def __init__(self, sh: Sheet):
        self.sheet = sh
        self.by_name: dict[str, tuple[Column, Alias | None]] = {}
        self.by_code: dict[str, Column] = {}
        national_first = sh.key == "person"
        for c in sh.columns:
            if national_first:
                for alias in c.more:
                    self.by_name.setdefault(norm_header(alias.name), (c, alias))
        for c in sh.columns:
            for name in (c.header, *c.aliases):
                self.by_name.setdefault(norm_header(name), (c, None))
            if c.code and not c.key.startswith("member.household_no"):
                self.by_code.setdefault(c.code.upper(), c)
        if not national_first:
            for c in sh.columns:
                for alias in c.more:
                    self.by_name.setdefault(norm_header(alias.name), (c, alias))

    def match(self, header: object) -> Column | None:
        found = self.match_alias(header)
        return found[0] if found else None

    def match_alias(self, header: object) -> tuple[Column, Alias | None] | None:
        if header is None:
            return None
        n = norm_header(header)
        if not n:
            return None
        m = _CODE_PREFIX.match(n)
        if m and m.group(1) in self.by_code:
            return self.by_code[m.group(1)], None  # "A28 工资性收入", "A7 居民身份证（残疾人证）号码"
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
