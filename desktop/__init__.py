"""防止返贫监测帮扶工作台: a township desktop program for monitoring and assistance."""

from __future__ import annotations

import sys
from pathlib import Path

DIST_NAME = "fanpin-workbench"
APP_NAME = "防止返贫监测帮扶工作台"


def _version() -> str:
    """The version written in pyproject.toml, the only place it is written.

    A source checkout (and the PyInstaller bundle, which carries pyproject.toml beside the package: see
    installer/fanpin.spec) reads the file itself, so an editable install whose metadata predates the last
    version bump still tells the truth; an installed wheel reads its package metadata."""
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
    pyproject = base / "pyproject.toml"
    if pyproject.is_file():
        import tomllib
        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        except (OSError, tomllib.TOMLDecodeError):
            project = {}
        if project.get("name") == DIST_NAME and project.get("version"):
            return str(project["version"])
    from importlib import metadata
    try:
        return metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:
        return "0+unknown"


__version__ = _version()
