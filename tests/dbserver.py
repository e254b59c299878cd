"""The database the suite runs on: SQLite files (default) or a PostgreSQL server named by FANPIN_TEST_DB_URL.

    FANPIN_TEST_DB_URL=postgresql+psycopg://user@127.0.0.1:PORT/postgres ./test.sh

With the variable set, every test's database is a PostgreSQL database on that server that starts exactly as a
migrated, empty one: each worker migrates a template once, copies it (CREATE DATABASE … TEMPLATE) once per name,
and before each test puts the copy back as the template is (10–20 ms, where CREATE DATABASE takes a second or more
on a busy machine): its tables emptied, the rows the migrations wrote (the data version's one row) written again,
its sequences set where the template's are. A copy put back is a different database as far as caches go: its
data version gets a stamp of its own (services.dataversion keys results by URL, version and stamp, and the next
test reuses the URL). The URL names
the server's maintenance database; the user must be allowed to create databases. scripts/pg_throwaway.sh starts a
throw-away server and prints such a URL (.ci/run does that).

Tests about SQLite files themselves (backups, PRAGMA, the file opened with sqlite3) are marked
`@pytest.mark.sqlite_only("why")` and skipped on PostgreSQL with that reason.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import shutil
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

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
            if template:  # a template must have no connections (a test's own database copied: its keeper's)
                c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :t"),
                          {"t": template})
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
        self.keepers: dict[str, object] = {}  # PostgreSQL: name → the engine that puts that database back
        if ON_POSTGRES:
            self.name = server().new_name("template")
            db = init_db(server().create(self.name))
            self.seeded = _seed_of(db.engine)
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
        """A new database at the newest schema (no migration runs; on SQLite not even Alembic's look at the revision:
        the copy is of the migrated file)."""
        if ON_POSTGRES:
            if name not in self.copies:
                self.copies[name] = server().create(server().new_name(name), template=self.name)
                self.keepers[name] = create_engine(self.copies[name], pool_size=1, pool_pre_ping=True)  # kept
            else:
                _put_back(self.keepers[name], self.seeded)
            return init_db(self.copies[name])
        path = folder / f"{name}.sqlite3"
        copy_template(self.path, path)
        return init_db(sqlite_url(path), key=TEST_KEY, run_migrations=False)

    def url(self, folder: Path, name: str = "test") -> str:
        """The URL of a new copy, for a test that opens it itself (a CLI in a process, two seats)."""
        if ON_POSTGRES:
            return server().create(server().new_name(name), template=self.name)
        path = folder / f"{name}.sqlite3"
        copy_template(self.path, path)
        return sqlite_url(path)

    def close(self) -> None:
        if ON_POSTGRES:
            for engine in self.keepers.values():
                engine.dispose()
            server().sweep()


class _Seed:
    """What the migrations left in the template: the rows of its tables and where its sequences stand."""

    def __init__(self, tables: list[str], rows: dict[str, list[dict]], sequences: dict[str, tuple[int, bool]]):
        self.tables, self.rows, self.sequences = tables, rows, sequences


def _seed_of(engine) -> _Seed:
    with engine.connect() as c:
        tables = [t for t in inspect(c).get_table_names() if t != "alembic_version"]
        rows = {}
        for t in tables:
            got = [dict(r._mapping) for r in c.execute(text(f'SELECT * FROM "{t}"'))]
            if got:
                rows[t] = got
        sequences = {}
        for seq in c.execute(text("SELECT sequence_name FROM information_schema.sequences")).scalars():
            last, called = c.execute(text(f'SELECT last_value, is_called FROM "{seq}"')).one()
            sequences[seq] = (int(last), bool(called))
    return _Seed(tables, rows, sequences)


def _put_back(engine, seed: _Seed) -> None:
    """The database as the template is: every table emptied (but alembic_version), the migrations' rows written
    again, every sequence where the template's stands; the data version with a stamp of its own. `engine` keeps
    its one connection from test to test (connecting costs as much as the rest)."""
    with engine.begin() as c:
        # One round trip for what has no parameters (each costs milliseconds on a busy machine).
        c.exec_driver_sql(";\n".join([
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
            "SET LOCAL session_replication_role = replica",  # no foreign-key order needed
            *(f'DELETE FROM "{t}"' for t in seed.tables),
            "SELECT " + ", ".join(f"setval('\"{seq}\"', {last}, {'true' if called else 'false'})"
                                  for seq, (last, called) in seed.sequences.items()),
        ]))
        for t, rows in seed.rows.items():
            names = ", ".join(f'"{k}"' for k in rows[0])
            values = ", ".join(f":{k}" for k in rows[0])
            c.execute(text(f'INSERT INTO "{t}" ({names}) VALUES ({values})'), rows)
        if "data_version" in seed.rows:
            c.execute(text("UPDATE data_version SET stamp = :s"), {"s": secrets.randbits(62)})


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
