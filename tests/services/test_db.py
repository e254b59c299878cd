
from datetime import datetime

import pytest

from desktop.services import backup, keys
from desktop.services import db as dbmod
from desktop.services.db import init_db, sqlite_url
from tests.conftest import copy_template, raw_connect


@pytest.mark.sqlite_only("PRAGMA journal_mode / foreign_keys 是 SQLite 的设置")
def test_sqlite_runs_in_wal_mode_with_foreign_keys(db):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_connection_keeps_few_prepared_statements(tmp_path, monkeypatch):
    """Every cached statement holds part of SQLite's small per-connection pool of fast memory (lookaside); with the
    driver's default of 128, the bulk inserts of a county import went to malloc for every text they bound (db.py)."""
    made = []
    real = keys.dbapi().connect

    def connect(*args, **kwargs):
        made.append(kwargs.get("cached_statements"))
        return real(*args, **kwargs)

    monkeypatch.setattr(keys.dbapi(), "connect", connect)
    database = init_db(sqlite_url(tmp_path / "new.sqlite3"))
    try:
        with database.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        database.dispose()
    assert made and set(made) == {dbmod.STATEMENT_CACHE} and dbmod.STATEMENT_CACHE <= 16


def test_fresh_database_is_at_head(db):
    assert dbmod.current_revision(db.engine) == dbmod.head_revision(db.engine)


@pytest.mark.sqlite_only("升级前备份的是 SQLite 文件；县级数据库升级前由管理员 pg_dump")
def test_migration_of_a_database_with_data_takes_a_backup_first(db, admin, monkeypatch):
    path = db.sqlite_path
    with db.session(admin) as s:
        from desktop.services import settings
        settings.set_app(s, "marker", "kept")
        s.commit()
    seen = {}

    def fake_upgrade(cfg, target):
        # The copy must exist, holding the data, before the schema is touched.
        seen["backups"] = backup.list_backups(path)
        with raw_connect(seen["backups"][0].path) as c:
            seen["marker"] = c.execute("SELECT value FROM app_setting WHERE key='marker'").fetchone()

    monkeypatch.setattr(dbmod, "head_revision", lambda engine: "9999_newer")
    monkeypatch.setattr(dbmod.command, "upgrade", fake_upgrade)
    taken = dbmod.migrate(db)
    assert taken is not None and taken.exists() and "migrate" in taken.name
    assert seen["marker"] == ("kept",)


def test_new_database_is_not_backed_up(tmp_path):
    path = tmp_path / "new.sqlite3"
    database = init_db(sqlite_url(path))
    assert backup.list_backups(path) == []
    assert dbmod.migrate(database) is None  # already at head: nothing to do
    database.dispose()


@pytest.mark.sqlite_only("备份的是 SQLite 文件")
def test_backup_copies_a_consistent_database(db, admin, tmp_path):
    path = db.sqlite_path
    with db.session(admin) as s:
        from desktop.services import settings
        settings.set_app(s, "township_name", "稷下街道")
        s.commit()
    copy = backup.backup_sqlite(path, "manual", now=datetime(2024, 1, 2, 3, 4, 5))
    assert copy.name.endswith("20240102-030405-manual.sqlite3")
    with raw_connect(copy) as c:
        assert c.execute("SELECT value FROM app_setting WHERE key='township_name'").fetchone() == ("稷下街道",)
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    infos = backup.list_backups(path)
    assert infos[0].path == copy and infos[0].reason == "manual"


def test_migrations_build_exactly_the_models(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from desktop.models import Base
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


@pytest.mark.sqlite_only("恢复的是 SQLite 文件")
def test_restore_takes_a_safety_copy_and_brings_the_backup_back(db, admin):
    from desktop.services import settings
    path = db.sqlite_path
    with db.session(admin) as s:
        settings.set_app(s, "marker", "before")
        s.commit()
    old = backup.backup_sqlite(path, "manual", now=datetime(2024, 1, 1, 8, 0))
    with db.session(admin) as s:
        settings.set_app(s, "marker", "after")
        s.commit()
    db.dispose()
    safety = backup.restore(path, old, now=datetime(2024, 1, 2, 8, 0))
    with raw_connect(path) as c:
        assert c.execute("SELECT value FROM app_setting WHERE key='marker'").fetchone() == ("before",)
    with raw_connect(safety) as c:
        assert c.execute("SELECT value FROM app_setting WHERE key='marker'").fetchone() == ("after",)


@pytest.mark.sqlite_only("恢复的是 SQLite 文件")
def test_a_damaged_backup_is_never_restored(db, township, tmp_path):
    path = db.sqlite_path
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"not a database" * 100)
    import pytest
    with pytest.raises(backup.RestoreError, match="检查未通过"):
        backup.restore(path, bad)
    with raw_connect(path) as c:
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.sqlite_only("损坏检查与恢复针对 SQLite 文件")
def test_damaged_database_is_replaced_by_the_latest_good_backup(db, admin, tmp_path):
    from desktop.services import settings
    from desktop.services.integrity import integrity_check
    path = db.sqlite_path
    with db.session(admin) as s:
        settings.set_app(s, "marker", "good")
        s.commit()
    good = backup.backup_sqlite(path, "daily", now=datetime(2024, 3, 1, 8, 0))
    newer_bad = backup.backup_dir_for(path) / f"{path.stem}-20240302-080000-daily.sqlite3"
    newer_bad.write_bytes(b"garbage" * 1000)
    db.dispose()
    path.write_bytes(b"SQLite format 3\x00" + b"\x01" * 5000)  # the live file is damaged
    assert integrity_check(path) is not None
    chosen = backup.latest_good(path)
    assert chosen.path == good  # the newer, broken backup is skipped
    kept = backup.replace_damaged(path, chosen.path, now=datetime(2024, 3, 3, 9, 0))
    assert kept.name.endswith("-damaged-20240303-090000.sqlite3") and kept.exists()
    assert integrity_check(path) is None
    with raw_connect(path) as c:
        assert c.execute("SELECT value FROM app_setting WHERE key='marker'").fetchone() == ("good",)


def test_a_database_with_households_upgrades_from_every_earlier_revision(tmp_path):
    """A township upgrading the program keeps its register: each revision's database, holding households,
    members, a case and an income record, migrates to the head for real (no stand-in for the upgrade), with
    every reference intact and foreign keys back on afterwards."""

    from alembic import command
    from alembic.script import ScriptDirectory

    from desktop.services.db import _alembic_config, current_revision, head_revision

    # The empty database at each revision is made from the one at the revision before it, one migration further (as
    # the program made it when that revision was new), not from nothing again: building each of the 14 earlier
    # revisions' databases from nothing ran 105 migrations before the upgrades under test, this way 14.
    empty = tmp_path / "empty.sqlite3"
    probe = init_db(sqlite_url(empty), run_migrations=False)
    revisions = [r.revision for r in ScriptDirectory.from_config(_alembic_config(probe.engine)).walk_revisions()]
    key = probe.key
    probe.dispose()
    for old in reversed(revisions[1:]):  # every revision but the head, oldest first
        building = init_db(sqlite_url(empty), key=key, run_migrations=False)
        command.upgrade(_alembic_config(building.engine), old)
        assert current_revision(building.engine) == old
        building.dispose()
        path = tmp_path / f"at_{old}.sqlite3"
        copy_template(empty, path)
        keys.remember(path, key)
        with raw_connect(path) as c:
            c.execute("PRAGMA foreign_keys=ON")
            now = "2024-01-01 00:00:00"
            c.execute("INSERT INTO region(id, level, name, active, sort_order, created_at, updated_at) "
                      "VALUES (1, 'township', '甲镇', 1, 0, ?, ?)", (now, now))
            c.execute("INSERT INTO region(id, level, name, parent_id, active, sort_order, created_at, updated_at) "
                      "VALUES (2, 'village', '东村', 1, 1, 0, ?, ?)", (now, now))
            c.execute("INSERT INTO household(id, household_no, village_id, size, a4_poverty_alleviated, a27_risk_types,"
                      " a27a_disaster_types, monitoring_status, whole_no_labor_guarantee, created_at, updated_at) "
                      "VALUES (1, 'H1', 2, 1, 1, '[]', '[]', 'monitoring', 0, ?, ?)", (now, now))
            c.execute("INSERT INTO member(id, household_id, seq, name, id_number, relation, status, created_at, "
                      "updated_at) VALUES (1, 1, 1, '张三', '370305197003050011', '01', 'normal', ?, ?)", (now, now))
            c.execute("INSERT INTO case_(id, household_id, kind, state, opened_on, data, created_at, updated_at) "
                      "VALUES (1, 1, 'identify', 'open', '2024-01-05', '{}', ?, ?)", (now, now))
        upgraded = init_db(sqlite_url(path))
        try:
            assert current_revision(upgraded.engine) == head_revision(upgraded.engine), old
            with upgraded.engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT household_no, a4_poverty_alleviated FROM household").all() == [
                    ("H1", 1)], old
                assert conn.exec_driver_sql("SELECT name FROM member WHERE household_id = 1").all() == [("张三",)]
                assert conn.exec_driver_sql("SELECT kind FROM case_ WHERE household_id = 1").all() == [("identify",)]
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        finally:
            upgraded.dispose()
