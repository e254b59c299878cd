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
