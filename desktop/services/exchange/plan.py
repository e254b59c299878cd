"""What a checked file says (Data) and how it lands in the database (Plan): shared by the importer,
which builds them, and the writer, which carries them out. Kept apart so neither imports the other."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .reader import ParsedSheet, SheetInfo

PROGRAM, NATIONAL = "program", "national"
SCAN_ALL_FROM = 5000  # people in a file from which every living member is read, rather than looked up by number


@dataclass
class Data:
    """What the file says, by household number (values in each sheet's column order)."""

    sheets: dict[str, ParsedSheet]
    households: dict[str, tuple[int, list]] = field(default_factory=dict)
    members: dict[str, list[tuple[int, list]]] = field(default_factory=lambda: defaultdict(list))
    measures: dict[str, list[tuple[int, list]]] = field(default_factory=lambda: defaultdict(list))
    lines: dict[str, list[tuple[int, list]]] = field(default_factory=lambda: defaultdict(list))
    layout: str = PROGRAM  # program (SPEC §9) or national (SPEC §9.1)
    read: list[ParsedSheet] = field(default_factory=list)  # the file's sheets as read (national: each person sheet)
    book_sheets: list[SheetInfo] = field(default_factory=list)  # every sheet of the file, hidden ones too
    roles: dict[str, str] = field(default_factory=dict)  # sheet name → what it was read as (户信息, 一人一行名单 …)
    passed_over: list[str] = field(default_factory=list)  # hidden sheets not read: a visible one has their role
    derived: list[str] = field(default_factory=list)  # notes on facts worked out from other columns (A17 from A26)
    noted: set[str] = field(default_factory=set)  # households a note names (derived): never skipped next time
    # A re-import that left out the households unchanged since the last one (fingerprint.py): their stored state by
    # number, every number of the file in its order, and the file's fingerprints (to store after the import)
    unchanged: dict = field(default_factory=dict)
    order: list[str] | None = None
    scan: object = None

    def skipped(self, count: str) -> int:
        """A count (members, measures, lines, income) summed over the households left out as unchanged: what they
        add to the preview's and the result's figures."""
        return sum(getattr(st, count) for st in self.unchanged.values())


@dataclass
class Plan:
    """How the file lands in the database as it is now."""

    township_id: int
    villages: dict[str, int]  # normalised name → id (existing)
    groups: dict[tuple[int, str], int]  # (village id, normalised name) → id
    existing: dict[str, int]  # household number → id, for the file's households that exist
    new: list[str]
    villages_to_create: list[str]
    groups_to_create: list[tuple[str, str]]
    members_new: int = 0
    members_updated: int = 0
    close_villages: list[tuple[str, str]] = field(default_factory=list)  # (name in the file, existing name)


def living_elsewhere(session, data: Data, issues) -> None:
    """A person the file lists as a living member of one household who is a living member of another
    household in the database: an error naming both (a move between households is an event with a date,
    recorded in the register — never a side effect of an import)."""
    from sqlalchemy import select

    from ...models import Household, Member
    from ..idnumber import normalize_id

    if session.execute(select(Member.id).where(Member.status == "normal").limit(1)).first() is None:
        return  # nobody lives in any household of the database (a first import into an empty register)
    mem = data.sheets["member"]
    M = mem.sheet
    i_id, i_status = M.index("id_number"), M.index("status")
    wanted: dict[str, tuple[str, int]] = {}  # ID → (household in the file, row)
    for no, rows in data.members.items():
        for row_no, vals in rows:
            number = vals[i_id]
            if number is not None and vals[i_status] in (None, "normal"):
                wanted.setdefault(number, (no, row_no))
    if not wanted:
        return
    q = (select(Member.id_number, Member.name, Household.household_no)
         .join(Household, Household.id == Member.household_id).where(Member.status == "normal"))
    found: list[tuple[str, str, str]] = []  # (number, name, household) of the living members the file also has

    def take(rows) -> None:
        for number, name, no in rows:
            n = number if number in wanted else normalize_id(number)  # (as stored it is mostly already canonical)
            in_file = wanted.get(n)
            if in_file is not None and in_file[0] != no:  # in the same household: the file updates him
                found.append((n, name, no))

    if len(wanted) > SCAN_ALL_FROM:
        take(session.execute(q))
    else:
        numbers = list(wanted)
        numbers += [n.lower() for n in numbers if n.endswith("X")]
        for start in range(0, len(numbers), 900):
            take(session.execute(q.where(Member.id_number.in_(numbers[start:start + 900]))))
    for number, name, no in found:
        in_file = wanted[number]
        issues.add(mem.name, in_file[1], mem.header("id_number"), number,
                   f"此人（数据库中为“{name}”）是户编号 {no} 的在册成员，文件却把他列在户编号 {in_file[0]} 中："
                   "一人不能在两户；如确已迁到该户，请先在“户籍登记”中为原户登记迁出、为该户登记迁入，"
                   "或在文件中删去此人")


class StoredMeasures:
    """A household's measures as an import matches the file's rows to them: by (category, item, start date); a file
    row without a start date (the national list never has one) by (category, item) alone — the first stored one,
    whatever its dates. A blank cell keeps what is stored (SPEC §9.1): the county's list re-imported into the
    register it came from must not add a dateless copy of every measure."""

    def __init__(self, stored, key):
        self.exact: dict[tuple, object] = {}
        self.loose: dict[tuple, object] = {}
        for m in stored:
            self.add(key(m), m)

    def add(self, key: tuple, row) -> None:
        self.exact[key] = row
        self.loose.setdefault(key[:2], row)

    def find(self, key: tuple):
        row = self.exact.get(key)
        if row is None and key[2] is None:
            row = self.loose.get(key[:2])
        return row
