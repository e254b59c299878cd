"""A test-only shortcut for building large demo databases (tests/views/test_no_freeze.py's 20,000 households):
`raw_bulk_inserts(session)` makes the session's Core bulk inserts (`session.execute(insert(Table), [dict, …])`, as
services/demo.py writes its rows) go to the driver's executemany with the values already as the column types store
them, instead of through SQLAlchemy's per-row parameter processing (about half of the build's CPU).

The values stored are the types' own: each column's bind processor (the dialect's for Date and DateTime, Money's
process_bind_param, JSON's serializer, …) is the one SQLAlchemy would run, once per distinct value. The statement
goes through the session's SQLAlchemy connection (exec_driver_sql), so the engine's events (the data version's
bump) see it as before. Anything else — another statement, a column left out that has a Python-side default, a
row with other keys — goes to SQLAlchemy unchanged.
tests/views/test_no_freeze.py compares a small build both ways, table by table, value and SQLite storage class."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter

from sqlalchemy import Table
from sqlalchemy.sql.dml import Insert

stats = {"raw": 0, "declined": 0}  # bulk inserts done here, and those left to SQLAlchemy (the comparison test)
tables: set[str] = set()  # the tables written here


def _plain_insert(statement) -> Table | None:
    """The table of `insert(Table)` with nothing added (no values, returning, prefixes, dialect options)."""
    if not isinstance(statement, Insert) or not isinstance(statement.table, Table):
        return None
    if (statement._values or statement._multi_values or statement._returning or statement._prefixes
            or statement._post_values_clause is not None or statement._hints or len(statement.dialect_kwargs)
            or statement._inline or statement._select_names):
        return None
    return statement.table


_REMEMBERED = (date, datetime, Decimal, int, str, bool)  # equal values of these (same type) are stored alike


def _converter(column, dialect):
    """The column type's own bind processor (None: the value is stored as it is), remembered per distinct value:
    the 20,000 households' rows repeat the same timestamp, dates and amounts many times over."""
    process = column.type._cached_bind_processor(dialect)
    if process is None:
        return None
    seen = {}

    def convert(value):
        t = value.__class__
        if t not in _REMEMBERED or (t is datetime and value.tzinfo is not None):
            return process(value)  # None, JSON's dicts and lists, an aware datetime: every time
        try:
            return seen[t, value]
        except KeyError:
            stored = seen[t, value] = process(value)
            return stored

    return convert


def _executemany(session, table: Table, rows: list[dict]) -> bool:
    keys = list(rows[0])
    if set(keys) - set(table.c.keys()):
        return False
    for column in table.columns:  # a column left out takes its default: only server-side ones are done here
        if column.key not in rows[0] and column.default is not None:
            return False
    n = len(keys)
    if any(len(r) != n for r in rows):
        return False
    conn = session.connection()
    dialect = conn.dialect
    if dialect.paramstyle != "qmark":
        return False
    columns = [table.c[k] for k in keys]
    names = ", ".join(dialect.identifier_preparer.format_column(c) for c in columns)
    sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) "
           f"VALUES ({', '.join('?' for _ in columns)})")
    take = itemgetter(*keys) if n > 1 else (lambda r: (r[keys[0]],))
    try:
        values = list(zip(*map(take, rows), strict=True))  # by column; KeyError: another key set
    except KeyError:
        return False
    for i, c in enumerate(columns):
        convert = _converter(c, dialect)
        if convert is not None:
            values[i] = list(map(convert, values[i]))
    conn.exec_driver_sql(sql, list(zip(*values, strict=True)))
    return True


@contextmanager
def raw_bulk_inserts(session):
    """Within this block the session's bulk inserts of whole rows go to the driver's executemany (see above)."""
    original = session.execute

    def execute(statement, params=None, *args, **kwargs):
        if isinstance(statement, Insert) and isinstance(params, list) and params:
            table = _plain_insert(statement)
            if (table is not None and not args and not kwargs and all(type(p) is dict for p in params)
                    and _executemany(session, table, params)):
                stats["raw"] += 1
                tables.add(table.name)
                return None
            stats["declined"] += 1
        return original(statement, params, *args, **kwargs)

    session.execute = execute
    try:
        yield session
    finally:
        del session.execute
