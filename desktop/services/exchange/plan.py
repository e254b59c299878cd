"""What a checked file says (Data) and how it lands in the database (Plan): shared by the importer,
which builds them, and the writer, which carries them out. Kept apart so neither imports the other."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .reader import ParsedSheet

PROGRAM, NATIONAL = "program", "national"


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
