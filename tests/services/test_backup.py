"""Backups that count only when whole and checked; restore only from such a backup; keeping them by count and
age; never pruning on a clock that jumped (issue 16, SPEC §12)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from desktop.services import backup, settings
from tests.conftest import raw_connect

pytestmark = pytest.mark.sqlite_only("备份与恢复的是 SQLite 文件；县级数据库由管理员用 pg_dump 备份")


def put_backup(path: Path, when: datetime, reason: str = "daily") -> Path:
    return backup.backup_sqlite(path, reason, now=when)


def marker(path: Path) -> str | None:
    with closing(raw_connect(path)) as c, c:
        row = c.execute("SELECT value FROM app_setting WHERE key='marker'").fetchone()
    return row[0] if row else None


def set_audit_times(path: Path, when: datetime) -> None:
    """Every audit entry written at `when` (local time), as the clock said then."""
    utc = when.astimezone(timezone.utc).replace(tzinfo=None)
    with closing(raw_connect(path)) as c, c:
        c.execute("UPDATE audit_entry SET at=?", (utc.isoformat(sep=" "),))


# ------------------------------------------------------------------ written whole, checked, then counted

def test_backup_is_a_checked_single_file_under_its_final_name(ctx):
    path = ctx.db.sqlite_path
    ctx.run(settings.set_app, "marker", "kept")
    taken = put_backup(path, datetime(2024, 11, 20, 8, 0))
    assert taken.name == f"{path.stem}-20241120-080000-daily.sqlite3"
    assert backup.verify(taken, full=True) is None and marker(taken) == "kept"
    assert sorted(p.name for p in taken.parent.iterdir()) == [taken.name]  # no -wal, -journal or .part beside it


def test_a_database_without_a_township_is_not_backed_up(db):
    assert not backup.holds_data(db.sqlite_path)
    with pytest.raises(backup.BackupError):
        backup.backup_sqlite(db.sqlite_path, "manual")
    assert backup.daily_backup(db.sqlite_path, now=datetime(2024, 11, 20)).taken is None
    assert backup.list_backups(db.sqlite_path) == []


def test_a_copy_that_fails_its_check_is_removed_and_not_counted(ctx, monkeypatch):
    path = ctx.db.sqlite_path
    real = backup.verify
    monkeypatch.setattr(backup, "verify", lambda p, full=False: "第 3 页损坏")  # as if the copy came out bad
    with pytest.raises(backup.BackupError, match="检查未通过.*第 3 页损坏"):
        backup.backup_sqlite(path, "manual", now=datetime(2024, 11, 20, 8, 0))
    assert list(backup.backup_dir_for(path).iterdir()) == []
    monkeypatch.setattr(backup, "verify", real)
    assert backup.daily_backup(path, now=datetime(2024, 11, 20, 9, 0)).taken is not None


def test_an_empty_file_named_as_todays_backup_does_not_count(ctx):
    path = ctx.db.sqlite_path
    folder = backup.backup_dir_for(path)
    folder.mkdir()
    empty = folder / f"{path.stem}-20241120-070000-daily.sqlite3"
    sqlite3.connect(empty).close()  # what a partial copy used to leave: an empty database
    daily = backup.daily_backup(path, now=datetime(2024, 11, 20, 8, 0))
    assert daily.taken is not None and daily.taken != empty
    assert backup.latest_good(path).path == daily.taken


def test_stale_temporary_copies_are_cleared(ctx):
    import os
    path = ctx.db.sqlite_path
    folder = backup.backup_dir_for(path)
    folder.mkdir()
    stale = folder / f".{path.stem}-20241119-080000-daily.sqlite3.4242.part"
    stale.write_bytes(b"half a copy")
    os.utime(stale, (1, 1))
    fresh = folder / f".{path.stem}-20241120-080000-daily.sqlite3.4243.part"
    fresh.write_bytes(b"being written by another window")
    assert backup.remove_stale_parts(path) == [stale]
    assert fresh.exists() and backup.list_backups(path) == []


# ------------------------------------------------------------------ restore only a checked backup

@pytest.mark.parametrize("kind", ["zero bytes", "empty database", "another program", "no township", "damaged",
                                  "newer version", "plain copy"])
def test_restore_refuses_anything_but_a_backup_of_this_program_holding_data(ctx, db, tmp_path, kind):
    path = ctx.db.sqlite_path
    ctx.run(settings.set_app, "marker", "current")
    bad = tmp_path / "bad.sqlite3"
    if kind == "zero bytes":
        bad.write_bytes(b"")
    elif kind == "empty database":
        sqlite3.connect(bad).execute("CREATE TABLE x (a)").connection.execute("DROP TABLE x")
    elif kind == "plain copy":  # this program's database, complete, but not encrypted: never restored over it
        good = put_backup(path, datetime(2024, 11, 20, 8, 0), "manual")
        src, dst = raw_connect(good), sqlite3.connect(bad)
        src.execute(f"ATTACH DATABASE '{bad}' AS plain KEY ''")
        src.execute("SELECT sqlcipher_export('plain')")
        src.close()
        dst.close()
        good.unlink()
        assert bad.read_bytes().startswith(b"SQLite format 3")
    elif kind == "another program":
        with closing(sqlite3.connect(bad)) as c, c:
            c.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
            c.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    else:
        good = put_backup(path, datetime(2024, 11, 20, 8, 0), "manual")
        good.replace(bad)
        with closing(raw_connect(bad)) as c, c:
            if kind == "no township":
                c.execute("PRAGMA foreign_keys=OFF")
                c.execute("DELETE FROM region")
            elif kind == "newer version":
                c.execute("UPDATE alembic_version SET version_num='9999_from_the_future'")
        if kind == "damaged":
            data = bytearray(bad.read_bytes())
            data[4096 * 2: 4096 * 4] = b"\xa5" * (4096 * 2)
            bad.write_bytes(bytes(data))
    ctx.db.dispose()
    with pytest.raises(backup.RestoreError, match="检查未通过，不能用于恢复，当前数据未改变"):
        backup.restore(path, bad, now=datetime(2024, 11, 20, 9, 0))
    assert marker(path) == "current"
    assert [b.reason for b in backup.list_backups(path)] == []  # not even a pre-restore copy was needed


def test_latest_good_skips_damaged_and_empty_backups(ctx):
    path = ctx.db.sqlite_path
    good = put_backup(path, datetime(2024, 11, 18, 8, 0))
    folder = backup.backup_dir_for(path)
    (folder / f"{path.stem}-20241119-080000-daily.sqlite3").write_bytes(b"")
    sqlite3.connect(folder / f"{path.stem}-20241120-080000-daily.sqlite3").execute("VACUUM").connection.close()
    assert backup.latest_good(path).path == good


def test_restore_on_a_full_disk_leaves_the_current_data(ctx, monkeypatch):
    import errno
    path = ctx.db.sqlite_path
    ctx.run(settings.set_app, "marker", "old")
    old = put_backup(path, datetime(2024, 11, 19, 8, 0), "manual")
    ctx.run(settings.set_app, "marker", "current")
    ctx.db.dispose()

    def full(source, target):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(backup, "copy_sqlite", full)
    with pytest.raises(backup.BackupError, match="磁盘空间已满"):  # the pre-restore copy cannot be made
        backup.restore(path, old, now=datetime(2024, 11, 20, 9, 0))
    assert marker(path) == "current"
    assert errno.ENOSPC  # (the real full disk is in tests/safety/test_faults.py)


# ------------------------------------------------------------------ keeping by count and age

def infos(start: datetime, days: int, reason: str = "daily") -> list[backup.BackupInfo]:
    return [backup.BackupInfo(Path(f"b-{(start + timedelta(days=i)):%Y%m%d}-080000-{reason}.sqlite3"),
                              start + timedelta(days=i, hours=8), reason, 1) for i in range(days)]


def test_retention_keeps_seven_days_four_weeks_and_twelve_months_of_daily_backups():
    daily = infos(datetime(2023, 1, 1), 500)  # 2023-01-01 … 2024-05-14, one a day
    now = daily[-1].taken_at + timedelta(hours=1)
    removed = {b.path for b in backup.to_remove(daily, keep_days=30, now=now)}
    kept = sorted(b.taken_at.date() for b in daily if b.path not in removed)
    last = daily[-1].taken_at.date()
    assert kept[-7:] == [last - timedelta(days=i) for i in range(6, -1, -1)]
    weeks = {d.isocalendar()[:2] for d in kept}
    months = {(d.year, d.month) for d in kept}
    assert len(months) == 12 and min(months) == (2023, 6)  # 2023-06 … 2024-05
    assert len(weeks) >= 4
    assert len(kept) <= 7 + 4 + 12 and len(kept) == len(set(kept))


def test_retention_keeps_event_copies_for_the_days_set_and_hand_made_ones_always():
    now = datetime(2024, 11, 20, 9, 0)
    imports = infos(datetime(2024, 9, 1), 80, "import")
    manual = infos(datetime(2023, 1, 1), 3, "manual")
    removed = {b.path for b in backup.to_remove(imports + manual, keep_days=30, now=now)}
    assert {b.path for b in manual} & removed == set()
    assert all((b.path in removed) == (b.taken_at < now - timedelta(days=30)) for b in imports[:-1])


# ------------------------------------------------------------------ a clock that jumped

def six_backups(path: Path) -> list[Path]:
    return [put_backup(path, datetime(2024, 11, 15 + i, 8, 0)) for i in range(6)]


def test_clock_400_days_ahead_prunes_nothing_and_warns(ctx):
    path = ctx.db.sqlite_path
    taken = six_backups(path)
    set_audit_times(path, datetime(2024, 11, 20, 10, 0))
    daily = backup.daily_backup(path, keep_days=30, now=datetime(2025, 12, 25, 8, 0))
    assert daily.removed == [] and all(p.exists() for p in taken)
    assert "晚了 399 天" in daily.clock_warning and "没有清理旧备份" in daily.clock_warning
    assert daily.taken is not None  # the day's copy is still taken


def test_clock_set_back_prunes_nothing_and_warns(ctx):
    path = ctx.db.sqlite_path
    taken = six_backups(path)
    set_audit_times(path, datetime(2024, 11, 1, 10, 0))
    daily = backup.daily_backup(path, keep_days=1, now=datetime(2024, 3, 1, 8, 0))
    assert daily.removed == [] and all(p.exists() for p in taken)
    assert "早于最新的备份时间 2024-11-20 08:00" in daily.clock_warning


def test_audit_entries_after_the_newest_backup_count_for_the_clock(ctx):
    path = ctx.db.sqlite_path
    six_backups(path)
    set_audit_times(path, datetime(2024, 12, 30, 10, 0))  # edits made later than every backup
    problem = backup.clock_problem(path, datetime(2024, 12, 1, 8, 0))
    assert problem is not None and "早于最新的操作记录时间 2024-12-30 10:00" in problem


def test_a_trusted_clock_prunes_by_the_rule(ctx):
    path = ctx.db.sqlite_path
    imports = [put_backup(path, datetime(2024, 9, 1 + i, 8, 0), "import") for i in range(3)]
    daily = [put_backup(path, datetime(2024, 11, 10 + i, 8, 0)) for i in range(10)]
    set_audit_times(path, datetime(2024, 11, 19, 17, 0))
    result = backup.daily_backup(path, keep_days=30, now=datetime(2024, 11, 20, 8, 0))
    assert result.clock_warning is None and result.taken is not None
    # kept: 11-14 … 11-20 (seven days), 11-10 (the newest of its ISO week); older than 30 days: the imports
    assert set(result.removed) == set(imports) | {daily[1], daily[2], daily[3]}
    left = {b.path for b in backup.list_backups(path)}
    assert daily[0] in left and not any(p in left for p in imports)


def test_change_history_is_in_the_order_the_edits_were_made_whatever_the_clock(ctx, township):
    from desktop.services import audit, register
    from tests.conftest import TODAY, family
    data, members = family(township["villages"]["东村"])
    hid = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    with closing(raw_connect(ctx.db.sqlite_path)) as c, c:  # the first edit was saved while the clock was ahead
        c.execute("UPDATE audit_entry SET at='2030-01-01 00:00:00' WHERE household_id=?", (hid,))
    data, members = ctx.read(register.get_household, hid)
    data.phone = "13911112222"
    ctx.run(register.save_household, data, members, TODAY, ctx.user)
    rows = ctx.read(audit.history, hid)
    assert rows[0].new == "13911112222"  # newest first: the later edit, though its clock time is earlier
