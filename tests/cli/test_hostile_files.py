"""Hostile and broken workbooks on the command line (issue 14): each file is built from the outside (a
lying `<dimension>`, hidden sheets, padded XML, a huge shared string, error cells …), imported as a user
would in a separate process, and held to the issue's bar: exit 1 with a Chinese reason (0 where the
file is merely odd but honest), no traceback, peak memory of the process and its children under 1 GB,
under 60 s, stderr of a readable size, and a rejected file leaves the database as it was (a dump of
every table, but for the login record every command writes).

One child process takes the commands of the whole module in turn (tests/capped_child.py): starting Python and
importing the program for each file cost 2 s of CPU apiece, the most expensive part of the suite.
The child runs each command through the program's entry point as tests/cli/runner.py does (its own
arguments, environment, streams, logging and hooks, put back afterwards); what the process and the
readers it starts write to the file descriptors 1 and 2 is added to the command's stdout and stderr.
Its peak resident memory (itself and its children) is the most any command so far has needed, never
less than the command's own: each command's peak is at most that, so the 1 GB bar holds for each."""

from __future__ import annotations

import os
import struct
import sys
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from tests.capped_child import CappedChild
from tests.dbserver import copy_template
from tests.services.hostile_files import Err, Formula, FormulaErr, XSheet, write_xls, write_xlsx
from tests.services.test_exchange_book import family_rows, hh, person, table

from .runner import ROOT
from .test_cli import BOSS, cli_db
from .test_cli import run as run_as

GB = 1 << 30
PEAK = 1 << 30  # the bar for every case
STDERR_BYTES = 64 * 1024


def run(*args, **kw):
    kw.setdefault("user", (BOSS[1], BOSS[3]))
    return run_as(*args, **kw)


class Ran:
    def __init__(self, code: int, stdout: str, stderr: str, peak: int, seconds: float):
        self.returncode, self.stdout, self.stderr, self.peak, self.seconds = code, stdout, stderr, peak, seconds


CHILD = r"""
import json, os, resource, sys, tempfile, time, traceback
from pathlib import Path

from tests.cli.runner import cli

requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
for line in requests:
    ask = json.loads(line)
    with tempfile.TemporaryFile() as fd_out, tempfile.TemporaryFile() as fd_err:
        os.dup2(fd_out.fileno(), 1)
        os.dup2(fd_err.fileno(), 2)
        started = time.monotonic()
        try:
            p = cli(*ask["argv"], env=ask["env"], cwd=Path(ask["cwd"]))
            code, out, err = p.returncode, p.stdout, p.stderr
        except BaseException:  # what escapes the entry point: Python would print it and exit 1
            code, out, err = 1, "", traceback.format_exc()
        seconds = time.monotonic() - started
        for f in (fd_out, fd_err):
            f.seek(0)
        out += fd_out.read().decode("utf-8", "replace")
        err += fd_err.read().decode("utf-8", "replace")
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    answers.write(json.dumps({"code": code, "stdout": out, "stderr": err, "peak": peak * 1024,
                              "seconds": seconds}) + "\n")
    answers.flush()
"""


_children: list[CappedChild] = []  # the module's one child (CHILD, 4 GB address space), started by the first command


@pytest.fixture(autouse=True, scope="module")
def _one_import_process_for_the_module():
    yield
    while _children:
        _children.pop().close()


def measured(db: Path, file: Path, *extra: str) -> Ran:
    """`import` as the command line runs it, in the module's child process: exit code, output, peak resident
    memory of the process and everything it started, and time."""
    if not _children or _children[0].p.poll() is not None:
        _children[:] = [CappedChild([sys.executable, "-c", CHILD])]
    env = {k: v for k, v in os.environ.items() if k not in ("FANPIN_USER", "FANPIN_PASSWORD")}
    env.update(FANPIN_USER=BOSS[1], FANPIN_PASSWORD=BOSS[3])
    r = _children[0].ask({"argv": ["import", "--db", str(db), str(file), *extra], "env": env, "cwd": str(ROOT)})
    return Ran(r["code"], r["stdout"], r["stderr"], r["peak"], r["seconds"])


def dump(db: Path) -> list[str]:
    """Every row of every table, but the login record and login times a command writes, and the data version
    those writes bump."""
    def kept(line: str) -> bool:
        table = line.split(" VALUES", 1)[0]
        if "user_" in table or '"data_version"' in table:
            return False
        return not ("audit_entry" in table and "'login'" in line)

    with cli_db(db) as c:  # SQLCipher's connection has no iterdump: every row of every table, as it would list them
        tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        lines = [f'INSERT INTO "{t}" VALUES{row!r}' for t in tables for row in c.execute(f'SELECT * FROM "{t}"')]
        return [line for line in lines if kept(line)]


@pytest.fixture(scope="module")
def _first_import(tmp_path_factory):
    """The township every test starts from, made once for the module by the command line (init, then H001
    imported); each test gets its own copy of the file and its key file (tests/dbserver.py)."""
    folder = tmp_path_factory.mktemp("hostile")
    path = folder / "t.sqlite3"
    run("init", "--db", path, "--township", "稷下街道", "--county", "临淄区", "--year", "2024",
        "--monitoring-line", "7100", *BOSS, check_code=0)
    run("import", "--db", path, _book(folder / "first.xlsx", ["H001"]), check_code=0)
    return path


@pytest.fixture
def db(tmp_path, _first_import):
    path = tmp_path / "t.sqlite3"
    copy_template(_first_import, path)
    return path


def _sheets(nos, **member_cells):
    hs = table([hh(no) for no in nos])
    ms = []
    for no in nos:
        ms += family_rows(no, 10 * int(no[1:]))  # serials apart: every household its own ID numbers
    for k, v in member_cells.items():
        ms[0][k] = v
    return hs, table(ms)


def _book(path, nos, **member_cells):
    hs, ms = _sheets(nos, **member_cells)
    return write_xlsx(path, [XSheet("户信息", hs), XSheet("家庭成员", ms)])


def refused(db, file, *words, extra=()):
    before = dump(db)
    r = measured(db, file, *extra)
    assert r.returncode == 1, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr and "导入被拒绝" in r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr[-3000:])
    assert len(r.stderr.encode()) < STDERR_BYTES
    assert r.peak < PEAK, f"{r.peak / 2**20:.0f} MB"
    assert r.seconds < 60
    assert dump(db) == before
    errors = file.with_name(f"{file.stem}.errors.xlsx")
    for row in openpyxl.load_workbook(errors, read_only=True)["错误清单"].iter_rows(values_only=True):
        assert all(len(str(v)) <= 500 for v in row if v is not None)
    return r


def imported(db, file, *extra):
    r = measured(db, file, *extra)
    assert r.returncode == 0, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert r.peak < PEAK, f"{r.peak / 2**20:.0f} MB"
    assert r.seconds < 60
    return r


# ---------------------------------------------------------------- size and extent

def test_a_dimension_that_lies_over_a_cell_at_xfd1048576(db, tmp_path):
    hs, ms = _sheets(["H002"])
    f = write_xlsx(tmp_path / "dim.xlsx", [
        XSheet("户信息", hs, dimension="A1:I3", extra=['<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>']),
        XSheet("家庭成员", ms)])
    assert f.stat().st_size < 5 * 2**20
    r = imported(db, f)  # a value in no known column, far away: read row by row, not as a 17-billion-cell grid
    assert "新增 1 户" in r.stdout


def test_a_stray_cell_at_column_200_row_1048576(db, tmp_path):
    hs, ms = _sheets(["H002"])
    f = write_xlsx(tmp_path / "stray.xlsx", [
        XSheet("户信息", hs), XSheet("家庭成员", ms, extra=['<row r="1048576"><c r="GR1048576"><v>1</v></c></row>'])])
    r = imported(db, f)
    assert "新增 1 户" in r.stdout


def test_padded_sheet_xml(db, tmp_path):
    hs, ms = _sheets(["H002"])
    f = write_xlsx(tmp_path / "pad.xlsx", [XSheet("户信息", hs, pad=GB), XSheet("家庭成员", ms)])
    assert f.stat().st_size < 5 * 2**20
    refused(db, f, "文件被拒绝", "xl/worksheets/sheet1.xml")


def test_a_shared_string_of_a_gigabyte(db, tmp_path):
    hs, ms = _sheets(["H002"])
    f = write_xlsx(tmp_path / "sst.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)], huge_string=GB)
    assert f.stat().st_size < 5 * 2**20
    refused(db, f, "文件被拒绝", "sharedStrings")


def test_a_megabyte_in_one_cell_is_an_error_echoed_short(db, tmp_path):
    hs, ms = _sheets(["H002"])
    hs[0].append("其他风险说明")
    hs[1].append("长" * (1 << 20))
    ms[1][ms[0].index("与户主关系")] = "表" * (1 << 20)
    f = write_xlsx(tmp_path / "long.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)])
    r = refused(db, f, "32,767", "共 1,048,576 个字符")
    assert len(r.stderr) < 4000


# ---------------------------------------------------------------- hidden

def test_a_very_hidden_sheet_before_the_visible_one_is_not_read(db, tmp_path):
    """The clerk sees “户 信息”; a veryHidden “户信息” placed first would replace phone and income."""
    hs, ms = _sheets(["H002"])
    evil = table([hh("H002", 联系电话="13800000000", 工资性收入=99999)])
    f = write_xlsx(tmp_path / "vh.xlsx", [XSheet("户信息", evil, state="veryHidden"), XSheet("户 信息", hs),
                                          XSheet("家庭成员", ms)])
    r = imported(db, f)
    assert "工作表“户 信息”读作：户信息" in r.stdout
    assert "工作表“户信息”（深度隐藏，Excel 中无法取消隐藏）未读取：与可见的同名工作表重复" in r.stdout
    with cli_db(db) as c:
        assert c.execute("SELECT phone FROM household WHERE household_no='H002'").fetchone() == (None,)


def test_data_only_on_a_hidden_sheet_needs_include_hidden(db, tmp_path):
    hs, ms = _sheets(["H002"])
    f = write_xlsx(tmp_path / "h.xlsx", [XSheet("户信息", hs, state="hidden"), XSheet("家庭成员", ms)])
    refused(db, f, "户信息", "隐藏", "--include-hidden")
    r = imported(db, f, "--include-hidden")
    assert "工作表“户信息”（隐藏）读作：户信息" in r.stdout and "新增 1 户" in r.stdout


def test_hidden_rows_are_named_and_need_include_hidden(db, tmp_path):
    hs, ms = _sheets(["H002", "H003"])
    f = write_xlsx(tmp_path / "rows.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms, hidden_rows={3, 5})])
    refused(db, f, "家庭成员", "第 3、5 行是隐藏行")
    r = imported(db, f, "--include-hidden")
    assert "新增 2 户" in r.stdout


def test_our_own_export_with_its_hidden_code_sheet_imports(db, tmp_path):
    out = tmp_path / "导出.xlsx"
    run("export", "--db", db, out, "--year", "2024", check_code=0)
    r = imported(db, out)
    assert "未读取：不是本程序或全国系统格式的数据表" in r.stdout  # 代码表, hidden, named


# ---------------------------------------------------------------- values

def test_error_cells_and_formulas_without_a_value_are_errors(db, tmp_path):
    hs, ms = _sheets(["H002", "H003"])
    hs[0].append("工资性收入")
    hs[1].append(Err("#DIV/0!"))
    hs[2].append(Formula("B2*12"))
    ms[1][ms[0].index("与户主关系")] = Err("#N/A")
    f = write_xlsx(tmp_path / "err.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)])
    refused(db, f, "户信息 第 2 行【工资性收入】“#DIV/0!”：单元格是错误值", "户信息 第 3 行【工资性收入】",
            "公式没有保存计算结果", "家庭成员 第 2 行【与户主关系】“#N/A”")


def test_an_id_number_of_another_households_living_member(db, tmp_path):
    taken = family_rows("H001", 10)[1]["证件号码"]  # 李四 of H001, imported by the fixture
    hs, ms = _sheets(["H005"])
    ms[2][ms[0].index("证件号码")] = taken
    f = write_xlsx(tmp_path / "moved.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)])
    refused(db, f, "户编号 H001 的在册成员", "户编号 H005")


def test_the_same_id_number_in_two_households_of_the_file(db, tmp_path):
    hs, ms = _sheets(["H006", "H007"])
    ms[3][ms[0].index("证件号码")] = ms[1][ms[0].index("证件号码")]
    f = write_xlsx(tmp_path / "twice.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)])
    refused(db, f, "同一人出现在两户")


@pytest.mark.parametrize("column,value", [("姓名", "张\u202e三"), ("姓名", "王\x00五"), ("姓名", "赵\u200b六"),
                                          ("成员联系电话", "1390000\x070000")])
def test_control_characters_in_names_and_phones_are_refused(db, tmp_path, column, value):
    hs, ms = _sheets(["H008"])
    if column not in ms[0]:
        ms[0].append(column)
        for row in ms[1:]:
            row.append(None)
    ms[1][ms[0].index(column)] = value
    f = write_xlsx(tmp_path / "ctl.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)])
    refused(db, f, "控制字符或不可见字符")


def test_control_characters_in_other_text_are_removed_with_a_note(db, tmp_path):
    hs, ms = _sheets(["H009"])
    hs[0].append("其他风险说明")
    hs[1].append("住房\u202e已鉴定\x07")
    f = write_xlsx(tmp_path / "note.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)])
    r = imported(db, f)
    assert "含有控制字符或不可见字符（U+0007、U+202E），已删除后导入" in r.stdout
    with cli_db(db) as c:
        got = c.execute("SELECT a27_other_note FROM household WHERE household_no='H009'").fetchone()
    assert got == ("住房已鉴定",)


# ---------------------------------------------------------------- .xls and .csv

def _xls(path: Path, rows: list[list]) -> Path:
    import xlwt
    wb = xlwt.Workbook()
    ws = wb.add_sheet("监测对象")
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if v is not None:
                ws.write(r, c, v)
    wb.save(str(path))
    return path


def far_xls(path: Path) -> Path:
    """A national list as .xls whose one NUMBER record names cell (65535, 65535)."""
    rows = [["户编号", "姓名", "证件号码", "与户主关系", "村"],
            ["H010", "张三", person("H010", "张三", date(1970, 3, 5), "1", "户主", 30)["证件号码"], "户主", "东村"],
            [None, None, None, None, None, 7.123456789]]
    f = _xls(path, rows)
    data = bytearray(f.read_bytes())
    marker = struct.pack("<d", 7.123456789)  # not an RK number: xlwt writes a NUMBER record
    at = data.find(marker)
    assert at > 0
    record = at - 6  # NUMBER: row, column, xf (2 bytes each), then the double
    struct.pack_into("<HH", data, record, 0xFFFF, 0xFFFF)
    f.write_bytes(bytes(data))
    return f


def test_an_xls_naming_a_cell_beyond_its_format_is_read_in_a_child_that_fails_alone(db, tmp_path):
    """BIFF records carry 16-bit row and column numbers: one NUMBER record patched to column 65,535 and row
    65,535 would make calamine build a 4-billion-cell grid. The child that reads it fails; the command says so."""
    refused(db, far_xls(tmp_path / "far.xls"), "Excel 97-2003")


def big_csv(f: Path) -> Path:
    """A national list as CSV with one field of two million characters (past the 1,048,576 a field may hold)."""
    idn = person("H011", "张三", date(1970, 3, 5), "1", "户主", 40)["证件号码"]
    f.write_text("户编号,姓名,证件号码,与户主关系,村,备注\n"
                 f"H011,张三,{idn},户主,东村,\"{'长' * (2 << 20)}\"\n", encoding="utf-8")
    return f


def test_a_csv_field_of_two_megabytes(db, tmp_path):
    refused(db, big_csv(tmp_path / "big.csv"), "CSV")


# ---------------------------------------------------------------- .xls: what calamine does not say

def _xls_book(path, nos, **kw):
    hs, ms = _sheets(nos)
    return write_xls(path, [XSheet("户信息", hs), XSheet("家庭成员", ms, **kw)])


def test_xls_hidden_rows_are_named_and_need_include_hidden(db, tmp_path):
    """The ROW records of rows 3 and 5 of 家庭成员 carry the hidden bit: refused as the .xlsx is."""
    f = _xls_book(tmp_path / "rows.xls", ["H002", "H003"], hidden_rows={3, 5})
    refused(db, f, "家庭成员", "第 3、5 行是隐藏行", "--include-hidden")
    r = imported(db, f, "--include-hidden")
    assert "新增 2 户" in r.stdout


def test_xls_a_hidden_sheet_read_as_data_needs_include_hidden(db, tmp_path):
    hs, ms = _sheets(["H002"])
    f = write_xls(tmp_path / "sheet.xls", [XSheet("户信息", hs), XSheet("家庭成员", ms, state="veryHidden")])
    refused(db, f, "家庭成员", "深度隐藏", "--include-hidden")


def test_xls_error_cells_are_errors_naming_sheet_row_column_and_value(db, tmp_path):
    """A typed error constant (BOOLERR) and a formula whose saved result is an error (FORMULA): each an error
    naming where it is and what it shows, not a blank that silently drops the household's income."""
    hs, ms = _sheets(["H002", "H003", "H004"])
    hs[0].append("工资性收入")
    hs[1].append(Err("#DIV/0!"))
    hs[2].append(FormulaErr("1/0", "#REF!"))
    hs[3].append(3000)
    ms[1][ms[0].index("与户主关系")] = Err("#N/A")
    f = write_xls(tmp_path / "err.xls", [XSheet("户信息", hs), XSheet("家庭成员", ms)])
    refused(db, f, "户信息 第 2 行【工资性收入】“#DIV/0!”：单元格是错误值", "户信息 第 3 行【工资性收入】“#REF!”",
            "家庭成员 第 2 行【与户主关系】“#N/A”")


def test_xls_error_cells_in_columns_not_read_are_not_errors(db, tmp_path):
    hs, ms = _sheets(["H002"])
    hs[0].append("村里自己的备注列")
    hs[1].append(Err("#VALUE!"))
    f = write_xls(tmp_path / "unread.xls", [XSheet("户信息", hs), XSheet("家庭成员", ms)])
    r = imported(db, f)
    assert "新增 1 户" in r.stdout


# ---------------------------------------------------------------- hidden columns

def _with_income(nos):
    hs, ms = _sheets(nos)
    hs[0] += ["工资性收入", "村里自己的备注列"]
    for row in hs[1:]:
        row += [99999, "看不见"]
    return hs, ms


@pytest.mark.parametrize("write", [write_xlsx, write_xls], ids=["xlsx", "xls"])
def test_a_hidden_column_read_as_data_is_named_and_needs_include_hidden(db, tmp_path, write):
    """工资性收入 hidden (Excel's Hide on the column): read, so named by its header and refused; the hidden column
    no layout knows is not read and not asked about."""
    hs, ms = _with_income(["H002"])
    wage = hs[0].index("工资性收入") + 1
    f = write(tmp_path / f"cols.{write.__name__[-4:]}",
              [XSheet("户信息", hs, hidden_cols={wage, wage + 1}), XSheet("家庭成员", ms)])
    r = refused(db, f, "户信息【工资性收入】", "隐藏列", "--include-hidden")
    assert "村里自己的备注列" not in r.stderr.split("导入被拒绝", 1)[1]
    r = imported(db, f, "--include-hidden")
    assert "新增 1 户" in r.stdout
    with cli_db(db) as c:
        wages = c.execute("SELECT il.amount FROM income_line il JOIN income_record r ON r.id = il.record_id "
                          "JOIN household h ON h.id = r.household_id WHERE h.household_no = 'H002'").fetchall()
    assert wages == [(99999 * 100,)]  # in fen (Money): the hidden column was read, once confirmed


@pytest.mark.parametrize("write", [write_xlsx, write_xls], ids=["xlsx", "xls"])
def test_a_hidden_column_that_is_empty_or_not_read_imports(db, tmp_path, write):
    hs, ms = _sheets(["H002"])
    hs[0] += ["工资性收入", "村里自己的备注列"]
    hs[1] += [None, "看不见"]
    wage = hs[0].index("工资性收入") + 1
    f = write(tmp_path / f"empty.{write.__name__[-4:]}",
              [XSheet("户信息", hs, hidden_cols={wage, wage + 1}), XSheet("家庭成员", ms)])
    r = imported(db, f)
    assert "新增 1 户" in r.stdout


# ---------------------------------------------------------------- what an imported file makes the program write

def test_a_village_named_like_a_formula_is_written_back_as_text(db, tmp_path):
    """The village workbook that made the 汇总表 write a live HYPERLINK(…): imported on the command line, the village
    keeps its name as typed, and both exports write it as text (the 汇总表 itself: tests/services/test_xlsx_text.py
    and the wizard's test)."""
    from tests.services.test_xlsx_text import TYPED, no_formulas_and_quoted
    name = TYPED[0]
    hs, ms = table([hh("H020", village=name)]), table(family_rows("H020", 200))
    r = imported(db, write_xlsx(tmp_path / "村.xlsx", [XSheet("户信息", hs), XSheet("家庭成员", ms)]))
    assert "新增 1 户" in r.stdout
    for layout in ("program", "national"):
        out = tmp_path / f"{layout}.xlsx"
        run("export", "--db", db, out, "--year", "2024", "--layout", layout, check_code=0)
        no_formulas_and_quoted(out, [name])
