"""What keeps the suite fast (README, 测试的速度) still holds: each of these broke silently once, and the suite
only became slower. A test's database is a copy of the migrated template, opened with the fixed raw key (no key
derivation), on the run's one SQLite dialect and compiled-statement cache; passwords hash at the cheap cost."""

from __future__ import annotations

import pytest

from desktop.services import auth, keys
from tests import dbserver
from tests.conftest import TEST_KEY, TEST_SCRYPT_N

ONE_DIALECT = "同一次运行中 SQLite 引擎共用方言与语句缓存（PostgreSQL 上每个测试的库原地复位）"


@pytest.mark.sqlite_only(ONE_DIALECT)
def test_two_test_databases_share_one_dialect_and_statement_cache(db, migrated_template, tmp_path):
    other = migrated_template.fresh(tmp_path, "other")
    try:
        assert other.engine.dialect is db.engine.dialect
        assert other.engine._compiled_cache is db.engine._compiled_cache
        assert other.engine.dialect.dbapi is keys.dbapi()  # the encrypted files' own module
    finally:
        dbserver.release(other)


@pytest.mark.sqlite_only(ONE_DIALECT)
def test_a_statement_compiled_for_one_test_database_is_not_compiled_again_for_the_next(db, migrated_template,
                                                                                       tmp_path):
    from sqlalchemy import select

    from desktop.models import Household

    statement = select(Household.id).where(Household.household_no == "3703050010010001")
    with db.engine.connect() as c:
        c.execute(statement).all()
    other = migrated_template.fresh(tmp_path, "other")
    try:
        with other.engine.connect() as c:
            c.execute(select(Household.id).limit(1)).all()  # what a first connection runs, out of the way
            cached = len(other.engine._compiled_cache)
            c.execute(statement).all()
        assert len(other.engine._compiled_cache) == cached  # found, not compiled again
    finally:
        dbserver.release(other)


def test_passwords_of_the_tests_hash_cheaply_and_databases_open_with_the_raw_key(db):
    assert auth.SCRYPT_N == TEST_SCRYPT_N < 2**10  # the session fixture's cost, in this test process
    stored = auth.hash_password("Jx-adm-2024")
    assert stored.split("$")[1] == str(TEST_SCRYPT_N)
    if db.sqlite_path is not None:
        assert keys.key_for(db.sqlite_path) == TEST_KEY  # opened with the raw key: SQLCipher derives nothing


@pytest.mark.sqlite_only("乡镇模板在 SQLite 上是文件：PostgreSQL 上每个测试自己登录")
def test_the_administrators_log_in_is_copied_from_the_runs_one_log_in(db, admin, admin_template):
    """The admin fixture copies the township template after the run's one log-in (tests/conftest.py) instead of
    logging in in every test; the copy holds what a log-in writes, and the user acts on this test's database."""
    from sqlalchemy import func, select

    from desktop.models import AuditEntry, User

    assert admin is admin_template[1]  # the shortcut was taken (it stops silently when the templates drift apart)
    with db.session(admin) as s:
        logins = s.scalars(select(AuditEntry.user).where(AuditEntry.action == "login")).all()
        assert logins == ["admin"]
        assert s.scalar(select(User.last_login).where(User.username == "admin")) is not None
        assert s.scalar(select(func.count()).select_from(AuditEntry)) > 0
        assert auth.lock_state(s) == {}  # 管理员 only: the user acts as the administrator here


@pytest.mark.sqlite_only("乡镇模板在 SQLite 上是文件：PostgreSQL 上每个测试自己配置")
def test_a_test_asking_for_the_administrator_starts_from_the_template_after_the_log_in(db, ctx, admin_template):
    """The db fixture copies the template after the log-in straight away when nothing else writes to the database
    before `admin` (tests/conftest.py, _preset): no copy of the empty schema to replace twice."""
    import filecmp

    assert db.test_preset == "admin"
    assert ctx.user is admin_template[1]
    db.dispose()  # folds the WAL into the file: nothing was written, so it is the template byte for byte
    assert filecmp.cmp(db.sqlite_path, admin_template[0], shallow=False)


@pytest.fixture
def _written_before_the_township(db):
    """Writes to the database before the township exists (and does not ask for it): a row of the schema's own
    (on PostgreSQL the next test's database is put back table by table)."""
    with db.engine.begin() as c:
        c.exec_driver_sql("INSERT INTO app_setting (key, value) VALUES ('written_first', 'yes')")
    return True


def test_a_fixture_writing_before_the_township_keeps_its_write_and_the_township_is_configured(
        _written_before_the_township, township, admin, db):
    """A fixture that writes to the database without asking for the township turns the shortcut off: the township
    is configured on top of what it wrote, as without the shortcut."""
    from sqlalchemy import select

    from desktop.models import Region

    assert getattr(db, "test_preset", None) is None
    with db.engine.connect() as c:
        assert c.exec_driver_sql("SELECT value FROM app_setting WHERE key = 'written_first'").scalar() == "yes"
    with db.session(admin) as s:
        names = set(s.scalars(select(Region.name).where(Region.id.in_(township["villages"].values()))))
    assert names == {"东村", "西村"}


@pytest.mark.sqlite_only("SQLite 上测试库是迁移好的模板文件的副本；PostgreSQL 上原地复位")
def test_a_test_database_opens_without_asking_alembic_and_is_at_the_newest_schema(db, ctx, migrated_template,
                                                                                  tmp_path, monkeypatch):
    """The copies of the migrated template (plain, and the one after the log-in) open with run_migrations=False:
    Alembic's look at the revision costs 2 ms a test (about 3 s a run) and could only find the head, which it
    does here for both."""
    from desktop.services import db as dbmod
    asked = []
    monkeypatch.setattr(dbmod, "current_revision", lambda engine: asked.append(engine) or None)
    other = migrated_template.fresh(tmp_path, "other")
    try:
        assert asked == []  # (with the check, a revision of None would have migrated the copy again)
        monkeypatch.undo()
        head = dbmod.head_revision(ctx.db.engine)
        assert head is not None and dbmod.current_revision(ctx.db.engine) == head
        assert dbmod.current_revision(other.engine) == head
    finally:
        dbserver.release(other)
