"""`python -m desktop --self-test`, run through the entry point in this process (tests/cli/runner.py), on the
QApplication of the test run. The self-test in a real process, where it must also load a Qt platform plugin of its
own, is tests/installer/test_streams.py::test_self_test_without_streams_passes_and_logs_what_it_checked."""

import os

import pytest

from tests.cli.runner import cli


def selftest(tmp_path, **env):
    return cli("--self-test", env={**os.environ, "FANPIN_DATA_DIR": str(tmp_path), "QT_QPA_PLATFORM": "offscreen",
                                   **env})


@pytest.fixture
def database_check_only(monkeypatch):
    """The self-test with its one check of the user's database (check_database): the tests of that check need
    not build the scratch township, PDF, workbook and window again each time (the whole self-test runs in
    test_self_test_passes_and_says_what_it_checked here and in a real process in tests/installer/)."""
    from desktop import selftest as module
    monkeypatch.setattr(module, "CHECKS", [(name, check) for name, check in module.CHECKS if name == "数据库"])
    assert [name for name, _ in module.CHECKS] == ["数据库"]


@pytest.mark.slow(seconds=4)  # demo data, a PDF, a workbook and the main window
def test_self_test_passes_and_says_what_it_checked(tmp_path, qapp):
    p = selftest(tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    for name in ("数据库", "规则", "PDF", "Excel", "界面"):
        assert f"✓ {name}" in p.stdout
    assert p.stdout.strip().endswith("自检通过")
    assert list(tmp_path.iterdir()) == []  # the user's data folder is left as it was


def test_self_test_fails_on_a_damaged_database_and_leaves_it_alone(tmp_path, database_check_only):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
    before = bad.read_bytes()
    p = selftest(tmp_path, FANPIN_SELFTEST_DB=str(bad))
    assert p.returncode == 1
    assert "✗ 数据库" in p.stdout and "自检未通过：1 项失败" in p.stdout
    assert bad.read_bytes() == before


def test_self_test_checks_the_encrypted_database_only_with_credentials(tmp_path, database_check_only):
    db = tmp_path / "w.sqlite3"
    assert cli("init", "--db", db, "--township", "甲镇", "--admin-user", "boss", "--admin-password",
               "Jia-zhen-2024").returncode == 0
    before = db.read_bytes()
    p = selftest(tmp_path, FANPIN_SELFTEST_DB=str(db))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "需要用户名和密码" in p.stdout  # without them the user's database is not opened
    p = selftest(tmp_path, FANPIN_SELFTEST_DB=str(db), FANPIN_USER="boss", FANPIN_PASSWORD="Jia-zhen-2024")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "副本完整（已加密）" in p.stdout and "校验无误" in p.stdout
    assert db.read_bytes() == before  # checked on a copy: the database itself is not written
    p = selftest(tmp_path, FANPIN_SELFTEST_DB=str(db), FANPIN_USER="boss", FANPIN_PASSWORD="wrong-password")
    assert p.returncode == 1 and "✗ 数据库" in p.stdout and "用户名或密码不正确" in p.stdout
