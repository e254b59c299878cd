"""`import` and `export` on the command line (SPEC §11): exit 0 imported, 1 rejected with NAME.errors.xlsx
beside the input and Chinese reasons on stderr, 2 wrong usage — run as a user would, in a process."""

from __future__ import annotations

from datetime import date

import openpyxl

from desktop.services.idnumber import make_id
from tests.services.test_exchange_book import db_state, family_rows, hh, simple_book, table, write_book

from .test_cli import BOSS, cli_db
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
    """The file the command line wrote, as db_state reads a database: through an engine of its own."""

    def __init__(self, path):
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        from desktop.services import keys
        # the encrypted file, with the key a command-line user's password unwraps
        self.engine = create_engine("sqlite://", module=keys.dbapi(), creator=lambda: cli_db(path),
                                    poolclass=NullPool)


def test_import_then_export(tmp_path):
    db = _init(tmp_path)
    book = simple_book(tmp_path / "村.xlsx", households=2, **{"工资性收入": "12,000元"})
    p = run("import", "--db", db, book, check_code=0)
    assert "新增 2 户" in p.stdout and "新增成员 4 人" in p.stdout and "数据质量检查" in p.stdout
    assert list((tmp_path / "backups").glob("t-*-import.sqlite3"))
    with cli_db(db) as c:
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


def test_a_national_list_imports_says_what_it_left_out_and_exports_back(tmp_path):
    from tests.services.national_files import grid, sample_rows, write_csv

    db = _init(tmp_path)
    cells = grid(sample_rows())
    cells[2].append("家庭年收入")  # an unknown column that matters
    for r in cells[3:]:
        r.append("1")
    for r in cells[:2]:
        r.append(None)
    path = write_csv(tmp_path / "名单.csv", cells, "gb18030")
    p = run("import", "--db", db, path, check_code=1)
    assert "家庭年收入" in p.stderr and "--accept-unknown-columns" in p.stderr
    assert "不认识、未导入的列：家庭年收入" in p.stdout
    assert (tmp_path / "名单.errors.xlsx").exists()
    with cli_db(db) as c:
        assert c.execute("SELECT count(*) FROM household").fetchone() == (0,)
    p = run("import", "--db", db, path, "--accept-unknown-columns", check_code=0)
    assert "识别为全国系统一人一行名单" in p.stdout and "3 户、6 人" in p.stdout
    assert "不认识、未导入的列：家庭年收入" in p.stdout and "人编号" in p.stdout and "新建行政村 2 个" in p.stdout
    out = tmp_path / "县里.xlsx"
    run("export", "--db", db, out, "--layout", "national", check_code=0)
    ws = openpyxl.load_workbook(out).worksheets[0]
    assert ws["A1"].value == "（自定义）监测对象信息" and ws["A2"].value == "基础信息" and ws["A3"].value == "序号"
    assert ws.max_row == 3 + 6


def test_a_village_close_to_an_existing_one_needs_create_villages(tmp_path):
    from tests.services.national_files import grid, sample_rows, write_xlsx

    db = _init(tmp_path)
    rows = sample_rows()
    run("import", "--db", db, write_xlsx(tmp_path / "a.xlsx", grid(rows)), check_code=0)
    for r in rows:
        r["村"] = "东村村委会"
        r["户编号"] = "9" + r["户编号"][1:]
        # other people: the same person in a new household would be an error of its own (one person, one household)
        number = r["证件号码"]
        r["证件号码"] = make_id(number[:6], date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
                            int(number[14:16]) + 50, "1" if int(number[16]) % 2 else "2")
    path = write_xlsx(tmp_path / "b.xlsx", grid(rows))
    p = run("import", "--db", db, path, check_code=1)
    assert "东村村委会" in p.stderr and "“东村”" in p.stderr and "--create-villages" in p.stderr
    p = run("import", "--db", db, path, "--create-villages", check_code=0)
    assert "新建行政村 1 个：东村村委会" in p.stdout


def test_the_command_line_says_which_households_a26_leaves_unsettled(tmp_path):
    from tests.services.national_files import grid, sample_rows, write_xlsx

    db = _init(tmp_path)
    rows = sample_rows()
    for r in rows:
        if r["户编号"] == "370305001001000001":
            r["是否有家庭成员未参加城乡居民（职工）基本医疗保险"] = "是"
            r["是否参加城乡居民基本医疗保险"], r["是否参加城镇职工基本医疗保险"] = "否", ""
    p = run("import", "--db", db, write_xlsx(tmp_path / "名单.xlsx", grid(rows)), check_code=0)
    assert "1 户名单写明有家庭成员未参加基本医疗保险" in p.stdout and "户 370305001001000001（" in p.stdout


def test_the_line_after_an_import_names_the_most_frequent_kinds_and_counts_the_rest():
    """A county file's check finds dozens of kinds: the line names the eight most frequent and counts the others."""
    from desktop.cli import FINDING_KINDS_SHOWN, _findings_line
    from desktop.services.checks import CODES, TITLES, Finding

    kinds = CODES[:FINDING_KINDS_SHOWN + 3]
    findings = [Finding(code, f"H{k:03d}{j}", None, "…") for k, code in enumerate(kinds) for j in range(20 - k)]
    line = _findings_line(findings, 2024)
    assert line.startswith(f"数据质量检查（不影响导入）：{len(findings)} 条问题，涉及 {len(findings)} 户：")
    assert f"{TITLES[kinds[0]]} 20 条" in line and f"{TITLES[kinds[FINDING_KINDS_SHOWN - 1]]} 13 条" in line
    assert TITLES[kinds[FINDING_KINDS_SHOWN]] not in line  # the ninth kind is counted, not named
    assert "……另有 3 类 33 条" in line and "--year 2024" in line
    few = _findings_line(findings[:20], 2024)
    assert "另有" not in few and f"{TITLES[kinds[0]]} 20 条" in few
