"""The one place that builds the engine: init_db(url) for SQLite files, tests and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from . import backup

if TYPE_CHECKING:
    from .auth import CurrentUser

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker
    url: str

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


def sqlite_url(path: Path | str) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
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
    return ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()


def migrate(db: Database) -> Path | None:
    """Bring the schema to the newest version; back the file up first when it changes a
    database that already holds data. Returns the backup path, if one was taken."""
    current = current_revision(db.engine)
    if current == head_revision(db.engine):
        return None
    taken = None
    path = db.sqlite_path
    if current is not None and path is not None and path.exists():
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
    db = Database(engine, sessionmaker(engine, expire_on_commit=False), url)
    if run_migrations:
        migrate(db)
    return db
