"""Views never compare domain values themselves (STYLE: a rule lives in one service function; the view shows what
the service returns).

The rule, checkable by reading the code: in desktop/views, no ==, !=, in or not in has as an operand
- a string literal (or a tuple, list or set of them) that is a domain code: a code of any list in
  resources/codes.json (statuses, relations, roles, categories, member events …), a procedure kind of
  resources/procedures.json, a case state or step result of services.workflow, a visit outcome of
  services.screening; or
- a constant imported from desktop.services whose value is such a code or a collection of them (register.HEAD,
  workflow.OPEN …).
A view asks the service instead: `m.current`, `register.head_name(...)`, `case.is_open`,
`auth.limited_to_villages(role)`. Looking a code up for display (a name, a colour) is not a comparison."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
from pathlib import Path

from desktop.paths import resource_path
from desktop.services import screening, workflow

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ROOT / "desktop" / "views"
COMPARISONS = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)


def domain_codes() -> frozenset[str]:
    codes = json.loads(resource_path("codes.json").read_text("utf-8"))
    found = {entry["code"] for entries in codes.values() if isinstance(entries, list) for entry in entries}
    procedures = json.loads(resource_path("procedures.json").read_text("utf-8"))
    found |= {kind for kind, p in procedures.items() if isinstance(p, dict) and "steps" in p}
    return frozenset(found | set(workflow.STATES) | set(workflow.RESULTS) | set(screening.OUTCOMES))


DOMAIN = domain_codes()


def _domain_value(value) -> bool:
    if isinstance(value, str):
        return value in DOMAIN
    if isinstance(value, (tuple, list, set, frozenset)) and value:
        return all(isinstance(v, str) and v in DOMAIN for v in value)
    return False


def _literal(node: ast.AST):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _service_constants(tree: ast.Module, package: str) -> dict[str, object]:
    """Names in this module that are service modules or constants imported from them: name → module or value."""
    found: dict[str, object] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        module = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level \
            else node.module or ""
        if not module.startswith("desktop.services"):
            continue
        source = importlib.import_module(module)
        for alias in node.names:
            value = getattr(source, alias.name, None)
            if value is None:
                value = importlib.import_module(f"{module}.{alias.name}")
            found[alias.asname or alias.name] = value
    return found


def _constant(node: ast.AST, imported: dict[str, object]):
    """The value of an ALL-CAPS service constant the operand names, else None."""
    if isinstance(node, ast.Name) and node.id.isupper():
        return imported.get(node.id)
    if isinstance(node, ast.Attribute) and node.attr.isupper() and isinstance(node.value, ast.Name):
        owner = imported.get(node.value.id)
        return getattr(owner, node.attr, None) if owner is not None else None
    return None


def violations(source: str, package: str = "desktop.views", name: str = "<view>") -> list[str]:
    tree = ast.parse(source)
    imported = _service_constants(tree, package)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or not any(isinstance(op, COMPARISONS) for op in node.ops):
            continue
        for operand in (node.left, *node.comparators):
            if _domain_value(_literal(operand)) or _domain_value(_constant(operand, imported)):
                out.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
                break
    return out


def test_no_view_compares_a_domain_value():
    found = []
    for path in sorted(VIEWS.rglob("*.py")):
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
        found += violations(path.read_text("utf-8"), package, str(path.relative_to(ROOT)))
    assert found == [], "views decide with domain values; ask a service instead:\n" + "\n".join(found)


def test_the_rule_catches_what_it_is_meant_to_catch():
    bad = '''
from ..services import register, workflow
from ..services.register import HEAD
if m.status == "normal": pass
if case.kind in ("identify", "green"): pass
if row.role != "clerk": pass
if m.relation == HEAD: pass
if case.state == workflow.OPEN: pass
if "03" == category: pass
'''
    assert [v.split(": ", 1)[1] for v in violations(bad)] == [
        "m.status == 'normal'", "case.kind in ('identify', 'green')", "row.role != 'clerk'", "m.relation == HEAD",
        "case.state == workflow.OPEN", "'03' == category"]
    fine = '''
from ..services import register
if kind == "bool": pass
if answer == "save": pass
if fld in register.READ_ONLY_MEMBER: pass
colour = STATE_COLOURS.get(case.state)
if m.current and case.is_open: pass
'''
    assert violations(fine) == []
