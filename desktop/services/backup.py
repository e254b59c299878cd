"""Backup copies of the SQLite database file (before migrations, imports, and daily)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .errors import ServiceError


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    taken_at: datetime
    reason: str
    size: int


def backup_dir_for(db_path: Path) -> Path:
    return db_path.parent / "backups"


def backup_sqlite(db_path: Path, reason: str, now: datetime | None = None) -> Path:
    """Copy a live SQLite database consistently (online backup API, WAL included)."""
    now = now or datetime.now()
    target_dir = backup_dir_for(db_path)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{db_path.stem}-{now:%Y%m%d-%H%M%S}-{reason}.sqlite3"
    n = 1
    while target.exists():
        target = target_dir / f"{db_path.stem}-{now:%Y%m%d-%H%M%S}-{reason}-{n}.sqlite3"
        n += 1
    copy_sqlite(db_path, target)
    return target


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a database through SQLite's online backup API: consistent even while it is in use,
    and its WAL is included."""
    src = sqlite3.connect(str(source))
    try:
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def list_backups(db_path: Path) -> list[BackupInfo]:
    out = []
    for p in sorted(backup_dir_for(db_path).glob(f"{db_path.stem}-*.sqlite3"), reverse=True):
        parts = p.stem[len(db_path.stem) + 1:].split("-")
        try:
            taken = datetime.strptime(parts[0] + parts[1], "%Y%m%d%H%M%S")
        except (ValueError, IndexError):
            continue
        out.append(BackupInfo(p, taken, parts[2] if len(parts) > 2 else "", p.stat().st_size))
    return out


def prune_backups(db_path: Path, keep_days: int, now: datetime | None = None) -> list[Path]:
    """Delete backups older than keep_days, always keeping the newest one."""
    now = now or datetime.now()
    backups = list_backups(db_path)
    removed = []
    for info in backups[1:]:
        if info.taken_at < now - timedelta(days=keep_days):
            info.path.unlink(missing_ok=True)
            removed.append(info.path)
    return removed


def daily_backup(db_path: Path, keep_days: int = 30, now: datetime | None = None) -> Path | None:
    """Take the day's backup unless one exists already, then drop those older than keep_days."""
    now = now or datetime.now()
    if not db_path.exists():
        return None
    taken = None
    if not any(b.taken_at.date() == now.date() for b in list_backups(db_path)):
        taken = backup_sqlite(db_path, "daily", now=now)
    prune_backups(db_path, keep_days, now=now)
    return taken


class RestoreError(ServiceError):
    pass


def restore(db_path: Path, backup_path: Path, now: datetime | None = None) -> Path:
    """Put a backup back in place of the database, after backing up the current state.

    The backup is checked first (a damaged copy never replaces a working file); the copy goes
    through SQLite's online backup API into the live file, so its WAL is handled too. All
    connections of the program should be closed (engine disposed) before calling this.
    Returns the safety copy taken of the state before restoring."""
    from .integrity import integrity_check
    backup_path = Path(backup_path)
    problem = integrity_check(backup_path)
    if problem is not None:
        raise RestoreError(f"备份文件 {backup_path.name} 检查未通过，不能用于恢复：{problem}")
    safety = backup_sqlite(db_path, "prerestore", now=now) if db_path.exists() else None
    copy_sqlite(backup_path, db_path)
    return safety


def latest_good(db_path: Path) -> BackupInfo | None:
    """The newest backup that passes the full integrity check (what to offer when the file is damaged)."""
    from .integrity import integrity_check
    for info in list_backups(db_path):
        if integrity_check(info.path) is None:
            return info
    return None


def replace_damaged(db_path: Path, good: Path, now: datetime | None = None) -> Path:
    """Put a good backup in place of a damaged database. The damaged file (and its WAL) is kept
    beside it, renamed, for whoever investigates; nothing is deleted. Returns the kept file."""
    import shutil
    now = now or datetime.now()
    kept = db_path.with_name(f"{db_path.stem}-damaged-{now:%Y%m%d-%H%M%S}{db_path.suffix}")
    db_path.rename(kept)
    for suffix in ("-wal", "-shm"):
        side = Path(f"{db_path}{suffix}")
        if side.exists():
            side.rename(Path(f"{kept}{suffix}"))
    shutil.copyfile(good, db_path)
    return kept
