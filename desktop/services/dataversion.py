"""The data version (issue 20): a one-row counter in the database that every transaction which writes
bumps, in that same transaction, so a result computed from the data can be kept and reused until the
data change — whichever window, process or seat changed them.

How the bump happens: engine events (installed by services.db.init_db) watch every statement sent to the
database. The first INSERT, UPDATE or DELETE of a transaction — ORM flush, Core insert, executemany or
raw driver SQL through SQLAlchemy alike — is followed at once by
    UPDATE data_version SET version = version + 1, stamp = <random> WHERE id = 1
on the same connection. A rollback takes the bump back with the writes; a commit publishes both.

On PostgreSQL (several seats writing at once) the bump waits for the commit: the first write only marks the
transaction, and the UPDATE runs just before COMMIT (the engine's commit event). The counter's row is then locked
for the moment of the commit, not for the whole transaction, so one seat's long import does not hold every other
seat's save, and two transactions open in one thread cannot wait on each other. On SQLite, where there is one
writer anyway, the bump at the first write is what takes the write lock early (take_write_lock).

What it means for a cache (`cached`): a result is stored under (database, version, stamp, key) only
when the session's own transaction has written nothing that is not committed, and the version is read
before computing, so a result is never filed under a version newer than the data it saw.

Records of what was done to the data (RECORDS: the rectification ledger, the audit log) are not what results are
computed from. A committed transaction of this process that wrote only those tables moves the version on from the
one just before it (SQLite's bump holds the write lock, so nothing else was committed in between): a result filed
under the earlier version that does not read them (`cached(reads_records=False)`, the default) still holds and is
carried over to the new one when asked for. So recording a check run in the ledger — 数据质量's 检查 — does not
make 首页, 预警中心 and 集中排查 compute the whole register again. Another process's such write is not known here:
its version is new to this one, and results are computed again, as before. On PostgreSQL every write still starts
afresh (the bump waits for the commit there; not done for it yet).
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from typing import Callable, Hashable, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from . import access

T = TypeVar("T")

_WROTE = "dataversion.wrote"  # connection info: this transaction has bumped the version
_STEP = "dataversion.step"  # connection info (SQLite): ((version, stamp) before the bump, (version, stamp) after)
_OTHER = "dataversion.other"  # connection info: this transaction wrote a table outside RECORDS (or one not known)
_TRANSACTION_KEYS = (_WROTE, _STEP, _OTHER)
_PRESENT = "dataversion.present"  # connection info: the table exists (known once seen)
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_CTE_WRITE = re.compile(r"\b(?:INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
_BUMP = "UPDATE data_version SET version = version + 1, stamp = {stamp} WHERE id = 1"


# Tables that record what was done to the data, not data a result is computed from: the rectification ledger (a
# check run's record) and the audit log. tests/services/test_dataversion.py checks that the cached computations
# (assess, the checks, the screening list) read neither.
RECORDS = frozenset({"rectification", "audit_entry"})
_TARGET = re.compile(r'\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+'
                     r'"?(\w+)"?\s', re.IGNORECASE)


def _is_write(statement: str) -> bool:
    """A statement that may change a table. One that begins with a common table expression (`WITH … INSERT`,
    `WITH … UPDATE …`) counts as a write when any write keyword appears in it: a read that only mentions one
    costs a needless recomputation, never a stale result."""
    head = statement.lstrip()[:7].upper()
    return head.startswith(_WRITES) or (head.startswith("WITH") and _CTE_WRITE.search(statement) is not None)


def _writes_only_records(statement: str) -> bool:
    """Does this write statement write one of RECORDS (and nothing else)? Unknown shapes count as other data."""
    m = _TARGET.match(statement)
    return m is not None and m.group(1).lower() in RECORDS


def _table_present(dbapi_conn, dialect_name: str) -> bool:
    cur = dbapi_conn.cursor()
    try:
        if dialect_name == "sqlite":
            cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'data_version'")
        else:
            cur.execute("SELECT 1 FROM information_schema.tables WHERE table_name = 'data_version'")
        return cur.fetchone() is not None
    finally:
        cur.close()


def _bump(dbapi, sqlite: bool = False):
    """Move the version on; on SQLite (under the write lock) also return (before, after) as (version, stamp)."""
    cur = dbapi.cursor()
    try:
        before = None
        if sqlite:
            cur.execute("SELECT version, stamp FROM data_version WHERE id = 1")
            before = cur.fetchone()
        stamp = secrets.randbits(62)
        cur.execute(_BUMP.format(stamp=stamp))
        if before is None:
            return None
        return (int(before[0]), int(before[1])), (int(before[0]) + 1, stamp)
    finally:
        cur.close()


def _after_execute(conn, cursor, statement, _parameters, _context, _executemany) -> None:
    info = conn.info
    if info.get(_OTHER) and info.get(_WROTE) or not _is_write(statement) or "data_version" in statement:
        return
    if not info.get(_OTHER) and not _writes_only_records(statement):
        info[_OTHER] = True
    if info.get(_WROTE):
        return
    dbapi = cursor.connection
    if not info.get(_PRESENT):
        if not _table_present(dbapi, conn.dialect.name):  # a database not yet migrated to 0018
            return
        info[_PRESENT] = True
    if conn.dialect.name == "sqlite":
        _stepped(info, _bump(dbapi, sqlite=True))
    info[_WROTE] = True  # PostgreSQL: bumped at the commit (_commit)


def _stepped(info, step) -> None:
    """Note the bump's (before, after); after a savepoint's rollback took an earlier bump's _WROTE, the version this
    transaction started from is still the first bump's `before` (the steps between are all its own)."""
    prior = info.get(_STEP)
    if step is None:  # no counter row to read: nothing is carried over
        info.pop(_STEP, None)
        info[_OTHER] = True
        return
    info[_STEP] = step if prior is None else (prior[0], step[1])


def _commit(conn) -> None:
    """Just before COMMIT: PostgreSQL's deferred bump of a transaction that wrote; on SQLite, a transaction that
    wrote only RECORDS lets results of the version before it be carried over to its own (should the COMMIT fail,
    its version never exists: a later bump draws another stamp)."""
    info = conn.info
    step, other = info.pop(_STEP, None), info.pop(_OTHER, None)
    if info.pop(_WROTE, None) and conn.dialect.name != "sqlite":
        _bump(conn.connection.dbapi_connection)
    if step is not None and not other:
        _carry_over(str(conn.engine.url), *step)


def _forget(conn, *_args) -> None:
    for k in _TRANSACTION_KEYS:
        conn.info.pop(k, None)


def _forget_savepoint(conn, *_args) -> None:
    """SQLite: the bump may have gone with the savepoint, the next write bumps again. PostgreSQL: the writes before
    the savepoint still stand, so the bump at the commit stays due (at worst one bump too many: harmless)."""
    if conn.dialect.name == "sqlite":
        conn.info.pop(_WROTE, None)  # the next write bumps again (_stepped keeps the version it started from)


def _forget_pooled(_dbapi_conn, record, _reset_state) -> None:
    for k in _TRANSACTION_KEYS:
        record.info.pop(k, None)


def install(engine: Engine) -> None:
    """Bump the data version in every transaction that writes through this engine."""
    event.listen(engine, "after_cursor_execute", _after_execute)
    event.listen(engine, "commit", _commit)
    event.listen(engine, "rollback", _forget)
    event.listen(engine, "rollback_savepoint", _forget_savepoint)
    event.listen(engine.pool, "reset", _forget_pooled)
    event.listen(engine.pool, "checkin", lambda _c, record: _forget_pooled(_c, record, None))


def take_write_lock(session: Session) -> None:
    """Make this session's transaction a writing one now (the data version's bump): on SQLite the write lock is
    held from here to the commit, so ids read as max + 1 stay free until the rows that take them are in."""
    access.logged_in(session)
    conn = session.connection()
    if conn.info.get(_WROTE):
        return
    if not conn.info.get(_PRESENT):
        if not _table_present(conn.connection.dbapi_connection, conn.dialect.name):
            conn.exec_driver_sql("DELETE FROM audit_entry WHERE 0")  # any write statement takes the lock
            return
        conn.info[_PRESENT] = True
    if conn.dialect.name == "sqlite":
        _stepped(conn.info, _bump(conn.connection.dbapi_connection, sqlite=True))
    conn.info[_WROTE] = True  # PostgreSQL: row locks are taken where needed; the bump waits for the commit


def written_at_commit(conn) -> None:
    """PostgreSQL: this transaction writes rows at its commit that no statement has written yet (the audit
    chain's): bump the version then too. (SQLite sees those rows' INSERT like any other.)"""
    if not conn.info.get(_PRESENT):
        if not _table_present(conn.connection.dbapi_connection, conn.dialect.name):
            return
        conn.info[_PRESENT] = True
    conn.info[_WROTE] = True


def current(session: Session) -> tuple[int, int] | None:
    """(version, stamp) as this session sees it; None when the database has no data version (not migrated)."""
    access.logged_in(session)
    conn = session.connection()
    if not conn.info.get(_PRESENT):
        if not _table_present(conn.connection.dbapi_connection, conn.dialect.name):
            return None
        conn.info[_PRESENT] = True
    row = conn.execute(text("SELECT version, stamp FROM data_version WHERE id = 1")).first()
    return None if row is None else (int(row[0]), int(row[1]))


def uncommitted(session: Session) -> bool:
    """Has this session's transaction written anything not yet committed (pending objects included)?"""
    access.logged_in(session)
    if session.new or session.dirty or session.deleted:
        return True
    return bool(session.connection().info.get(_WROTE))


# ---------------------------------------------------------------- a small cache of results

CACHE_ROWS = 120_000  # rows of results kept in this process: one county's assessment (~300 MB at 100,000)

_cache: OrderedDict[Hashable, tuple[object, int, bool]] = OrderedDict()  # (result, weight, reads RECORDS)
# (database, version after) -> version before, for this process's committed transactions that wrote only RECORDS
_records_only: OrderedDict[tuple[str, tuple[int, int]], tuple[int, int]] = OrderedDict()
RECORDS_ONLY_KEPT = 256
_lock = threading.Lock()
stats = {"hits": 0, "misses": 0, "carried": 0}


def _carry_over(url: str, before: tuple[int, int], after: tuple[int, int]) -> None:
    with _lock:
        _records_only[(url, after)] = before
        while len(_records_only) > RECORDS_ONLY_KEPT:
            _records_only.popitem(last=False)


def _weight(result: object) -> int:
    return len(result) if isinstance(result, (list, tuple, dict)) else 1


def cached(session: Session, name: str, key: Hashable, compute: Callable[[], T], *,
           weight: Callable[[T], int] | None = None, reads_records: bool = False) -> T:
    """compute(), or the result it gave before for the same database, data version, `name` and `key`.

    The key must hold everything the result depends on other than the data: year, as-of date, filters, and
    the acting user's scope (access.scope) when the result is cut to it. A session with uncommitted writes
    neither reads nor fills the cache. The same object is returned to every caller: treat it as read-only.
    `weight(result)`: the rows it counts for against CACHE_ROWS, when its rows are much smaller than an
    assessment's (default: its length). `reads_records`: the result reads the ledger or the audit log (RECORDS), so
    a transaction that wrote only those makes it stale too (default: it does not, and is carried over such writes).

    For the checks service: `cached(session, "checks", (year, as_of, access.scope(session)), lambda: ...)`."""
    access.logged_in(session)
    if session.autoflush:
        session.flush()
    version = current(session)
    if version is None or uncommitted(session):
        return compute()
    url = str(session.get_bind().url)
    full = (url, version, name, key)
    with _lock:
        if full in _cache:
            _cache.move_to_end(full)
            stats["hits"] += 1
            return _cache[full][0]  # type: ignore[return-value]
        step = version
        while (url, step) in _records_only:  # versions that moved on by writes to RECORDS only
            step = _records_only[(url, step)]
            earlier = (url, step, name, key)
            if earlier in _cache and not _cache[earlier][2]:
                _cache[full] = _cache.pop(earlier)
                stats["hits"] += 1
                stats["carried"] += 1
                return _cache[full][0]  # type: ignore[return-value]
    stats["misses"] += 1
    result = compute()
    weight = _weight(result) if weight is None else weight(result)
    with _lock:
        _cache[full] = (result, weight, reads_records)
        total = sum(w for _r, w, _rr in _cache.values())
        while total > CACHE_ROWS and len(_cache) > 1:  # the oldest go first; the newest is always kept
            _key, (_r, w, _rr) = _cache.popitem(last=False)
            total -= w
    return result


def clear() -> None:
    """Forget every cached result (tests; a restore that replaces the file)."""
    with _lock:
        _cache.clear()
        _records_only.clear()
