"""Log-in first, then the database opens (SPEC §12): the one path the window and the command line take.

For an encrypted SQLite file the password unwraps the data key (services.keys) and only then is the file opened,
migrated (after a backup) and the log-in checked against the users table (active, role). Failed attempts are
slowed down and locked out before the file opens (the guard file); they reach the audit log at the next successful
log-in. A plain SQLite file from before encryption is opened as it is for an administrator's log-in and converted
(services.convert); anyone else is asked to let an administrator log in first. A database created by this log-in
path does not exist: new files are made by `init`, `demo` or the first-run wizard (db.init_db).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..models.base import utcnow
from . import audit, auth, convert, failures, keys
from . import db as _db
from .auth import AuthError, CurrentUser, GuardState
from .db import Database, sqlite_url
from .errors import ServiceError
from .integrity import integrity_check

log = logging.getLogger(__name__)


@dataclass
class Opened:
    db: Database
    user: CurrentUser
    # The recovery key made when this log-in converted a plain database (shown once), else None.
    recovery_key: str | None = None


def log_in(path: Path, username: str, password: str, *, db: Database | None = None,
           now: datetime | None = None) -> Opened:
    """Log `username` in to the database file at `path` and return it open. `db`: the database this program
    already has open (注销/切换用户): the password is checked the same way, nothing is reopened. A full disk, a
    lock held by another program, a read-only file: a failures.StorageError saying what to do."""
    try:
        return _log_in(Path(path).resolve(), username, password, db, now)
    except ServiceError:
        raise
    except Exception as exc:
        failure = failures.translate(exc, Path(path))
        if failure is None:
            raise
        raise failure from exc


def _log_in(path: Path, username: str, password: str, db: Database | None, now: datetime | None) -> Opened:
    if db is None and not path.is_file():
        raise ServiceError(f"数据库不存在：{path}")
    if (db is None and keys.is_plain(path)) or (db is not None and db.key is None):
        return _log_in_plain(path, username, password, db, now)
    name = username.strip()[:64]
    data_key, guard = _unlock(path, name, password, now or utcnow())
    opened_here = db is None
    if db is None:
        keys.remember(path, data_key)
        problem = integrity_check(path, quick=True)  # before any migration or backup touches a damaged file
        if problem is not None:
            raise DatabaseDamaged(path, problem)
        db = _db.init_db(sqlite_url(path), key=data_key)  # migrations (after a backup) run now, as the user logs in
    elif db.key != data_key:
        raise ServiceError("密钥与已打开的数据库不符")
    pending = guard.take_pending()
    try:
        with db.session() as s:
            _audit_pending(s, pending)
            try:
                user = auth.authenticate(s, name, password, now=now or utcnow(), password_checked=True)
            finally:
                guard.clear(name)
                guard.save()  # the attempts are in the audit now (committed with a refusal too)
            s.commit()
        _note_township(db)
        convert.finish(path, data_key)
    except BaseException:
        if opened_here:
            db.dispose()
        raise
    return Opened(db, user)


def unlock(path: Path, username: str, password: str, now: datetime | None = None) -> bytes:
    """The data key of an encrypted database for a user's password, under the same delay and lock-out as a log-in
    (the self-test: it checks a copy and never writes the database itself)."""
    return _unlock(Path(path).resolve(), username.strip()[:64], password, now or utcnow())[0]


def _unlock(path: Path, name: str, password: str, now: datetime) -> tuple[bytes, keys.GuardFile]:
    guard = keys.GuardFile(path)
    state = GuardState(*guard.state(name))
    if (refusal := auth.guard_refusal(state, now)) is not None:
        _fail(guard, now, name or "（空）", *refusal)
    data_key = keys.unlock(path, name, password) if name else None
    if data_key is None:
        new, reason, message = auth.after_failure(state, now, "用户名或密码不正确")
        guard.set(name, new.failures, new.retry_at, new.locked_until)
        _fail(guard, now, name or "（空）", reason, message)
    return data_key, guard


def _fail(guard: keys.GuardFile, now: datetime, name: str, reason: str, message: str):
    guard.add_pending(now, name, reason)
    guard.save()
    raise AuthError(message)


def _audit_pending(session, pending: list[dict]) -> None:
    """The failed log-ins made while the database was closed, in the audit log with their own times."""
    rows = [dict(user=p["user"] or "（空）", action="login_failed", table_name="user_", record_id=None,
                 household_id=None, field=None, old=None, new=p["reason"], at=datetime.fromisoformat(p["at"]))
            for p in pending]
    audit.append(session, rows)


def _note_township(db: Database) -> None:
    """The township's name in the key file, for the log-in screen before the database is open."""
    from .setup import township_name
    vault = db.vault
    if vault is None:
        return
    with db.session() as s:
        name = township_name(s)
    if name and keys.township_hint(vault.db_path) != name:
        vault.set_extra(township=name)


def _log_in_plain(path: Path, username: str, password: str, db: Database | None, now) -> Opened:
    """A database from before encryption: an administrator's log-in converts it; nobody else may open it."""
    own = db is None
    if own:
        problem = integrity_check(path, quick=True)
        if problem is not None:
            raise DatabaseDamaged(path, problem)
        db = _db.init_db(sqlite_url(path), plain=True)
    try:
        with db.session() as s:
            user = auth.authenticate(s, username, password, now=now)
            s.commit()
        if db.sqlite_path is None:  # PostgreSQL: no file encryption here (the server's)
            return Opened(db, user)
        if not user.is_admin:
            raise AuthError("数据库尚未加密：请管理员先登录一次，程序会把数据库和备份转换为加密文件，"
                            "之后各用户照常登录")
        db.dispose()
        data_key, recovery = convert.convert(path, username.strip(), password)
        db = _db.init_db(sqlite_url(path), key=data_key)
        with db.session() as s:
            s.info["user"] = user.username
            audit.record(s, "encrypt", "app_setting", new="数据库和备份已转换为加密文件（SQLCipher）")
            s.commit()
        _note_township(db)
        return Opened(db, user, recovery_key=recovery)
    except BaseException:
        if own:
            db.dispose()
        raise


def recover(path: Path, recovery_key: str, username: str, new_password: str,
            now: datetime | None = None) -> Opened:
    """Every password lost: the recovery key opens the data key; `username` (an administrator, or a new one)
    gets `new_password`, and is logged in. Audited."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ServiceError(f"数据库不存在：{path}")
    if (problem := auth.check_new_password(new_password, username)):
        raise AuthError(f"新密码不可用：{problem}")
    data_key = keys.unlock_recovery(path, recovery_key)
    if data_key is None:
        raise AuthError("恢复密钥不正确：请按打印的恢复密钥逐字输入（不区分大小写，可省略短横线）")
    db = _db.init_db(sqlite_url(path), key=data_key)
    try:
        with db.session() as s:
            s.info["recovery_key_checked"] = True  # what a log-in is for recover_admin: the recovery key opened
            auth.recover_admin(s, username.strip(), new_password)
            s.commit()
        return log_in(path, username, new_password, db=db, now=now)
    except BaseException:
        db.dispose()
        raise


class DatabaseDamaged(Exception):
    """The database file failed the integrity check; nothing was changed."""

    def __init__(self, path: Path, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"数据库文件检查未通过：{path}\n{problem}")


class Gate:
    """What the log-in dialog talks to: a database file not yet open (start-up), or the database this program
    has open (注销/切换用户; PostgreSQL)."""

    def __init__(self, path: Path | None = None, db: Database | None = None):
        self.db = db
        self.path = Path(path).resolve() if path is not None else (db.sqlite_path if db is not None else None)

    def township(self) -> str | None:
        """The township's name for the log-in screen: from the open database, or the key file's note."""
        if self.db is not None:
            from .setup import township_name
            with self.db.session() as s:
                return township_name(s)
        if self.path is not None and keys.exists(self.path):
            return keys.township_hint(self.path)
        return None

    def log_in(self, username: str, password: str) -> Opened:
        if self.path is None:  # a server database: the users table checks the password
            with self.db.session() as s:
                user = auth.authenticate(s, username, password)
                s.commit()
            return Opened(self.db, user)
        opened = log_in(self.path, username, password, db=self.db)
        self.db = opened.db
        return opened

    def recover(self, recovery_key: str, username: str, new_password: str) -> Opened:
        if self.path is None:
            raise ServiceError("服务器数据库没有恢复密钥：请由数据库管理员处理")
        if self.db is not None:
            self.db.dispose()
            self.db = None
        opened = recover(self.path, recovery_key, username, new_password)
        self.db = opened.db
        return opened
