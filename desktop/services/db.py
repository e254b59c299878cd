"""The one place that builds the engine: init_db(url) for SQLite files, tests and PostgreSQL."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from . import backup, dataversion, failures

if TYPE_CHECKING:
    from .auth import CurrentUser

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker
    url: str
    identity: tuple[int, int] | None = field(default=None, repr=False)  # (device, inode) of the file opened

    @property
    def sqlite_path(self) -> Path | None:
        db = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and db and db != ":memory:":
            return Path(db)
        return None

    def session(self, actor: CurrentUser | None = None, *, bootstrap: str | None = None) -> Session:
        """A session acting as `actor` (reloaded from the database: access.attach). Without one, every service
        refuses; `bootstrap` names the first-run setup, allowed only while the database has no user."""
        from . import access
        s = self.sessions()
        s.info["user"] = "system"
        try:
            if bootstrap is not None:
                access.attach_bootstrap(s, bootstrap)
            elif isinstance(actor, str):  # a name for the audit only: no rights
                s.info["user"] = actor
            elif actor is not None:
                access.attach(s, actor)
        except BaseException:
            s.close()
            raise
        return s

    def dispose(self) -> None:
        self.engine.dispose()

    def remember_file(self) -> None:
        """Note which file is open, so that a file deleted, moved or replaced behind the program's back is
        noticed before the next write (on Linux the old file would otherwise take the edits and vanish)."""
        path = self.sqlite_path
        if path is not None and path.exists():
            st = path.stat()
            self.identity = (st.st_dev, st.st_ino)

    def check_file(self) -> None:
        """Raise DatabaseGone when the file at the path is no longer the one the program opened."""
        if self.identity is None:
            return
        path = self.sqlite_path
        try:
            st = os.stat(path)
        except OSError:
            raise failures.DatabaseGone(path) from None
        # Windows reports no inode numbers (0): there an open database file cannot be deleted or replaced anyway.
        if st.st_ino and (st.st_dev, st.st_ino) != self.identity:
            raise failures.DatabaseGone(path)

    def check_writable(self) -> None:
        """Take the write lock and write one page for a moment, then roll back: a read-only file or folder, or a
        lock held by another program, is reported now (as a StorageError) rather than when the first edit is
        saved."""
        if self.sqlite_path is None:
            return
        try:
            raw = self.engine.raw_connection()
            try:
                con = raw.driver_connection
                version = con.execute("PRAGMA user_version").fetchone()[0]
                con.execute("BEGIN IMMEDIATE")
                try:  # writing the header's own value back: a read-only file refuses it, nothing changes
                    con.execute(f"PRAGMA user_version={int(version)}")
                finally:
                    con.execute("ROLLBACK")
            finally:
                raw.close()
        except Exception as exc:
            failure = failures.translate(exc, self.sqlite_path)
            if failure is None:
                raise
            raise failure from exc


def sqlite_url(path: Path | str) -> str:
    return f"sqlite:///{Path(path).resolve()}"


# FULL: each commit syncs the WAL, so a transaction reported as saved survives a power cut; NORMAL loses the
# last commits (tests/safety/test_power_loss.py shows both).
SYNCHRONOUS = "FULL"
BUSY_TIMEOUT_MS = 5000  # how long a write waits for another window's transaction before saying who holds it


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # first: the journal mode below may wait for a lock
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
    cur.close()


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return _head_of_migrations()


@functools.cache
def _head_of_migrations() -> str | None:
    """The newest revision of the migrations this program ships: read once a process (Alembic compiles every
    migration file to find it, 15 ms each time a database is opened; the files do not change while it runs)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def migrate(db: Database) -> Path | None:
    """Bring the schema to the newest version; back the file up first when it changes a
    database that already holds data. Returns the backup path, if one was taken."""
    current = current_revision(db.engine)
    if current == head_revision(db.engine):
        return None
    taken = None
    path = db.sqlite_path
    if current is not None and path is not None and backup.holds_data(path):
        taken = backup.backup_sqlite(path, "migrate")
    command.upgrade(_alembic_config(db.engine), "head")
    return taken


def init_db(url: str, *, run_migrations: bool = True) -> Database:
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        path = engine.url.database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    dataversion.install(engine)  # every writing transaction bumps the data version (caches key on it)
    db = Database(engine, sessionmaker(engine, expire_on_commit=False), url)
    if db.sqlite_path is not None:
        event.listen(engine, "commit", lambda _conn: db.check_file())  # before the commit reaches the file
    if run_migrations:
        migrate(db)
    db.remember_file()
    return db
