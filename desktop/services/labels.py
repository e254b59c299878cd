"""Chinese labels of tables and fields (resources/fields.json) and how stored values read."""

from __future__ import annotations

import json
from functools import lru_cache

from ..paths import resource_path
from .codes import codes


@lru_cache(maxsize=1)
def _fields() -> dict:
    with open(resource_path("fields.json"), encoding="utf-8") as f:
        return json.load(f)


def table_label(table: str) -> str:
    return _fields()["tables"].get(table, table)


def field_info(table: str, field: str) -> dict:
    return _fields()["fields"].get(table, {}).get(field, {"label": field, "kind": None})


def field_label(table: str, field: str) -> str:
    return field_info(table, field)["label"]


def format_value(table: str, field: str | None, text: str | None) -> str:
    """Stored text of an audit value → what a person reads (codes become names)."""
    if text is None or text == "":
        return ""
    if field is None:
        return text
    kind = field_info(table, field)["kind"]
    if kind == "secret":
        return "******"
    if kind == "bool":
        return {"1": "是", "0": "否"}.get(text, text)
    if kind in (None, "date", "int", "money", "region"):
        return text
    try:
        cl = codes(kind)
    except KeyError:
        return text
    if text.startswith("["):
        return "、".join(cl.name(c, c) for c in json.loads(text))
    return cl.name(text, text)
