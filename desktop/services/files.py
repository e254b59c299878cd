"""Files the program writes appear only when complete: written beside, then renamed."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def written_whole(path: Path, suffix: str = ".part") -> Iterator[Path]:
    """Yield a temporary path beside `path`. When the block ends normally the file replaces `path`
    in one rename; when it fails, the partial file is removed and `path` is left as it was."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
