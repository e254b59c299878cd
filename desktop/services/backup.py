"""Backup copies of the SQLite database file (daily, before imports and migrations, by hand, before a restore).

A backup is written whole or not at all: copied under a temporary name, synced, checked (SQLite's integrity
check, this program's schema, a township), and only then renamed to its final name. Only files with a final name
are backups; a copy that fails its check is removed and the failure reported, never counted. Restoring accepts
only a backup that passes the same check in full.

Copying and checking a file go through `_connect`, `copy_sqlite` and `verify`: when the database is encrypted,
these three are what change.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import failures
from .errors import ServiceError

log = logging.getLogger(__name__)

# Retention: the newest daily backups, then one per week and one per month going back; copies taken before an
# import, a migration or a restore are kept for the days set on the 数据备份 page; hand-made ones are kept.
KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY = 7, 4, 12
KEPT_FOR_DAYS = ("import", "migrate", "prerestore")
KEPT_ALWAYS = ("manual",)
# The clock is trusted for pruning only when it is not before the newest backup or audit entry (minus a small
# allowance for the clock being corrected by a few minutes) and not more than this many days after it.
CLOCK_AHEAD_DAYS = 10
CLOCK_BACK_ALLOWANCE = timedelta(minutes=5)
STALE_PART_SECONDS = 3600

# What a file must hold to be this program's database: the tables of the first migration.
REQUIRED_TABLES = {"alembic_version", "app_setting", "audit_entry", "region", "household", "member"}


class BackupError(ServiceError):
    """A backup could not be made (the message says why and what to do); no file was left behind."""


class RestoreError(ServiceError):
    pass


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    taken_at: datetime
    reason: str
    size: int


@dataclass
class DailyBackup:
    """What the daily backup at start did: the copy taken (None when today's exists or there is nothing to back
    up), the backups pruned, a warning about the clock (pruning skipped) and a failure to report (work goes on)."""

    taken: Path | None = None
    removed: list[Path] = field(default_factory=list)
    clock_warning: str | None = None
    failure: str | None = None


def backup_dir_for(db_path: Path) -> Path:
    return db_path.parent / "backups"


# ------------------------------------------------------------------ copy and check (one place)

def _connect(path: Path, *, create: bool = False, readonly: bool = False) -> sqlite3.Connection:
    """Open a database file for copying or checking. Never creates a file unless asked: a vanished database
    must not be silently replaced by an empty one."""
    mode = "ro" if readonly else "rwc" if create else "rw"
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode={mode}", uri=True)


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a database through SQLite's online backup API: consistent even while it is in use, its WAL
    included. The copy is a single file (rollback journal mode), synced to the disk."""
    src = _connect(source)
    try:
        dst = _connect(target, create=True)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    _fsync(target)


def verify(path: Path, *, full: bool = False) -> str | None:
    """None when the file is a sound database of this program holding a township; otherwise why not, in Chinese.

    `full` runs SQLite's complete integrity check (restores, the latest good backup); otherwise the quick check
    (every backup as it is written)."""
    from .integrity import integrity_check
    path = Path(path)
    if not path.is_file():
        return f"文件不存在：{path}"
    if path.stat().st_size == 0:
        return "文件是空的（0 字节）"
    try:
        problem = integrity_check(path, quick=not full)
    except failures.StorageError as exc:
        return str(exc)
    if problem is not None:
        return problem
    try:
        con = _connect(path, readonly=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            missing = REQUIRED_TABLES - tables
            if missing:
                lacking = f"（缺少 {'、'.join(sorted(missing))} 等表）" if tables else "（空数据库）"
                return "不是本程序的数据库" + lacking
            version = con.execute("SELECT version_num FROM alembic_version").fetchone()
            if version is None or version[0] not in known_revisions():
                return f"数据库版本 {version[0] if version else '（无）'} 不是本程序的版本（可能来自更新版本的程序）"
            if con.execute("SELECT count(*) FROM region WHERE level='township'").fetchone()[0] == 0:
                return "数据库中没有乡镇信息（尚未完成首次设置的空数据库）"
        finally:
            con.close()
    except sqlite3.Error as exc:
        return f"读取文件时出错：{exc}"
    return None


def holds_data(db_path: Path) -> bool:
    """Whether the file is this program's database with a township set up (worth backing up). Cheap: no
    integrity check."""
    db_path = Path(db_path)
    if not db_path.is_file() or db_path.stat().st_size == 0:
        return False
    try:
        con = _connect(db_path, readonly=True)
        try:
            return con.execute("SELECT count(*) FROM region WHERE level='township'").fetchone()[0] > 0
        finally:
            con.close()
    except sqlite3.Error:
        return False


@functools.cache
def known_revisions() -> frozenset[str]:
    """Every revision of the migrations this program ships (read once a process: Alembic compiles each file)."""
    from alembic.script import ScriptDirectory

    from .db import MIGRATIONS
    return frozenset(s.revision for s in ScriptDirectory(str(MIGRATIONS)).walk_revisions())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); Windows has no directory handles to sync."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _written_checked(source: Path, target: Path, *, check_full: bool = False) -> None:
    """Copy `source` to `target` whole or not at all: under a temporary name, synced, verified, renamed."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        copy_sqlite(source, tmp)
        problem = verify(tmp, full=check_full)
        if problem is not None:
            raise BackupError(f"复制出的文件检查未通过，已删除，没有算作备份：{problem}")
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except ServiceError:
        raise
    except Exception as exc:
        failure = failures.translate(exc, tmp)
        if failure is not None and failure.kind == failures.LOCKED:
            failure = failures.translate(exc, source)
        if failure is None:
            raise
        raise BackupError(f"备份没有完成，没有留下不完整的备份文件。\n{failure}") from exc
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal")):
            try:
                leftover.unlink(missing_ok=True)
            except OSError:
                log.warning("could not remove %s", leftover, exc_info=True)


# ------------------------------------------------------------------ taking backups

def backup_sqlite(db_path: Path, reason: str, now: datetime | None = None) -> Path:
    """Back the database up now; returns the checked backup file. Raises BackupError (nothing left behind)."""
    now = now or datetime.now()
    db_path = Path(db_path)
    if not db_path.is_file():
        raise BackupError(f"备份没有完成。\n{failures.gone_message(db_path)}")
    target_dir = backup_dir_for(db_path)
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        failure = failures.translate(exc, target_dir / "x")
        if failure is None:
            raise
        raise BackupError(f"备份没有完成，不能建立备份文件夹。\n{failure}") from exc
    target = target_dir / f"{db_path.stem}-{now:%Y%m%d-%H%M%S}-{reason}.sqlite3"
    n = 1
    while target.exists():
        target = target_dir / f"{db_path.stem}-{now:%Y%m%d-%H%M%S}-{reason}-{n}.sqlite3"
        n += 1
    _written_checked(db_path, target)
    return target


def list_backups(db_path: Path) -> list[BackupInfo]:
    """The backups (final names only), newest first."""
    out = []
    for p in sorted(backup_dir_for(db_path).glob(f"{db_path.stem}-*.sqlite3"), reverse=True):
        parts = p.stem[len(db_path.stem) + 1:].split("-")
        try:
            taken = datetime.strptime(parts[0] + parts[1], "%Y%m%d%H%M%S")
            size = p.stat().st_size
        except (ValueError, IndexError, OSError):
            continue
        out.append(BackupInfo(p, taken, parts[2] if len(parts) > 2 else "", size))
    out.sort(key=lambda b: (b.taken_at, b.path.name), reverse=True)
    return out


def remove_stale_parts(db_path: Path) -> list[Path]:
    """Temporary copies left by a backup that was killed half-way (never backups: they have no final name)."""
    removed = []
    cutoff = time.time() - STALE_PART_SECONDS
    for p in backup_dir_for(db_path).glob(".*.part"):
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
                removed.append(p)
        except OSError:
            continue
    return removed


# ------------------------------------------------------------------ keeping and pruning

def to_remove(backups: list[BackupInfo], keep_days: int, now: datetime) -> list[BackupInfo]:
    """Which backups the retention rule lets go (pure: the caller decides whether the clock can be trusted).

    Kept: the newest backup of all; the KEEP_DAILY newest daily backups, the newest daily backup of each of the
    KEEP_WEEKLY most recent weeks and KEEP_MONTHLY most recent months that have one; every copy taken before an
    import, a migration or a restore for keep_days; every hand-made backup."""
    backups = sorted(backups, key=lambda b: b.taken_at, reverse=True)
    keep = {backups[0].path} if backups else set()
    daily = [b for b in backups if b.reason == "daily"]
    keep |= {b.path for b in daily[:KEEP_DAILY]}
    for bucket, count in ((lambda d: d.isocalendar()[:2], KEEP_WEEKLY), (lambda d: (d.year, d.month), KEEP_MONTHLY)):
        seen = []
        for b in daily:
            key = bucket(b.taken_at)
            if key not in seen:
                seen.append(key)
                if len(seen) > count:
                    break
                keep.add(b.path)
    cutoff = now - timedelta(days=keep_days)
    for b in backups:
        if b.reason in KEPT_ALWAYS or b.reason not in ("daily", *KEPT_FOR_DAYS):
            keep.add(b.path)  # hand-made, or named by someone else: not ours to delete
        elif b.reason in KEPT_FOR_DAYS and b.taken_at >= cutoff:
            keep.add(b.path)
    return [b for b in backups if b.path not in keep]


def prune_backups(db_path: Path, keep_days: int, now: datetime | None = None) -> list[Path]:
    """Delete the backups the retention rule lets go. Callers at start use daily_backup, which first checks
    that the clock can be trusted."""
    now = now or datetime.now()
    removed = []
    for info in to_remove(list_backups(db_path), keep_days, now):
        try:
            info.path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            log.warning("could not remove old backup %s", info.path, exc_info=True)
            continue
        removed.append(info.path)
    return removed


def newest_audit_at(db_path: Path) -> datetime | None:
    """When the newest audit entry was written (local time), read straight from the file."""
    try:
        con = _connect(db_path, readonly=True)
        try:
            row = con.execute("SELECT max(at) FROM audit_entry").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    if not row or not row[0]:
        return None
    at = datetime.fromisoformat(str(row[0]))  # stored in UTC
    return at.replace(tzinfo=timezone.utc).astimezone().replace(tzinfo=None)


def clock_problem(db_path: Path, now: datetime) -> str | None:
    """Why the computer's clock cannot be trusted to prune backups now, or None.

    It cannot when now is before the newest backup or audit entry (the clock was set back: the change history
    and the backups' names would be out of order) or more than CLOCK_AHEAD_DAYS after both (set ahead, or
    simply not used for a while: then pruning waits one start)."""
    marks = [(b.taken_at, "备份") for b in list_backups(db_path)[:1]]
    audit = newest_audit_at(db_path)
    if audit is not None:
        marks.append((audit, "操作记录"))
    if not marks:
        return None
    latest, what = max(marks)
    fix = "请检查电脑右下角（或系统设置中）的日期和时间，改正后重新打开程序。"
    if now < latest - CLOCK_BACK_ALLOWANCE:
        return (f"电脑的日期时间可能不对：现在显示 {now:%Y-%m-%d %H:%M}，早于最新的{what}时间 {latest:%Y-%m-%d %H:%M}。"
                f"时间不对时，新的修改会记成更早的时间。为免误删，本次没有清理旧备份。{fix}")
    if now - latest > timedelta(days=CLOCK_AHEAD_DAYS):
        days = (now - latest).days
        return (f"电脑的日期 {now:%Y-%m-%d} 比最近一次使用（{latest:%Y-%m-%d} 的{what}）晚了 {days} 天。"
                f"为免误删，本次没有清理旧备份。如果日期正确（例如长假后第一次使用），请忽略本提示，下次启动时会照常清理；"
                f"否则{fix}")
    return None


def daily_backup(db_path: Path, keep_days: int = 30, now: datetime | None = None) -> DailyBackup:
    """Take the day's backup unless a good one exists, then prune by the retention rule unless the clock
    cannot be trusted. Failures are returned, not raised: a full disk must not stop the day's work."""
    now = now or datetime.now()
    db_path = Path(db_path)
    result = DailyBackup()
    if not holds_data(db_path):
        return result
    remove_stale_parts(db_path)
    result.clock_warning = clock_problem(db_path, now)
    today = [b for b in list_backups(db_path) if b.taken_at.date() == now.date()]
    if not any(holds_data(b.path) for b in today):  # verified when written; an empty or foreign file is not one
        try:
            result.taken = backup_sqlite(db_path, "daily", now=now)
        except BackupError as exc:
            result.failure = str(exc)
    if result.clock_warning is None:
        result.removed = prune_backups(db_path, keep_days, now=now)
    return result


# ------------------------------------------------------------------ restoring

def latest_good(db_path: Path) -> BackupInfo | None:
    """The newest backup that passes the full check (what to offer when the file is damaged)."""
    for info in list_backups(db_path):
        if verify(info.path, full=True) is None:
            return info
    return None


def restore(db_path: Path, backup_path: Path, now: datetime | None = None) -> Path | None:
    """Put a backup back in place of the database, after backing up the current state.

    The backup is checked in full first: a damaged file, an empty one, or another program's database never
    replaces the working file. The copy goes through SQLite's online backup API into the live file, in one
    transaction. All connections of the program should be closed (engine disposed) before calling this.
    Returns the copy taken of the state before restoring (None when the current file held nothing)."""
    backup_path = Path(backup_path)
    problem = verify(backup_path, full=True)
    if problem is not None:
        raise RestoreError(f"备份文件 {backup_path.name} 检查未通过，不能用于恢复，当前数据未改变：{problem}")
    safety = backup_sqlite(db_path, "prerestore", now=now) if holds_data(db_path) else None
    try:
        copy_sqlite(backup_path, db_path)
    except Exception as exc:
        failure = failures.translate(exc, db_path)
        if failure is None:
            raise
        raise RestoreError(f"恢复没有完成，当前数据未改变。\n{failure}") from exc
    return safety


def replace_damaged(db_path: Path, good: Path, now: datetime | None = None) -> Path:
    """Put a good backup in place of a damaged database. The damaged file (and its WAL) is kept beside it,
    renamed, for whoever investigates; nothing is deleted. Returns the kept file."""
    now = now or datetime.now()
    good = Path(good)
    problem = verify(good, full=True)
    if problem is not None:
        raise RestoreError(f"备份文件 {good.name} 检查未通过，不能用于恢复：{problem}")
    kept = db_path.with_name(f"{db_path.stem}-damaged-{now:%Y%m%d-%H%M%S}{db_path.suffix}")
    staged = db_path.with_name(f".{db_path.name}.{os.getpid()}.restoring")
    try:
        copy_sqlite(good, staged)  # first the good copy beside it, whole: a full disk stops here, nothing moved
        db_path.rename(kept)
        for suffix in ("-wal", "-shm"):
            side = Path(f"{db_path}{suffix}")
            if side.exists():
                side.rename(Path(f"{kept}{suffix}"))
        os.replace(staged, db_path)
        _fsync_dir(db_path.parent)
    except Exception as exc:
        failure = failures.translate(exc, db_path)
        if failure is None:
            raise
        raise RestoreError(f"恢复没有完成。\n{failure}") from exc
    finally:
        staged.unlink(missing_ok=True)
        Path(f"{staged}-journal").unlink(missing_ok=True)
    return kept
