"""Code lists of the collection form, loaded once from resources/codes.json."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from ..paths import resource_path


@dataclass(frozen=True)
class Code:
    code: str
    name: str
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def flag(self, key: str) -> bool:
        return bool(self.extra.get(key))


class CodeList:
    """One list: ordered codes with names, lookup both ways, aliases for import."""

    def __init__(self, key: str, entries: list[dict]):
        self.key = key
        self.items = [Code(e["code"], e["name"], {k: v for k, v in e.items() if k not in ("code", "name")})
                      for e in entries]
        self._by_code = {c.code: c for c in self.items}
        self._by_name: dict[str, Code] = {}
        self._flagged: dict[str, frozenset[str]] = {}
        for c in self.items:
            self._by_name[normalize(c.name)] = c
            for alias in c.extra.get("aliases", []):
                self._by_name[normalize(alias)] = c

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str | None) -> Code | None:
        return self._by_code.get(code) if code is not None else None

    def name(self, code: str | None, default: str = "") -> str:
        c = self.get(code)
        return c.name if c else default

    def code_of(self, name: str | None) -> str | None:
        """The code for a shown name (or alias), tolerant of spaces and full-width forms."""
        if name is None:
            return None
        c = self._by_name.get(normalize(name))
        return c.code if c else None

    def names(self) -> list[str]:
        return [c.name for c in self.items]

    def codes_with(self, flag: str) -> frozenset[str]:
        """Codes whose entry has the flag set (cached: rules ask this for every member)."""
        found = self._flagged.get(flag)
        if found is None:
            found = self._flagged[flag] = frozenset(c.code for c in self.items if c.flag(flag))
        return found


def normalize(text: str) -> str:
    """NFKC folds full-width letters, digits and brackets; spaces are dropped."""
    return "".join(unicodedata.normalize("NFKC", str(text)).split())


@lru_cache(maxsize=1)
def _raw() -> dict:
    with open(resource_path("codes.json"), encoding="utf-8") as f:
        return json.load(f)


@lru_cache(maxsize=None)
def codes(key: str) -> CodeList:
    raw = _raw()
    if key not in raw or not isinstance(raw[key], list):
        raise KeyError(f"no code list {key!r} in resources/codes.json")
    return CodeList(key, raw[key])


def measure_catalog() -> list[dict]:
    """A39–A52: [{code, name, items: [{name, developmental}]}]."""
    return _raw()["measure"]


def income_items() -> list[dict]:
    """A28–A36 with default detail lines: [{code, name, sign, lines}]."""
    return _raw()["income_item"]
