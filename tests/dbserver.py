"""The database the suite runs on: SQLite files (default) or a PostgreSQL server named by FANPIN_TEST_DB_URL.

    FANPIN_TEST_DB_URL=postgresql+psycopg://user@127.0.0.1:PORT/postgres ./test.sh

With the variable set, every test's database is a PostgreSQL database on that server that starts exactly as a
migrated, empty one: each worker migrates a template once, copies it (CREATE DATABASE … TEMPLATE) once per name,
and before each test empties the copy's tables and restarts its sequences (10 ms, where CREATE DATABASE takes about
a second). Should a migration ever put rows into a new database, the tables cannot simply be emptied: then every
test gets its own CREATE DATABASE … TEMPLATE copy instead. The URL names
the server's maintenance database; the user must be allowed to create databases. scripts/pg_throwaway.sh starts a
throw-away server and prints such a URL (.ci/run does that).

Tests about SQLite files themselves (backups, PRAGMA, the file opened with sqlite3) are marked
`@pytest.mark.sqlite_only("why")` and skipped on PostgreSQL with that reason.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from desktop.services import keys
from desktop.services.db import Database, init_db, sqlite_url

SERVER_URL = os.environ.get("FANPIN_TEST_DB_URL") or None
ON_POSTGRES = SERVER_URL is not None
BACKEND = "postgresql" if ON_POSTGRES else "sqlite"

# The SQLCipher data key of the SQLite template and of every copy of it: fixed, so that copies open without
# unwrapping anything (and are copied, never re-encrypted, per test).
TEST_KEY = bytes.fromhex("5eed" * 16)


def copy_template(template, path) -> None:
    """An encrypted test database file copied with its key file."""
    shutil.copyfile(template, path)
    shutil.copyfile(keys.key_path(template), keys.key_path(path))


class Server:
    """A PostgreSQL server on which this test process creates and drops its own databases."""

    _counter = itertools.count(1)

    def __init__(self, url: str):
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=1)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.prefix = re.sub(r"\W", "_", f"fanpin_{worker}_{os.getpid()}")

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def new_name(self, what: str) -> str:
        return f"{self.prefix}_{what}_{next(self._counter)}"

    def create(self, name: str, template: str | None = None) -> str:
        with self.admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url_of(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def sweep(self) -> None:
        """Drop what this process left (a test killed half-way)."""
        with self.admin.connect() as c:
            names = c.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                              {"p": self.prefix + "\\_%"}).scalars().all()
        for name in names:
            self.drop(name)


_server: Server | None = None


def server() -> Server:
    global _server
    if _server is None:
        _server = Server(SERVER_URL)
    return _server


class Template:
    """A migrated, empty database that each test copies: a file on SQLite, a template database on PostgreSQL."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.copies: dict[str, str] = {}  # PostgreSQL: name → URL of this worker's database of that name
        if ON_POSTGRES:
            self.name = server().new_name("template")
            db = init_db(server().create(self.name))
            with db.engine.connect() as c:
                self.seeded = any(c.execute(text(f'SELECT 1 FROM "{t}" LIMIT 1')).first()
                                  for t in inspect(c).get_table_names() if t != "alembic_version")
            db.dispose()
            self.path = None
        else:
            self.path = folder / "template.sqlite3"
            keys.create(self.path, TEST_KEY)
            init_db(sqlite_url(self.path), key=TEST_KEY).dispose()  # dispose checkpoints the WAL: the file is all

    def __fspath__(self) -> str:  # copy_template(template, …) on SQLite
        if self.path is None:
            raise TypeError("the template is a PostgreSQL database, not a file")
        return str(self.path)

    def fresh(self, folder: Path, name: str = "test") -> Database:
        """A new database at the newest schema (no migration runs)."""
        if ON_POSTGRES:
            if self.seeded:  # rows from the migrations: a real copy each time
                dbname = server().new_name(name)
                db = init_db(server().create(dbname, template=self.name))
                db.test_dbname = dbname
                return db
            if name not in self.copies:
                self.copies[name] = server().create(server().new_name(name), template=self.name)
            else:
                _empty(self.copies[name])
            return init_db(self.copies[name])
        path = folder / f"{name}.sqlite3"
        copy_template(self.path, path)
        return init_db(sqlite_url(path), key=TEST_KEY)

    def url(self, folder: Path, name: str = "test") -> str:
        """The URL of a new copy, for a test that opens it itself (a CLI in a process, two seats)."""
        if ON_POSTGRES:
            return server().create(server().new_name(name), template=self.name)
        path = folder / f"{name}.sqlite3"
        copy_template(self.path, path)
        return sqlite_url(path)

    def close(self) -> None:
        if ON_POSTGRES:
            server().sweep()


def _empty(url: str) -> None:
    """Every table of the database emptied (but alembic_version) and every sequence restarted at 1: as migrated."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as c:
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            c.exec_driver_sql("SET LOCAL session_replication_role = replica")  # no foreign-key order needed
            for t in inspect(c).get_table_names():
                if t != "alembic_version":
                    c.exec_driver_sql(f'DELETE FROM "{t}"')
            for seq in c.execute(text("SELECT sequence_name FROM information_schema.sequences")).scalars():
                c.execute(text("SELECT setval(:s, 1, false)"), {"s": seq})
    finally:
        engine.dispose()


def release(db: Database) -> None:
    db.dispose()
    name = getattr(db, "test_dbname", None)
    if name is not None:
        server().drop(name)


def new_database(folder: Path, name: str = "db") -> Database:
    """A new database migrated from nothing (a module's own township): a file, or a PostgreSQL database."""
    if ON_POSTGRES:
        dbname = server().new_name(name)
        db = init_db(server().create(dbname))
        db.test_dbname = dbname
        return db
    return init_db(sqlite_url(folder / f"{name}.sqlite3"))
