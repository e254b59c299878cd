"""The procedures of SPEC §7 as typed definitions, read from resources/procedures.json and checked
whole when the file is loaded: a step with an unknown role, anchor, field kind, code list or status,
a duplicate step key or a procedure without steps stops the program at start (ProcedureFileError, a
fault of the installation, not something a user corrects).

The rules a step enforces come from its fields (a "confirm" field must be ticked, a required field
given, a "compare_exemption" must fit the household, …), never from the step's key or name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from ..paths import resource_path
from .codes import codes
from .dates import add_months

ANCHORS = ("opened", "approved")  # the opening date D (clue, entry, application) or the approval date A
FIELD_KINDS = ("confirm", "choice", "code", "text", "compare_exemption")
SNAPSHOTS = ("assessment", "policy")


class ProcedureFileError(Exception):
    """resources/procedures.json is not a valid definition: a fault of the installation."""


@dataclass(frozen=True)
class Due:
    anchor: str
    days: int | None = None
    months: int | None = None

    def date_from(self, opened_on: date, approved_on: date | None) -> date | None:
        anchor = opened_on if self.anchor == "opened" else approved_on
        if anchor is None:
            return None
        return add_months(anchor, self.months) if self.months is not None else anchor + timedelta(days=self.days)


@dataclass(frozen=True)
class FieldDef:
    key: str
    label: str
    kind: str
    required: bool = False
    message: str | None = None  # what to say when a required field is missing
    options: tuple[str, ...] = ()  # choice / compare_exemption
    code_list: str | None = None  # code
    placeholder: str = ""
    default: str | None = None  # code: "suggested_category" takes the latest frozen suggestion

    @property
    def missing_message(self) -> str:
        if self.message:
            return self.message
        if self.kind == "confirm":
            return f"须确认：{self.label}"
        if self.kind in ("choice", "code"):
            return f"请选择{self.label}" + (f"：{'、'.join(self.options)}" if self.options else "")
        return f"请填写{self.label}"


@dataclass(frozen=True)
class StepDef:
    key: str
    name: str
    roles: tuple[str, ...]
    due: Due | None = None
    fields: tuple[FieldDef, ...] = ()
    snapshot: bool = False  # freezes the facts the step decides on
    decision: bool = False  # the decision of the procedure: changes the household, cannot be sent back to
    publicity_days: int | None = None

    def field(self, key: str) -> FieldDef | None:
        return next((f for f in self.fields if f.key == key), None)

    @property
    def field_labels(self) -> dict[str, str]:
        return {f.key: f.label for f in self.fields}


@dataclass(frozen=True)
class Procedure:
    kind: str
    name: str
    source: str
    status_open: str | None
    status_done: str | None
    allowed_from: frozenset[str]
    snapshot_of: str
    steps: tuple[StepDef, ...]

    def step(self, key: str) -> StepDef | None:
        return next((s for s in self.steps if s.key == key), None)

    def index(self, key: str) -> int:
        return [s.key for s in self.steps].index(key)


@dataclass(frozen=True)
class Definitions:
    procedures: dict[str, Procedure]
    meeting_forms: tuple[str, ...]
    plan_days: int
    publicity_days: int
    due_soon_days: int
    green_warn_days: int


def _positive(value, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ProcedureFileError(f"{where}: expected a positive whole number, got {value!r}")
    return value


def _field(raw: dict, where: str, meeting_forms: tuple[str, ...]) -> FieldDef:
    if not isinstance(raw, dict) or not raw.get("key") or not raw.get("label"):
        raise ProcedureFileError(f"{where}: a field needs a key and a label")
    kind = raw.get("kind")
    if kind not in FIELD_KINDS:
        raise ProcedureFileError(f"{where}.{raw['key']}: unknown field kind {kind!r}")
    options = tuple(raw.get("options") or ())
    if raw.get("options_from") == "meeting_forms":
        options = meeting_forms
    if kind in ("choice", "compare_exemption") and not options:
        raise ProcedureFileError(f"{where}.{raw['key']}: a {kind} field needs options")
    code_list = raw.get("list")
    if kind == "code":
        try:
            codes(code_list)
        except (KeyError, TypeError):
            raise ProcedureFileError(f"{where}.{raw['key']}: unknown code list {code_list!r}") from None
    return FieldDef(raw["key"], raw["label"], kind, bool(raw.get("required")), raw.get("message"), options,
                    code_list, raw.get("placeholder", ""), raw.get("default"))


def _step(raw: dict, where: str, meeting_forms: tuple[str, ...]) -> StepDef:
    if not isinstance(raw, dict) or not raw.get("key") or not raw.get("name"):
        raise ProcedureFileError(f"{where}: a step needs a key and a name")
    where = f"{where}.{raw['key']}"
    roles = tuple(raw.get("roles") or ())
    known_roles = codes("role")
    if not roles or any(r not in known_roles for r in roles):
        raise ProcedureFileError(f"{where}: roles must be codes of the role list, got {roles!r}")
    due = None
    if raw.get("due") is not None:
        d = raw["due"]
        if d.get("from") not in ANCHORS or (("days" in d) == ("months" in d)):
            raise ProcedureFileError(f"{where}.due: needs from ∈ {ANCHORS} and exactly one of days / months")
        due = Due(d["from"], _positive(d["days"], f"{where}.due.days") if "days" in d else None,
                  _positive(d["months"], f"{where}.due.months") if "months" in d else None)
    fields = tuple(_field(f, where, meeting_forms) for f in raw.get("fields") or ())
    if len({f.key for f in fields}) != len(fields):
        raise ProcedureFileError(f"{where}: two fields with the same key")
    publicity = raw.get("publicity_days")
    return StepDef(raw["key"], raw["name"], roles, due, fields, bool(raw.get("snapshot")), bool(raw.get("decision")),
                   _positive(publicity, f"{where}.publicity_days") if publicity is not None else None)


def parse(raw: dict) -> Definitions:
    """Check the whole file and build the definitions; any fault raises ProcedureFileError."""
    if not isinstance(raw, dict):
        raise ProcedureFileError("procedures.json: expected an object")
    meeting_forms = tuple(raw.get("meeting_forms") or ())
    if not meeting_forms:
        raise ProcedureFileError("procedures.json: meeting_forms is missing")
    statuses = codes("monitoring_status")
    procedures = {}
    for kind, p in raw.items():
        if not isinstance(p, dict) or "steps" not in p:
            continue
        where = f"procedures.json: {kind}"
        if not p.get("name") or not p["steps"]:
            raise ProcedureFileError(f"{where}: needs a name and at least one step")
        steps = tuple(_step(s, where, meeting_forms) for s in p["steps"])
        if len({s.key for s in steps}) != len(steps):
            raise ProcedureFileError(f"{where}: two steps with the same key")
        for key in ("status_open", "status_done"):
            if p.get(key) is not None and p[key] not in statuses:
                raise ProcedureFileError(f"{where}.{key}: unknown monitoring status {p[key]!r}")
        allowed = p.get("allowed_from")
        if not allowed or any(s not in statuses for s in allowed):
            raise ProcedureFileError(f"{where}.allowed_from: needs monitoring status codes, got {allowed!r}")
        snapshot_of = p.get("snapshot_of", "assessment")
        if snapshot_of not in SNAPSHOTS:
            raise ProcedureFileError(f"{where}.snapshot_of: unknown {snapshot_of!r}")
        if sum(s.decision for s in steps) > 1:
            raise ProcedureFileError(f"{where}: more than one decision step")
        procedures[kind] = Procedure(kind, p["name"], p.get("source", ""), p.get("status_open"), p.get("status_done"),
                                     frozenset(allowed), snapshot_of, steps)
    if not procedures:
        raise ProcedureFileError("procedures.json: no procedure")
    return Definitions(procedures, meeting_forms,
                       *(_positive(raw.get(k), f"procedures.json: {k}")
                         for k in ("plan_days", "publicity_days", "due_soon_days", "green_warn_days")))


@lru_cache(maxsize=1)
def definitions() -> Definitions:
    with open(resource_path("procedures.json"), encoding="utf-8") as f:
        try:
            raw = json.load(f)
        except json.JSONDecodeError as e:
            raise ProcedureFileError(f"procedures.json: not valid JSON: {e}") from None
    return parse(raw)


def get(kind: str) -> Procedure | None:
    return definitions().procedures.get(kind)
