"""The national system's one-row-a-person lists (SPEC §9.1) read into the same Data as our own
layout: rows grouped by 户编号 into households and members, the household's repeated fields checked
for agreement across its rows (and a person on two sheets against himself), the 14 measure columns
turned into measure rows. Also: which unknown columns matter, and which village names are close to
existing ones.
"""

from __future__ import annotations

from functools import lru_cache, partial
from operator import itemgetter

from ..codes import codes
from .layout import national, norm_header, norm_value, person_sheet, sheet
from .plan import NATIONAL, Data
from .reader import Book, Issues, ParsedSheet, Row, parse_sheet
from .values import show
from .writer import Progress, report


def _where(row: int, here: str) -> str:
    other = getattr(row, "sheet", here)
    return f"第 {int(row)} 行" if other == here else f"“{other}”第 {int(row)} 行"


def _shown(v, col=None) -> str:
    """A stored value as the file wrote it: code lists by name (02 → 普通劳动力)."""
    if col is not None and col.kind in ("code", "codes") and col.list and v is not None:
        names = codes(col.list)
        return "、".join(names.name(c, c) for c in v) if isinstance(v, list) else names.name(v, v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, list):
        return "、".join("是" if x is None else str(x) for x in v)
    return show(v)


class _Split:
    """Where each column of the person sheet goes: household values, member values, measure items."""

    def __init__(self):
        P, H, M = person_sheet(), sheet("household"), sheet("member")
        self.P, self.H, self.M = P, H, M
        self.h = [None] * len(H.columns)  # household index → person index
        self.m = [None] * len(M.columns)
        self.x: list[tuple[str, int]] = []  # (category, person index)
        for c in P.columns:
            target, _dot, key = c.key.partition(".")
            if target == "household":
                self.h[H.index(key)] = c.index
            elif target == "member":
                self.m[M.index(key)] = c.index
            elif target == "measure":
                self.x.append((key, c.index))
        self.width_h = len(H.columns)
        # one C call a row: parse_sheet gives a sink's rows one more cell at the end, None, which the places the person
        # sheet lacks read
        blank = len(P.columns)
        self._h = itemgetter(*[blank if i is None else i for i in self.h], *[i for _cat, i in self.x])
        self._m = itemgetter(*[blank if i is None else i for i in self.m])

    def household(self, vals: list) -> list:
        return list(self._h(vals))

    def member(self, vals: list) -> list:
        return list(self._m(vals))


def read_national(book: Book, issues: Issues, progress: Progress | None = None) -> Data | None:
    """Every sheet that holds a one-row-a-person list, as Data; None when no sheet does (the caller then
    reports what our own layout misses). Hidden sheets are read too: the importer asks about them
    (hidden.py) rather than dropping or taking them silently. A person sheet's rows go into households and
    members as they are converted (issue 20: a county's 300,000 person rows are never held at once)."""
    P = person_sheet()
    group = _Group(several=len(book.sheets) > 1)
    parsed: list[tuple[ParsedSheet, Issues]] = []
    for info in book.sheets:
        own = Issues()
        name = info.name

        def tick(n, _name=name):
            report(progress, n, 0, f"正在读取“{_name}”：第 {n:,} 行")

        report(progress, 0, 0, f"正在读取“{name}”")
        ps = parse_sheet(book, name, P, own, tick, merge_duplicates=True,
                         row_numbers=partial(int.__new__, Row.of(name)),  # (no Python __new__ a row)
                         repeated=lambda c: not c.key.startswith("member."), sink=group.sheet)
        if not _person_list(ps):
            continue  # not a person list (a notes sheet, a summary): left alone
        parsed.append((ps, own))
    if not parsed:
        return None
    for own in [own for _ps, own in parsed] + [group.issues]:
        issues.count += own.count - len(own.items)
        for i in own.items:
            issues.add(i.sheet, i.row, i.column, i.value, i.reason)
    data = group.finish(issues)
    data.roles = {ps.name: "全国系统一人一行名单" for ps, _own in parsed}
    return data


def _person_list(ps: ParsedSheet) -> bool:
    return ps.header_row is not None and {"household.household_no", "member.id_number"} <= ps.present


class _Group:
    """Person rows into households and members, a row at a time, sheet after sheet: the household's fields repeated
    on its member rows must agree, a person on two sheets must agree with himself and belong to one household.
    Errors go to its own list, added after the sheets' own (as when the rows were grouped after reading)."""

    def __init__(self, several: bool = True):
        self.several = several  # the file has more than one sheet: a person may be on two
        self.split = split = _Split()
        self.H, self.M, self.MS = split.H, split.M, sheet("measure")
        self.issues = Issues()
        self.read: list[ParsedSheet] = []
        self.data: Data | None = None
        self.has_measures = False
        self.households: dict[str, tuple[int, list]] = {}
        self.persons: dict[str, tuple[str, int, list]] = {}  # ID → (household, row, member values)
        self.i_no = split.P.index("household.household_no")
        self.i_id, self.i_rel, self.i_hno = (self.M.index(k) for k in ("id_number", "relation", "household_no"))

    def sheet(self, ps: ParsedSheet):
        """The row taker of a sheet whose header is read (None when it is no person list)."""
        if not _person_list(ps):
            return None
        H, M = self.H, self.M
        if self.data is None:
            self.hh, self.mem = ParsedSheet(H, ps.name, ps.header_row), ParsedSheet(M, ps.name, ps.header_row)
            self.data = Data({"household": self.hh, "member": self.mem}, layout=NATIONAL)
            self.first = ps
        hh, mem = self.hh, self.mem
        self.read.append(ps)
        for key in ps.present:
            target, _dot, col = key.partition(".")
            header = ps.headers.get(key, "")
            if target == "household":
                hh.present.add(col)
                hh.headers.setdefault(col, header)
            elif target == "member":
                mem.present.add(col)
                mem.headers.setdefault(col, header)
            elif target == "measure":
                self.has_measures = True
        mem.present.add("household_no")
        mem.headers["household_no"] = hh.headers.get("household_no", "户编号")
        self.headers_h = [(hh.headers.get(c.key, c.header), c) for c in H.columns] + \
                         [(self.first.headers.get(f"measure.{cat}", cat), None) for cat, _i in self.split.x]
        # a column read the other way round (是否解决安全饮用水 is the opposite of A25): its errors show the file's word
        self.flipped_h = {k for k, (header, c) in enumerate(self.headers_h) if c is not None and any(
            a.convert == "not" and norm_header(a.name) == norm_header(header) for a in c.more)}
        name = ps.name
        self.agreed = None
        return lambda row, vals, same: self.row(name, row, vals, same)

    def row(self, here: str, row: int, vals: list, same: bool = False) -> None:
        """`same`: the row's household cells are those of the row taken last (parse_sheet says so): when that row's
        household is this one and agreed with it, so does this row, and its household values are not split out and
        compared again."""
        no = vals[self.i_no]
        if no is None:
            return
        split, M, issues, mem = self.split, self.M, self.issues, self.mem
        if not (same and self.agreed == no):
            hv = split.household(vals)
            ref = self.households.get(no)
            if ref is None:
                self.households[no] = (row, hv)
                self.agreed = no
            elif ref[1] != hv:
                before = issues.count
                _agree(no, ref, row, hv, self.headers_h, here, issues, self.flipped_h)
                self.agreed = no if issues.count == before else None
            else:
                self.agreed = no
        mv = split.member(vals)
        number = mv[self.i_id]
        if number is not None:
            seen = self.persons.get(number)
            if seen is not None and getattr(seen[1], "sheet", None) != getattr(row, "sheet", None):
                if seen[0] != no:
                    issues.add(here, row, mem.header("id_number"), number,
                               f"同一人在{_where(seen[1], here)}属于户编号 {seen[0]}，这里属于 {no}："
                               "一人不能在两户")
                elif seen[2] != mv:
                    diff = [M.columns[k] for k in range(len(mv)) if mv[k] is not None and seen[2][k] is not None
                            and mv[k] != seen[2][k]]
                    if diff:
                        c = diff[0]
                        issues.add(here, row, mem.header(c.key), _shown(mv[c.index], c),
                                   f"同一人在{_where(seen[1], here)}为“{_shown(seen[2][c.index], c)}”，"
                                   "两处不一致")
                    for k in range(len(mv)):
                        if seen[2][k] is None:
                            seen[2][k] = mv[k]
                return  # the same person on another sheet: one member
            if self.several:  # (one sheet: the same number twice is _check_file's error, not a second sheet)
                self.persons.setdefault(number, (no, row, mv))
        mv[self.i_hno] = None
        self.data.members[no].append((row, mv))

    def finish(self, issues: Issues) -> Data:
        data, hh, MS = self.data, self.hh, self.MS
        data.read = list(self.read)
        width = self.split.width_h
        i_cat, i_item = MS.index("category"), MS.index("item")
        i_rel = self.i_rel
        n_items = len(self.split.x)
        for no, (row, hv) in self.households.items():
            data.households[no] = (row, hv)
            if hv[width:].count(None) < n_items:  # (most households have none of the 14 measure columns)
                for k, (cat, _i) in enumerate(self.split.x):
                    for item in hv[width + k] or ():
                        vals = [None] * len(MS.columns)
                        vals[i_cat], vals[i_item] = cat, item
                        data.measures[no].append((row, vals))
            del hv[width:]  # the measure items, read above: cut in place, not copied (100,000 lists at county scale)
            rows = data.members.get(no, ())
            if rows and not any(mv[i_rel] == "01" for _r, mv in rows):
                issues.add(hh.name, row, hh.header("household_no"), no,
                           "该户的成员中没有户主（与户主关系为“户主”）：每户须有户主一人")
        self.households = self.persons = {}
        if self.has_measures:
            ms = ParsedSheet(MS, self.first.name, self.first.header_row)
            ms.present |= {"household_no", "category", "item"}
            ms.headers.update({"household_no": hh.header("household_no"), "category": "帮扶措施", "item": "帮扶措施"})
            data.sheets["measure"] = ms
        from .importer import derive
        derive(data, issues)
        return data


def _agree(no: str, ref: tuple[int, list], row: int, hv: list, headers: list[tuple], here: str,
           issues: Issues, flipped: set[int] = frozenset()) -> None:
    """The household's fields repeated on another member row: blank fills in, a difference is an error, naming both
    values as the file wrote them (`flipped`: columns whose 是/否 the register stores the other way round)."""
    ref_row, ref_vals = ref
    for k, b in enumerate(hv):
        if b is None:
            continue
        a = ref_vals[k]
        if a is None:
            ref_vals[k] = b
        elif a != b:
            header, col = headers[k]
            if k in flipped and isinstance(a, bool) and isinstance(b, bool):
                a, b = not a, not b
            issues.add(here, row, header, _shown(b, col),
                       f"同一户（户编号 {no}）的{_where(ref_row, here)}为“{_shown(a, col)}”：同一户各行的户信息应一致")


# ---------------------------------------------------------------- questions

@lru_cache(maxsize=1)
def _matter_words() -> tuple[str, ...]:
    return tuple(national()["matters"])


def matters(header: str) -> bool:
    """An unknown column that looks like status, 户类型, category, income or risk: not to be dropped
    silently (SPEC §9.1)."""
    text = norm_value(header)
    return any(w in text for w in _matter_words())


_SUFFIXES = ("村民委员会", "村委会", "居民委员会", "居委会", "社区", "村")


def _stem(name: str) -> str:
    s = norm_value(name)
    stripped = True
    while stripped:
        stripped = False
        for suffix in _SUFFIXES:
            if s.endswith(suffix) and len(s) > len(suffix):
                s, stripped = s[: -len(suffix)], True
                break
    return s


def _one_off(a: str, b: str) -> bool:
    """Edit distance exactly 1 (one character changed, added or dropped)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    if len(a) > len(b):
        a, b = b, a
    for i in range(len(b)):
        if a == b[:i] + b[i + 1:]:
            return True
    return False


def close_village(name: str, existing: dict[str, str]) -> str | None:
    """An existing village this new name is probably meant to be (杨平村 / 杨坪村, 杨平村委会 / 杨平村),
    or None. `existing`: normalised name → name."""
    if norm_value(name) in existing:
        return None
    stem = _stem(name)
    for key, shown in existing.items():
        other = _stem(key)
        if stem == other or (min(len(stem), len(other)) >= 2 and _one_off(stem, other)):
            return shown
    return None

