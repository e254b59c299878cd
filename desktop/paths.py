"""Where things live: bundled resources and the user's data folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platformdirs import user_data_dir

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def resource_path(*parts: str) -> Path:
    """A file under resources/, from source or from a PyInstaller bundle."""
    base = Path(getattr(sys, "_MEIPASS", _SOURCE_ROOT))
    return base.joinpath("resources", *parts)


def data_dir() -> Path:
    """The user's data folder (never the install folder). FANPIN_DATA_DIR overrides it."""
    override = os.environ.get("FANPIN_DATA_DIR")
    path = Path(override) if override else Path(user_data_dir("fanpin-workbench", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        try:  # the register of a whole township: the owner only (SPEC §12)
            os.chmod(path, 0o700)
        except OSError:
            pass
    return path


def default_db_path() -> Path:
    return data_dir() / "workbench.sqlite3"
