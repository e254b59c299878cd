"""Real faults for the safety tests: a small disk that fills up, files and folders that cannot be written (as
root, which ignores file modes), a second connection holding the write lock.

- Full disk: a tmpfs of a few hundred KB mounted for the test (needs CAP_SYS_ADMIN, as root on the CI machine);
  skipped where mounting is not allowed.
- Read-only: `chattr +i` (immutable) on the file or folder: refused even to root with EPERM, as a read-only file
  or folder is to a clerk's account. Skipped on file systems without the attribute.
- Locked: a plain sqlite3 connection in BEGIN IMMEDIATE, and the wait for it shortened from 5 s.
"""

from __future__ import annotations

import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from desktop.services import db as dbmod
from tests.conftest import PRODUCTION_SYNCHRONOUS, raw_connect


@pytest.fixture(autouse=True)
def _program_synchronous(monkeypatch):
    """The safety tests run with the program's own synchronous setting (the rest of the suite skips fsync)."""
    monkeypatch.setattr(dbmod, "SYNCHRONOUS", PRODUCTION_SYNCHRONOUS)


@pytest.fixture
def small_disk(tmp_path):
    """mount(size_kb) -> a folder on its own tmpfs of that size; unmounted after the test."""
    mounted = []

    def mount(size_kb: int) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", str(folder)],
                              capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the disk holding `folder` until only `leave` bytes are free; returns the filler file."""
    filler = folder / "filler.bin"
    free = shutil.disk_usage(folder).free - leave
    with open(filler, "wb") as f:
        try:
            f.write(b"\0" * max(free, 0))
            f.flush()
        except OSError:
            pass
    return filler


@pytest.fixture
def immutable():
    """make(path): chattr +i on a file or folder, undone after the test."""
    made = []

    def make(path: Path) -> Path:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"chattr +i not supported here: {done.stderr.decode(errors='replace').strip()}")
        made.append(path)
        return path

    yield make
    for path in reversed(made):
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


@pytest.fixture
def short_lock_wait(monkeypatch):
    """Writers wait 0.3 s for a lock instead of 5 s (connections made after this fixture)."""
    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT_MS", 300)


@contextmanager
def write_lock(path: Path):
    """A second connection, as another window or program, holding the database's write lock."""
    con = raw_connect(path)
    con.isolation_level = None
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO app_setting (key, value) VALUES ('held-by-test', 'x')")
        yield con
        con.execute("ROLLBACK")
    finally:
        con.close()
