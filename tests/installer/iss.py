"""A reader of Inno Setup scripts, enough for the checks in this folder: [Setup] directives, the entries of the
other sections as {parameter: value} dicts, and the preprocessor lines. It follows the documented syntax
(https://jrsoftware.org/ishelp/topic_scriptformatoverview.htm): `;` starts a comment line, `#` a preprocessor
line, and entries are `Name: value; Name: "quoted"` (a quote doubled inside quotes), semicolons outside quotes
separating the parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Script:
    path: Path
    setup: dict[str, str] = field(default_factory=dict)
    sections: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    preprocessor: list[str] = field(default_factory=list)
    defines: dict[str, str] = field(default_factory=dict)


def split_params(line: str) -> dict[str, str]:
    params: dict[str, str] = {}
    parts, current, quoted = [], "", False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    for part in parts:
        if not part.strip():
            continue
        name, sep, value = part.partition(":")
        if not sep:
            raise ValueError(f"not a parameter: {part!r} in {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('""', '"')
        params[name.strip()] = value
    return params


def read(path: Path) -> Script:
    script = Script(path)
    section = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("#"):
            script.preprocessor.append(line)
            if line.startswith("#define "):
                _, name, *rest = line.split(None, 2)
                script.defines[name] = rest[0].strip().strip('"') if rest else ""
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            script.sections.setdefault(section, [])
            continue
        if section is None:
            raise ValueError(f"text outside a section: {line!r}")
        if section == "Setup":
            name, sep, value = line.partition("=")
            if not sep:
                raise ValueError(f"not a directive: {line!r}")
            script.setup[name.strip()] = value.strip()
        else:
            script.sections[section].append(split_params(line))
    return script


def expand(text: str, defines: dict[str, str]) -> str:
    """Replace {#Name} by the #define's value (plain string defines only)."""
    for name, value in defines.items():
        text = text.replace("{#" + name + "}", value)
    return text
