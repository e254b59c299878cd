"""`import` and `export` on the command line (SPEC §11): exit 0 imported, 1 rejected with NAME.errors.xlsx
beside the input and Chinese reasons on stderr, 2 wrong usage — run as a user would, in a process."""

from __future__ import annotations

import sqlite3

import openpyxl

from tests.services.test_exchange_book import db_state, family_rows, hh, simple_book, table, write_book

from .test_cli import BOSS
from .test_cli import run as run_as


def run(*args, **kw):
    """As the administrator `init` created."""
    kw.setdefault("user", (BOSS[1], BOSS[3]))
    return run_as(*args, **kw)


def _init(tmp_path):
    db = tmp_path / "t.sqlite3"
    run("init", "--db", db, "--township", "稷下街道", "--county", "临淄区", "--year", "2024", "--monitoring-line",
        "7100", *BOSS, check_code=0)
    return db


class _Db:
    def __init__(self, path):
        self.sqlite_path = path


def test_import_then_export(tmp_path):
    db = _init(tmp_path)
    book = simple_book(tmp_path / "村.xlsx", households=2, **{"工资性收入": "12,000元"})
    p = run("import", "--db", db, book, check_code=0)
    assert "新增 2 户" in p.stdout and "新增成员 4 人" in p.stdout and "数据质量检查" in p.stdout
    assert list((tmp_path / "backups").glob("t-*-import.sqlite3"))
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM household").fetchone() == (2,)
        assert c.execute("SELECT year FROM income_record").fetchall() == [(2024,), (2024,)]
    out = tmp_path / "导出.xlsx"
    p = run("export", "--db", db, out, "--year", "2024", check_code=0)
    assert "已导出 2 户" in p.stdout
    rows = list(openpyxl.load_workbook(out)["户信息"].iter_rows(values_only=True))
    assert rows[1][0] == "H001" and rows[1][rows[0].index("工资性收入")] == 12000


def test_a_rejected_file_changes_nothing_and_its_errors_are_written_beside_it(tmp_path):
    db = _init(tmp_path)
    run("import", "--db", db, simple_book(tmp_path / "first.xlsx", households=1), check_code=0)
    before = db_state(_Db(db))
    members = family_rows("H002", 5)
    members[0]["证件号码"] = "37030519700305123"
    members[1]["与户主关系"] = "表哥"
    bad = write_book(tmp_path / "坏文件.xlsx", {"户信息": table([hh("H002"), hh("H001", 联系电话="13900000000")]),
                                                "家庭成员": table(members)})
    p = run("import", "--db", db, bad, check_code=1)
    assert "导入被拒绝" in p.stderr and "2 处错误" in p.stderr and "数据库未作任何修改" in p.stderr
    assert "家庭成员 第 2 行【证件号码】" in p.stderr and "家庭成员 第 3 行【与户主关系】“表哥”" in p.stderr
    assert db_state(_Db(db)) == before
    errors = tmp_path / "坏文件.errors.xlsx"
    assert str(errors) in p.stderr
    rows = list(openpyxl.load_workbook(errors)["错误清单"].iter_rows(values_only=True))
    assert rows[0] == ("工作表", "行", "列", "值", "原因")
    assert [r[:3] for r in rows[1:]] == [("家庭成员", 2, "证件号码"), ("家庭成员", 3, "与户主关系")]


def test_wrong_usage_exits_2(tmp_path):
    db = _init(tmp_path)
    p = run("import", "--db", db, check_code=2)
    assert "用法错误" in p.stderr
    p = run("import", "--db", db, tmp_path / "没有这个文件.xlsx", check_code=2)
    assert "文件不存在" in p.stderr
    p = run("export", "--db", db, tmp_path / "x.csv", check_code=2)
    assert ".xlsx" in p.stderr
    p = run("import", "--db", db, tmp_path / "a.xlsx", "--year", "1999", check_code=2)
