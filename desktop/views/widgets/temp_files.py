"""Preview files in the user's temp folder: made per document, cleaned when replaced and at start."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

TEMP_FOLDER = "fanpin-reports"
TEMP_MAX_AGE = 24 * 3600  # older previews (of a program that crashed, say) are removed at start


def temp_dir() -> Path:
    path = Path(tempfile.gettempdir()) / TEMP_FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_temp_file(kind: str) -> Path:
    handle = tempfile.NamedTemporaryFile(prefix=f"{kind}-", suffix=".pdf", dir=temp_dir(), delete=False)
    handle.close()
    return Path(handle.name)


def clean_old_previews() -> None:
    cutoff = time.time() - TEMP_MAX_AGE
    try:
        for path in temp_dir().iterdir():
            if path.is_file() and path.stat().st_mtime < cutoff:
                remove([path])
    except OSError:
        pass


def remove(paths) -> None:
    for path in list(paths):
        try:
            Path(path).unlink(missing_ok=True)
        except OSError:
            pass  # still open elsewhere: removed at a later start
