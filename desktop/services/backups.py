"""Backups and restore as a user's actions: 管理员 only (SPEC §12: a copy of the whole database is not for a
村级录入员). The file work itself is services.backup; this module is what the window calls, so the role is decided
here and not by which buttons a page shows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from . import access, backup
from .errors import ServiceError


def _path(session: Session) -> Path:
    url = session.get_bind().url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise ServiceError("当前使用的是县级数据库（PostgreSQL），不是本机文件：本页的备份与恢复只管单机数据库。"
                           "县级数据库由县里的数据库管理员用 pg_dump 每天备份、用 pg_restore 恢复"
                           "（见 README“县级数据库”）")
    return Path(url.database)


def list_backups(session: Session) -> list[backup.BackupInfo]:
    access.admin(session, "查看备份")
    return backup.list_backups(_path(session))


def backup_folder(session: Session) -> Path:
    access.admin(session, "打开备份文件夹")
    return backup.backup_dir_for(_path(session))


def take_backup(session: Session, now: datetime | None = None) -> Path:
    """A backup now, taken by hand."""
    access.admin(session, "备份数据库")
    return backup.backup_sqlite(_path(session), "manual", now=now)


def restore_backup(session: Session, backup_path: Path, now: datetime | None = None) -> Path | None:
    """Put a backup back. Every connection of the program is closed first (the caller reopens the program).
    Returns the copy of the current data taken first (None when it held no data)."""
    access.admin(session, "恢复备份")
    path = _path(session)
    engine = session.get_bind()
    session.close()
    engine.dispose()
    return backup.restore(path, Path(backup_path), now=now)
