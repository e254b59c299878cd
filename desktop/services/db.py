"""The one place that builds the engine: init_db(url) for SQLite files, tests and PostgreSQL.

Where the database is: `--db`, the settings and the first-run choice all pass through database_url(): anything with
"://" is an SQLAlchemy URL (the county edition: postgresql+psycopg://user@host/db), anything else an SQLite file.
The PostgreSQL side (its password, the engine) lives in _open_server(), apart from the SQLite file's own opening."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Boolean, any_, bindparam, create_engine, event, func, literal_column, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.expression import ClauseElement, ColumnElement

from . import audit, backup, dataversion, failures, keys
from .errors import ServiceError
from .targets import is_url

if TYPE_CHECKING:
    from .auth import CurrentUser

T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker
    url: str
    identity: tuple[int, int] | None = field(default=None, repr=False)  # (device, inode) of the file opened
    key: bytes | None = field(default=None, repr=False)  # the SQLCipher data key (None: PostgreSQL, or plain)
    # the recovery key of a database created by this open: shown once (init, the first-run wizard), kept nowhere
    recovery_key: str | None = field(default=None, repr=False)
    vault: keys.Vault | None = field(default=None, repr=False)  # the key file, unlocked (encrypted SQLite only)

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

    def remember_file(self) -> None:  # SQLite only: a server's database cannot vanish behind the program's back
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
        saved. PostgreSQL: nothing to try here — a server refusing writes (permissions, read-only standby) says so
        at the first save, in the server's words."""
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


def database_url(target: Path | str) -> str:
    """The SQLAlchemy URL of `--db` or a setting: a URL as given, a path as its SQLite file."""
    return str(target) if is_url(target) else sqlite_url(target)


def shown_url(url: str) -> str:
    """The URL as shown to a person or written to a log: never its password."""
    if not is_url(url):
        return url
    return make_url(url).render_as_string(hide_password=True)


KEYRING_SERVICE = "fanpin-workbench"


def server_password(url: URL) -> str | None:
    """The database's own password from the OS keyring (service "fanpin-workbench", user "user@host:port/db"),
    when the keyring package is installed. PGPASSWORD and the pgpass file are read by libpq itself; the program's
    user password (FANPIN_PASSWORD) is never used for the database, nor is any password kept in a settings file."""
    try:
        import keyring  # optional: not a dependency
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, keyring_user(url))
    except Exception:  # noqa: BLE001 - no usable keyring backend: libpq's own sources still apply
        return None


def keyring_user(url: URL) -> str:
    return f"{url.username or ''}@{url.host or ''}:{url.port or 5432}/{url.database or ''}"


POSTGRES_DRIVER = "postgresql+psycopg"


class ServerUnreachable(ServiceError):
    """The database server cannot be reached or refuses the connection (address, password, network)."""

    def __init__(self, url: str, exc: BaseException):
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else ""
        if "password" in reason or "authentication" in reason:
            hint = "数据库的用户名或密码不对：密码请放在环境变量 PGPASSWORD、pgpass 文件或系统钥匙串中"
        elif "does not exist" in reason:
            hint = "服务器上没有这个数据库：请县里的数据库管理员先建好（见 README“县级数据库”）"
        else:
            hint = "请检查地址和端口、网络，以及数据库服务器是否已启动"
        super().__init__(f"无法连接数据库 {shown_url(url)}：{hint}。（{reason}）")


def _open_server(url: str) -> Engine:
    """An engine on a database server (PostgreSQL): the password from the keyring if the URL and libpq's own
    sources (PGPASSWORD, pgpass) give none; connections checked before use, so a seat survives a server restart."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":  # the bare scheme means psycopg2 to SQLAlchemy: the program ships psycopg 3
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    if parsed.password is None and not os.environ.get("PGPASSWORD"):
        password = server_password(parsed)
        if password:
            parsed = parsed.set(password=password)
    try:
        return create_engine(parsed, future=True, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise ServiceError("连接县级数据库需要 PostgreSQL 驱动 psycopg：请安装 pip install \".[postgres]\"，"
                           "或使用包含它的安装包") from exc


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


class DatabaseLocked(ServiceError):
    """An encrypted database asked to open without its key: log in first (services.opening)."""


class NeedsConversion(ServiceError):
    """A plain SQLite database from before encryption: an administrator's log-in converts it."""


def init_db(url: str, *, key: bytes | None = None, plain: bool = False, run_migrations: bool = True) -> Database:
    """The engine for a database URL. An SQLite file is opened by _init_sqlite (encrypted); a server's database
    (PostgreSQL) opens without a key: its encryption at rest is the server's (its disk, its roles)."""
    if url.startswith("sqlite"):
        return _init_sqlite(url, key=key, plain=plain, run_migrations=run_migrations)
    engine = _open_server(url)
    dataversion.install(engine)  # as on SQLite: every writing transaction bumps the data version
    audit.install(engine)  # after it: each commit locks the data version, then the audit chain (one order, no cycle)
    try:
        return _finish(Database(engine, sessionmaker(engine, expire_on_commit=False), url), run_migrations)
    except OperationalError as exc:
        engine.dispose()
        raise ServerUnreachable(url, exc) from exc


def _finish(db: Database, run_migrations: bool) -> Database:
    if run_migrations:
        migrate(db)
    db.remember_file()
    return db


# Prepared statements the driver keeps per connection (its default: 128). SQLite gives each connection a small
# pool of fast memory for small allocations (lookaside: a few dozen slots); every cached statement holds some of it,
# so with a full cache each text parameter an import binds, and each text it converts for a date column, went to
# malloc instead: the inserts of a first county import took 2.7 s instead of 1.6 s (bench/bench_limits.py; at 32
# the slots were still gone). Preparing a statement again costs tens of microseconds: nothing a page or a check
# would notice (bench_rules: no change).
STATEMENT_CACHE = 8


def _init_sqlite(url: str, *, key: bytes | None, plain: bool, run_migrations: bool) -> Database:
    """An SQLite file, encrypted with SQLCipher under `key` (the data key, unwrapped at log-in).

    Without a key: the key this process already unlocked for the file; a file that does not exist yet (or is
    empty) becomes a new encrypted database with a new data key and key file (its recovery key in
    Database.recovery_key, to be shown once); an encrypted file is DatabaseLocked, a plain one NeedsConversion.
    `plain` opens a plain file as it is (only to convert it)."""
    database = make_url(url).database
    path = Path(database).resolve() if database and database != ":memory:" else None
    recovery = None
    if plain:
        key = None
    elif path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = key or keys.known(path)
        if key is None:
            if not path.exists() or path.stat().st_size == 0:
                key, recovery = keys.create(path)
            elif keys.is_plain(path):
                raise NeedsConversion(f"数据库 {path} 尚未加密：请由管理员登录一次，程序会把它转换为加密的数据库")
            else:
                raise DatabaseLocked(f"数据库 {path} 已加密：请先用用户名和密码登录")
    # an in-memory database (nothing on the disk to protect) is used as it is
    engine = create_engine(url, module=keys.dbapi(), future=True,
                           connect_args={"cached_statements": STATEMENT_CACHE})
    if key is not None:
        event.listen(engine, "connect", lambda con, _rec: keys.apply_key(con, key), insert=True)
    event.listen(engine, "connect", _sqlite_pragmas)
    dataversion.install(engine)  # every writing transaction bumps the data version (caches key on it)
    vault = keys.Vault(path, key) if key is not None and path is not None else None
    db = Database(engine, sessionmaker(engine, expire_on_commit=False, info={"vault": vault} if vault else {}), url,
                  key=key, recovery_key=recovery, vault=vault)
    if path is not None:
        if key is not None:
            keys.remember(path, key)
        event.listen(engine, "commit", lambda _conn: db.check_file())  # before the commit reaches the file
    try:
        if run_migrations:
            migrate(db)
        if path is not None:
            with engine.connect():  # the file exists from here (a new one is created by the first connection)
                pass
            for own in (path, keys.key_path(path), keys.guard_path(path)):
                if own.exists():
                    keys.private(own)
        db.remember_file()
    except BaseException:
        engine.dispose()
        raise
    return db


# ------------------------------------------------------------------ what works the same on both databases

# Bound parameters in one statement: psycopg allows 65,535, SQLite 32,766. A long id list is sent in batches of
# this many (assess, checks and reports may name every household of a county: 100,000 ids).
IN_BATCH = 10_000


def among(column, values: Iterable):
    """`column IN values` for a list of any length, as ONE bound parameter when it is long: PostgreSQL
    `column = ANY(:array)`, SQLite `column IN (SELECT value FROM json_each(:json))`; both use the column's index.
    A short list stays a plain IN. (One `IN (…)` with a parameter per value fails on PostgreSQL beyond 65,535.)"""
    if isinstance(values, ClauseElement):  # a subquery
        return column.in_(values)
    values = list(values)
    if len(values) <= IN_BATCH:
        return column.in_(values)
    return _Among(column, values)


class _Among(ColumnElement):
    inherit_cache = False  # the values are the statement: nothing to cache
    type = Boolean()

    def __init__(self, column, values: list):
        self.column, self.values = column, values


@compiles(_Among, "postgresql")
def _among_postgresql(element, compiler, **kw):
    array = bindparam(None, element.values, type_=postgresql.ARRAY(element.column.type))
    return compiler.process(element.column == any_(array), **kw)


@compiles(_Among)
def _among_json(element, compiler, **kw):
    values = [v.isoformat() if isinstance(v, date) else v for v in element.values]
    listed = select(literal_column("value")).select_from(func.json_each(bindparam(None, json.dumps(values))))
    return compiler.process(element.column.in_(listed.scalar_subquery()), **kw)


def chunks(values: Iterable[T], size: int = IN_BATCH) -> Iterator[list[T]]:
    """`values` in lists of at most `size`: one `IN (…)` per list stays below every driver's parameter limit."""
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def rows_in(session: Session, query: Callable[[list], object], values: Iterable, *, scalars: bool = False) -> list:
    """Run `query(batch)` (a select with `column.in_(batch)`) for each batch of `values` and return all rows (or
    scalars) together. Order across batches follows the batches; sort afterwards when order matters."""
    out: list = []
    for batch in chunks(values):
        result = session.scalars(query(batch)) if scalars else session.execute(query(batch))
        out.extend(result)
    return out


def take_write_lock(session: Session) -> None:
    """SQLite: take the database's write lock now (waiting up to BUSY_TIMEOUT_MS), so that what this transaction
    reads next cannot be changed by another process before it writes. PostgreSQL needs no such step."""
    if session.get_bind().dialect.name == "sqlite":
        # A write that changes nothing still makes the transaction a writer (SQLite's RESERVED lock).
        session.execute(text("UPDATE alembic_version SET version_num = version_num WHERE 1 = 0"))


def reserve_ids(session: Session, model, count: int) -> Sequence[int]:
    """`count` primary keys for rows of `model` that this transaction will insert itself (bulk inserts that give
    ids: the importer, the demo). Never max+1 read without a lock: PostgreSQL hands them out from the table's own
    sequence (other seats' inserts get others); SQLite under its write lock, held to the commit, after the largest
    id stored."""
    if count <= 0:
        return range(0)
    bind = session.get_bind()
    table = model.__table__.name
    if bind.dialect.name == "postgresql":
        return list(session.scalars(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                                         "FROM generate_series(1, :n)"), {"t": table, "n": count}))
    take_write_lock(session)
    first = (session.scalar(select(func.max(model.__table__.c.id))) or 0) + 1
    return range(first, first + count)


class IdSource:
    """Ids one at a time for a bulk insert of `model`, reserved through reserve_ids in growing blocks."""

    def __init__(self, session: Session, model, block: int = 1000):
        self.session, self.model, self.block = session, model, block
        self._ids: Iterator[int] = iter(())
        self._high = 0  # SQLite: ids handed out but perhaps not inserted yet must not be handed out again

    def __call__(self) -> int:
        for value in self._ids:
            self._high = max(self._high, value)
            return value
        ids = reserve_ids(self.session, self.model, self.block)
        if isinstance(ids, range) and ids.start <= self._high:
            ids = range(self._high + 1, self._high + 1 + len(ids))
        self._ids = iter(ids)
        self.block = min(self.block * 2, 50_000)
        return self()


# ------------------------------------------------------------------ locks between seats

IMPORT_LOCK = 0x66616E71  # PostgreSQL advisory lock key of imports ("fanq"); migrations use 0x66616E70 (env.py)
LOCK_WAIT_SECONDS = 10


class Busy(ServiceError):
    """Another seat holds the lock this work needs; nothing was changed."""


def exclusive(session: Session, key: int, what: str, wait_seconds: float = LOCK_WAIT_SECONDS) -> None:
    """Only one seat at a time does `what` (an import): held until this transaction ends. A second one waits up
    to `wait_seconds`, then is refused in Chinese. PostgreSQL: a transaction-scoped advisory lock. SQLite: the
    database's write lock (taken now rather than at the first insert)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = '{int(wait_seconds * 1000)}ms'"))
        try:
            with session.begin_nested():
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        except OperationalError as exc:
            raise Busy(f"另一位用户正在{what}，{wait_seconds:g} 秒内没有完成；数据没有改变，请稍后再{what}") from exc
        session.execute(text("SET LOCAL lock_timeout = 0"))
    elif bind.dialect.name == "sqlite":
        take_write_lock(session)
