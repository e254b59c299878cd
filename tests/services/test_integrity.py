"""Integrity check at start (SPEC §12)."""

from __future__ import annotations

import pytest

from desktop.services import keys
from desktop.services.integrity import integrity_check
from tests.conftest import TEST_KEY, raw_connect

pytestmark = pytest.mark.sqlite_only("PRAGMA integrity_check 检查的是 SQLite 文件；服务器可用 pg_amcheck")


def test_sound_database_passes(db):
    assert integrity_check(db.sqlite_path) is None


def test_file_that_is_not_a_database_is_reported(tmp_path):
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"this is not sqlite at all" * 200)
    problem = integrity_check(path)
    assert problem is not None and "不是有效的数据库" in problem


def test_damaged_pages_are_reported(tmp_path):
    path = tmp_path / "damaged.sqlite3"
    keys.remember(path, TEST_KEY)  # as after a log-in: the check reads the file with its key
    con = raw_connect(str(path))
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    con.execute("CREATE INDEX ix_t_v ON t (v)")
    con.executemany("INSERT INTO t (v) VALUES (?)", [(f"value {i:06d}" * 5,) for i in range(3000)])
    con.commit()
    con.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > page * 20
    for offset in range(page * 10, page * 14):  # scribble over a few pages in the middle
        data[offset] = 0xA5
    path.write_bytes(bytes(data))
    assert integrity_check(path) is not None


def test_missing_file_is_reported_without_creating_it(tmp_path):
    path = tmp_path / "nothing.sqlite3"
    assert integrity_check(path) is not None
    assert not path.exists()


def test_quick_check_passes_a_sound_file(db):
    from desktop.services.integrity import integrity_check
    assert integrity_check(db.sqlite_path, quick=True) is None
