"""`python -m desktop --self-test`, run through the entry point in this process (tests/cli/runner.py), on the
QApplication of the test run. The self-test in a real process, where it must also load a Qt platform plugin of its
own, is tests/installer/test_streams.py::test_self_test_without_streams_passes_and_logs_what_it_checked."""

import os

import pytest

from tests.cli.runner import cli


def selftest(tmp_path, **env):
    return cli("--self-test", env={**os.environ, "FANPIN_DATA_DIR": str(tmp_path), "QT_QPA_PLATFORM": "offscreen",
                                   **env})


@pytest.mark.slow(seconds=4)  # demo data, a PDF, a workbook and the main window
def test_self_test_passes_and_says_what_it_checked(tmp_path, qapp):
    p = selftest(tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    for name in ("数据库", "规则", "PDF", "Excel", "界面"):
        assert f"✓ {name}" in p.stdout
    assert p.stdout.strip().endswith("自检通过")
    assert list(tmp_path.iterdir()) == []  # the user's data folder is left as it was


@pytest.mark.slow(seconds=3)
def test_self_test_fails_on_a_damaged_database_and_leaves_it_alone(tmp_path, qapp):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
    before = bad.read_bytes()
    p = selftest(tmp_path, FANPIN_SELFTEST_DB=str(bad))
    assert p.returncode == 1
    assert "✗ 数据库" in p.stdout and "自检未通过：1 项失败" in p.stdout
    assert bad.read_bytes() == before
