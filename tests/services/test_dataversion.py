"""The data version (issue 20): every transaction that writes bumps it, in the same transaction; results of
assess are kept per (year, as-of, scope, data version) and computed again once anything is written, by this
process or another."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import event, select, text

from desktop.models import Household
from desktop.services import assess, audit, dataversion, income, rectification, register, screening
from desktop.services.income import LineData, RecordData
from tests.conftest import TEST_KEY, TODAY, family

ROOT = Path(__file__).resolve().parents[2]


def _version(db):
    with db.session("reader") as s:
        return s.execute(text("SELECT version, stamp FROM data_version")).one()


def _household(ctx, township, no="H1", serial=1, a28="15000"):
    data, members = family(township["villages"]["东村"], no=no, serial=serial)
    hid = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    ctx.run(income.save_record, RecordData(hid, 2024, collected_on=date(2024, 10, 10),
                                           lines=[LineData("A28", "务工收入", D(a28))],
                                           collected_by="采集员"), TODAY)
    return hid


def _entries(s, n: int, action: str = "x") -> None:
    """Audit rows written as the program writes them (audit.append: numbered after the newest under the chain's
    lock; the ids are the program's, not the PostgreSQL sequence's, so a bare INSERT would collide there)."""
    audit.append(s, [dict(user="u", action=action, table_name="t") for _ in range(n)])


def test_each_writing_transaction_bumps_once_and_reading_does_not(db, admin, township):
    v0, s0 = _version(db)
    with db.session(admin) as s:
        s.scalars(select(Household)).all()
        s.commit()
    assert _version(db) == (v0, s0)  # a read is no write
    with db.session(admin) as s:
        _entries(s, 3)  # Core executemany
        s.connection().exec_driver_sql("UPDATE audit_entry SET old = 'a' WHERE action = 'x'")  # driver SQL
        s.commit()
    v1, s1 = _version(db)
    assert v1 == v0 + 1 and s1 != s0  # one transaction, one bump, a new stamp


def test_a_rolled_back_write_leaves_the_version_and_a_savepoint_rollback_is_still_counted(db, admin, township):
    v0 = _version(db)
    with db.session(admin) as s:
        _entries(s, 1)
        s.rollback()
    assert _version(db) == v0
    with db.session(admin) as s:
        nested = s.begin_nested()
        _entries(s, 1)
        nested.rollback()
        _entries(s, 1, "y")
        s.commit()
    assert _version(db)[0] > v0[0]


def test_assess_is_cached_until_a_write_and_sees_writes_of_another_process(ctx, db, township):
    _household(ctx, township)
    dataversion.clear()
    first = ctx.read(assess.assess, 2024, TODAY)
    hits = dataversion.stats["hits"]
    again = ctx.read(assess.assess, 2024, TODAY)
    assert dataversion.stats["hits"] == hits + 1 and [a.to_json() for a in again] == [a.to_json() for a in first]
    other_day = ctx.read(assess.assess, 2024, date(2024, 11, 21))  # another as-of date: its own entry
    assert dataversion.stats["hits"] == hits + 1 and len(other_day) == 1

    # Another process (another seat) changes the income with plain SQL through the program's own engine: a new
    # version, on the SQLite file (encrypted: the other seat has the key) as on the PostgreSQL database.
    key = TEST_KEY if db.sqlite_path is not None else None
    code = (
        "import sys; sys.path.insert(0, '.');"
        "from desktop.services.db import init_db;"
        "from sqlalchemy import text;"
        f"db = init_db({db.url!r}, key={key!r});"
        "s = db.session('other');"
        "s.execute(text(\"UPDATE income_line SET amount = 3000000 WHERE item = 'A28'\"));"  # 30,000.00 yuan
        "s.commit()"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    [after] = ctx.read(assess.assess, 2024, TODAY)
    assert after.income.A33 == D("30000.00") and first[0].income.A33 == D("15000.00")


def test_uncommitted_writes_neither_read_nor_fill_the_cache(ctx, db, admin, township):
    _household(ctx, township)
    dataversion.clear()
    ctx.read(assess.assess, 2024, TODAY)
    with db.session(admin) as s:
        s.execute(text("UPDATE income_line SET amount = 100000 WHERE item = 'A28'"))  # 1,000.00, not committed
        [inside] = assess.assess(s, 2024, TODAY)
        assert inside.income.A33 == D("1000.00")
        s.rollback()
    [outside] = ctx.read(assess.assess, 2024, TODAY)
    assert outside.income.A33 == D("15000.00")



def test_the_cache_keeps_a_bounded_number_of_result_rows_newest_first(db, admin, township, monkeypatch):
    monkeypatch.setattr(dataversion, "CACHE_ROWS", 5)
    dataversion.clear()
    calls = []

    def compute(n):
        calls.append(n)
        return [n] * 2

    with db.session(admin) as s:
        for n in (1, 2, 3):  # 2 rows each: the third pushes the first out
            dataversion.cached(s, "t", n, lambda n=n: compute(n))
        for n in (3, 2, 1):
            dataversion.cached(s, "t", n, lambda n=n: compute(n))
    assert calls == [1, 2, 3, 1]


def test_a_result_may_count_for_fewer_rows_than_its_length(db, admin, township, monkeypatch):
    monkeypatch.setattr(dataversion, "CACHE_ROWS", 5)
    dataversion.clear()
    calls = []

    def compute(n):
        calls.append(n)
        return [n] * 4

    with db.session(admin) as s:
        dataversion.cached(s, "t", 1, lambda: compute(1))
        dataversion.cached(s, "t", 2, lambda: compute(2), weight=lambda r: len(r) // 4)  # 4 + 1 rows: both kept
        dataversion.cached(s, "t", 1, lambda: compute(1))
        dataversion.cached(s, "t", 2, lambda: compute(2))
        assert calls == [1, 2]
        dataversion.cached(s, "t", 3, lambda: compute(3))  # 4 rows more: the least recently used (1) goes
        dataversion.cached(s, "t", 1, lambda: compute(1))
    assert calls == [1, 2, 3, 1]


def test_a_transaction_writing_only_the_ledger_or_the_audit_log_keeps_the_results_that_do_not_read_them(
        ctx, db, admin, township):
    """Recording a check run (the rectification ledger, the audit log) moves the version on, but assess and the
    checks computed just before still hold: they are carried over, not computed again. Any other write in the
    same transaction, or a result that says it reads those tables, and they are computed again."""
    if db.sqlite_path is None:
        pytest.skip("SQLite: PostgreSQL moves the version at the commit, when another seat may have written too "
                    "(test_rectification checks that the checks run again there)")
    _household(ctx, township)
    dataversion.clear()
    first = ctx.read(assess.assess, 2024, TODAY)
    found = ctx.read(rectification.found, 2024, TODAY)
    v0 = _version(db)
    checked = ctx.run(rectification.check, 2024, TODAY)  # the ledger and its audit entry, nothing else
    assert checked.sync.new > 0 and _version(db)[0] == v0[0] + 1
    misses, carried = dataversion.stats["misses"], dataversion.stats["carried"]
    again = ctx.read(assess.assess, 2024, TODAY)
    assert len(again) == len(first) == 1 and again[0] is first[0]  # the same objects: not computed again
    assert ctx.read(rectification.found, 2024, TODAY) is found
    assert (dataversion.stats["misses"], dataversion.stats["carried"]) == (misses, carried + 2)
    assert ctx.read(rectification.found, 2024, TODAY) is found  # now filed under the new version: a plain hit
    assert (dataversion.stats["misses"], dataversion.stats["carried"]) == (misses, carried + 2)

    with db.session(admin) as s:  # the audit log and a household's data in one transaction: computed again
        _entries(s, 1)
        s.execute(text("UPDATE income_line SET amount = 2000000 WHERE item = 'A28'"))  # 20,000.00 yuan
        s.commit()
    [after] = ctx.read(assess.assess, 2024, TODAY)
    assert after.income.A33 == D("20000.00") and dataversion.stats["misses"] == misses + 1

    calls = []
    with db.session(admin) as s:
        for _ in range(2):
            dataversion.cached(s, "ledger", 1, lambda: calls.append(1) or [1], reads_records=True)
            dataversion.cached(s, "data", 1, lambda: calls.append(2) or [2])
            _entries(s, 1)  # a write of the audit log only, between the two rounds
            s.commit()
    assert calls == [1, 2, 1]  # the one that reads the records is computed again, the other is carried


def test_a_rolled_back_ledger_only_transaction_carries_nothing_over_and_a_savepoint_keeps_the_start(db, admin,
                                                                                                    township):
    dataversion.clear()
    calls = []
    with db.session(admin) as s:
        dataversion.cached(s, "data", 1, lambda: calls.append(1) or [1])
        _entries(s, 1)
        s.rollback()
        nested = s.begin_nested()
        _entries(s, 1)
        nested.rollback()
        _entries(s, 1, "y")  # bumps again after the savepoint took the first bump back
        s.commit()
        dataversion.cached(s, "data", 1, lambda: calls.append(2) or [2])
        s.commit()
        _entries(s, 1)
        s.execute(text("UPDATE region SET name = name"))  # a write of the data: nothing is carried over
        s.commit()
        dataversion.cached(s, "data", 1, lambda: calls.append(3) or [3])
    assert calls == [1, 3] if db.sqlite_path is not None else calls == [1, 2, 3]


def test_the_cached_computations_read_neither_the_ledger_nor_the_audit_log(ctx, db, township):
    """What makes carrying results over RECORDS-only writes right: assess, the checks and the screening list (the
    results kept with dataversion.cached) never read those tables
    (every statement sent while they compute, on a register with a ledger and an audit log to read)."""
    _household(ctx, township)
    _household(ctx, township, no="H2", serial=2, a28="3000")
    ctx.run(rectification.check, 2024, TODAY)
    dataversion.clear()
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_args):
        seen.append(statement.lower())

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        ctx.read(assess.assess, 2024, TODAY)
        ctx.read(rectification.found, 2024, TODAY)
        ctx.read(screening.key_checks, 2024, TODAY)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert any("income_line" in s for s in seen) and any("member" in s for s in seen)  # the listener saw the work
    assert not [s for s in seen if any(t in s for t in dataversion.RECORDS)]


def test_a_write_that_begins_with_a_common_table_expression_bumps_and_a_read_that_does_not(db, admin, township):
    v0 = _version(db)
    with db.session(admin) as s:
        s.connection().exec_driver_sql("WITH x(n) AS (SELECT 1) SELECT n FROM x").all()
        s.commit()
    assert _version(db) == v0  # a read through a CTE is no write
    with db.session(admin) as s:
        s.connection().exec_driver_sql(
            "WITH x(n) AS (SELECT 1) UPDATE app_setting SET value = value WHERE key IN (SELECT 'no such key' FROM x)")
        s.commit()
    assert _version(db)[0] == v0[0] + 1
