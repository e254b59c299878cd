"""The audit log is a chain (issue 15, SPEC §12): each entry holds HMAC-SHA256(key, previous chain value ‖ its own
content); an entry edited, deleted, forged or written without the program is reported in Chinese with its number
and time. Someone with write access to the table edits it directly here, with plain SQL outside the program's
services, as another program would: on SQLite with the file's key (SQLCipher), on PostgreSQL as the database
user. Both databases run these tests (FANPIN_TEST_DB_URL)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from alembic import command
from sqlalchemy import func, select, text

from desktop.models import AuditEntry
from desktop.services import audit, regions
from desktop.services.db import _alembic_config, init_db, sqlite_url
from tests.conftest import login


def some_history(db, admin, n: int = 6, tag: str = "新") -> None:
    for i in range(n):
        with db.session(admin) as s:
            regions.add_village(s, f"{tag}{i}村")
            s.commit()


def verify(db, user):
    with db.session(user) as s:
        return audit.verify_chain(s)


def entry_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry))


def edit(db, sql: str, **params) -> None:
    """Plain SQL on the database, outside the services (no audit, no chain): another program with the access."""
    db.dispose()
    with db.engine.begin() as c:
        c.execute(text(sql), params)
    db.dispose()


def test_an_untouched_log_verifies(db, township, admin):
    some_history(db, admin)
    report = verify(db, admin)
    assert report.ok and report.entries == entry_count(db) > 6


def test_an_edited_entry_is_reported_with_its_number_and_time(db, township, admin):
    some_history(db, admin)
    with db.session() as s:
        target = s.scalars(select(AuditEntry).where(AuditEntry.table_name == "region")
                           .order_by(AuditEntry.id.desc())).first()
    edit(db, "UPDATE audit_entry SET \"user\" = 'clerk' WHERE id = :id", id=target.id)
    report = verify(db, admin)
    assert not report.ok
    local = target.at.replace(tzinfo=timezone.utc).astimezone()
    assert report.problems == [f"操作日志第 {target.id} 条（{local:%Y-%m-%d %H:%M:%S}，clerk）与校验值不符："
                               "该条在程序之外被修改、伪造，或其前的记录被删除"]


def test_a_deleted_entry_is_reported(db, township, admin):
    some_history(db, admin)
    edit(db, "DELETE FROM audit_entry WHERE id = 5")
    problems = verify(db, admin).problems
    assert problems[0].startswith("操作日志第 5 条至第 5 条（1 条）被删除：断在第 6 条")
    assert "第 6 条" in problems[1] and "与校验值不符" in problems[1]


def test_deleted_and_renumbered_entries_are_reported(db, township, admin):
    """Covering a deletion by renumbering the later entries does not help: their hashes include the number."""
    some_history(db, admin)
    edit(db, "DELETE FROM audit_entry WHERE id = 5")
    last = entry_count(db) + 1
    for i in range(6, last + 1):  # one by one: each new number is free when it is taken
        edit(db, "UPDATE audit_entry SET id = :new WHERE id = :old", new=i - 1, old=i)
    problems = verify(db, admin).problems
    assert problems and "第 5 条" in problems[0] and "与校验值不符" in problems[0]


def test_a_forged_entry_is_reported(db, township, admin):
    """An entry added outside the program: with a made-up chain value, or with none."""
    some_history(db, admin)
    last = entry_count(db)
    edit(db, "INSERT INTO audit_entry (id, at, \"user\", action, table_name, chain) VALUES (:id, :at, 'admin', "
             "'update', 'household', :chain)", id=last + 1, at=datetime(2024, 11, 20, 8, 0, 0), chain=bytes(32))
    edit(db, "INSERT INTO audit_entry (id, at, \"user\", action, table_name) VALUES (:id, :at, 'admin', 'update', "
             "'member')", id=last + 2, at=datetime(2024, 11, 20, 8, 0, 1))
    problems = verify(db, admin).problems
    assert [p.split("（")[0] for p in problems] == [f"操作日志第 {last + 1} 条", f"操作日志第 {last + 2} 条"]
    assert "与校验值不符" in problems[0] and "没有校验值" in problems[1]


def test_the_program_keeps_the_chain_after_a_forgery_is_found(db, township, admin):
    """New entries chain on from whatever is last: the break stays reported at the forged entry only."""
    some_history(db, admin)
    edit(db, "UPDATE audit_entry SET new = 'x' WHERE id = 3")
    some_history(db, admin, 2, tag="后")
    problems = verify(db, admin).problems
    assert len(problems) == 1 and "第 3 条" in problems[0]


def test_the_chain_key_cannot_be_read_or_changed_through_settings(db, township, admin):
    from desktop.services import settings
    from desktop.services.access import AccessDenied
    with db.session(admin) as s:
        for call in (lambda: settings.get_app(s, audit.CHAIN_SETTING),
                     lambda: settings.set_app(s, audit.CHAIN_SETTING, "00")):
            try:
                call()
            except AccessDenied:
                continue
            raise AssertionError("the chain key was reachable through settings")


def test_a_batch_of_rows_is_chained_in_one_call(db, township, admin):
    with db.session(admin) as s:
        rows = [dict(user="admin", action="import", table_name="household", record_id=i, household_id=i,
                     field=None, old=None, new=f"户 {i}") for i in range(5000)]
        audit.append(s, rows)
        s.commit()
    ids = [r["id"] for r in rows]
    assert ids == list(range(ids[0], ids[0] + 5000))
    assert verify(db, admin).ok


def test_chaining_many_entries_is_fast(db, township, admin):
    """The bulk import writes an entry per row: chaining them must not add seconds. 100,000 rows are hashed and
    timed (against the hashing of the same messages with no key, the floor of any chain: a busy machine slows
    both alike)."""
    rows = [dict(user="admin", action="update", table_name="member", record_id=i, household_id=i // 3,
                 field="health", old="01", new="02") for i in range(100_000)]
    with db.session(admin) as s:
        started = time.perf_counter()
        audit.chain_rows(s, rows)
        elapsed = time.perf_counter() - started
        s.rollback()
    import hashlib
    started = time.perf_counter()
    for r in rows:
        hashlib.sha256(audit._content(r)).digest()
    floor = time.perf_counter() - started
    assert elapsed < 4 * floor + 0.5, (elapsed, floor)


def test_two_seats_writing_at_once_never_fork_the_chain(db, township, admin):
    errors = []

    def seat(tag: str):
        try:
            for i in range(15):
                with db.session(admin) as s:
                    audit.record(s, "update", "household", new=f"{tag}{i}")
                    s.commit()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
    threads = [threading.Thread(target=seat, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert verify(db, admin).ok


def test_a_clerk_may_run_the_check_too(db, township, admin):
    clerk = login(db, "clerk", "Xc-cun-2024")
    assert verify(db, clerk).ok


def test_the_migration_chains_the_entries_written_before_it(tmp_path):
    """A database at revision 0015 with audit entries: upgraded, the old entries are chained and verify; one of
    them edited afterwards is found."""
    path = tmp_path / "old.sqlite3"
    db = init_db(sqlite_url(path), run_migrations=False)
    command.upgrade(_alembic_config(db.engine), "0015")
    with db.engine.begin() as con:
        for i in range(1, 4):
            con.exec_driver_sql("INSERT INTO audit_entry (id, at, user, action, table_name) VALUES (?, ?, 'admin', "
                                "'update', 'household')", (i, datetime(2024, 1, i, 8, 0)))
    command.upgrade(_alembic_config(db.engine), "head")
    with db.session(bootstrap="test") as s:
        report = audit.verify_chain(s)
    assert report.ok and report.entries == 3
    db.dispose()
