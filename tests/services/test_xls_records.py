"""The BIFF records an .xls child reads for what calamine does not say (desktop/_xls_records.py): hidden rows and
columns and error cells of each sheet, from files written by xlwt (an independent BIFF8 writer), and damaged
compound documents refused rather than looped over or trusted."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop._xls_records import Damaged, Encrypted, read_marks, workbook_stream
from tests.services.hostile_files import Err, FormulaErr, XSheet, write_xls


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    rows = [["户编号", "姓名", "工资性收入", "备注"]] + [[f"H{i:03d}", "张三", 1000 + i, None] for i in range(1, 40)]
    rows[3][2] = Err("#N/A")
    rows[7][2] = FormulaErr("1/0", "#DIV/0!")
    rows[9][3] = Err("#REF!")
    other = [["户编号"], ["H001"], [Err("#NUM!")]]
    path = tmp_path_factory.mktemp("xls") / "b.xls"
    return write_xls(path, [XSheet("户信息", rows, hidden_rows={5, 30}, hidden_cols={3}),
                            XSheet("家庭成员（隐藏）", other, state="veryHidden", hidden_cols={1, 2, 3})])


def test_each_sheet_says_its_hidden_rows_columns_and_error_cells(book):
    marks = read_marks(book.read_bytes())
    assert set(marks) == {"户信息", "家庭成员（隐藏）"}
    first = marks["户信息"]
    assert first.hidden_rows == [5, 30]
    assert first.hidden_cols == {2}  # 0-based: the third column, 工资性收入
    assert first.bad == {4: [(2, "#N/A")], 8: [(2, "#DIV/0!")], 10: [(3, "#REF!")]}
    second = marks["家庭成员（隐藏）"]
    assert second.hidden_rows == [] and second.hidden_cols == {0, 1, 2} and second.bad == {3: [(0, "#NUM!")]}


def test_what_calamine_reads_of_the_same_file_agrees_on_rows(book):
    """The row numbers the marks use are those of the rows calamine gives (row 1 is the header)."""
    from python_calamine import CalamineWorkbook
    rows = list(CalamineWorkbook.from_path(str(book)).get_sheet_by_name("户信息").iter_rows())
    assert rows[0][0] == "户编号" and rows[4][0] == "H004" and rows[3][2] in ("", None)


def test_a_fat_chain_that_loops_is_damaged(book):
    data = bytearray(book.read_bytes())
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    first_fat = struct.unpack_from("<I", data, 0x4C)[0]
    first_dir = struct.unpack_from("<I", data, 0x30)[0]
    at = (first_fat + 1) * (1 << shift) + 4 * first_dir
    struct.pack_into("<I", data, at, first_dir)  # the directory's chain points at itself
    with pytest.raises(Damaged):
        workbook_stream(bytes(data))


def test_not_a_compound_document_is_damaged():
    with pytest.raises(Damaged):
        read_marks(b"PK\x03\x04" + b"\x00" * 600)


def test_an_encrypted_stream_is_said(tmp_path):
    """FILEPASS in the globals: what follows is ciphertext, so nothing is read from it."""
    path = write_xls(tmp_path / "p.xls", [XSheet("户信息", [["户编号"], ["H001"]])])
    data = bytearray(path.read_bytes())
    stream_at = data.find(b"\x09\x08\x10\x00\x00\x06\x05\x00")  # the globals' BOF (BIFF8, workbook globals)
    assert stream_at > 0
    # replace the record after the BOF by a FILEPASS of the same length (the walk only looks at its type)
    nxt = stream_at + 4 + 16
    struct.pack_into("<H", data, nxt, 0x002F)
    with pytest.raises(Encrypted):
        read_marks(bytes(data))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=8))
def test_damaged_bytes_are_refused_or_read_never_anything_else(book, flips):
    data = bytearray(book.read_bytes())
    for at, value in flips:
        data[at % len(data)] = value
    try:
        read_marks(bytes(data))
    except (Damaged, Encrypted, struct.error, IndexError):
        pass


def _entry(name: str, kind: int, start: int, size: int) -> bytes:
    raw = name.encode("utf-16-le") + b"\x00\x00"
    e = bytearray(128)
    e[:len(raw)] = raw
    struct.pack_into("<HBB", e, 0x40, len(raw), kind, 1)  # name length, type, colour (black)
    struct.pack_into("<III", e, 0x44, 0xFFFFFFFF, 0xFFFFFFFF, 1 if kind == 5 else 0xFFFFFFFF)  # siblings, child
    struct.pack_into("<IQ", e, 0x74, start, size)
    return bytes(e)


def test_a_workbook_stream_under_4096_bytes_is_read_from_the_mini_stream(tmp_path):
    """Streams shorter than the cutoff live in the root entry's mini stream ([MS-CFB] 2.6.3). xlwt and Excel pad
    the workbook stream past it, other writers need not: a version-3 compound document built here by hand,
    which calamine reads as well."""
    book = write_xls(tmp_path / "s.xls", [XSheet("户信息", [["户编号"], ["H001"], [Err("#N/A")]], hidden_rows={2})])
    stream = workbook_stream(book.read_bytes())
    end = stream.rstrip(b"\x00")
    assert len(end) < 4000  # the records end well before the padding …
    small = stream[:4000]  # … so 4,000 bytes hold them all: 63 mini sectors
    mini = small + b"\x00" * (64 * 64 - len(small))
    free, end_chain = 0xFFFFFFFF, 0xFFFFFFFE
    fat = [0xFFFFFFFD, end_chain, end_chain] + [4, 5, 6, 7, 8, 9, 10, end_chain]
    fat += [free] * (128 - len(fat))
    minifat = list(range(1, 63)) + [end_chain]
    minifat += [free] * (128 - len(minifat))
    header = bytearray(512)
    header[:8] = bytes.fromhex("d0cf11e0a1b11ae1")
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 0x28, 0, 1, 1, 0, 4096, 2, 1, end_chain, 0)
    struct.pack_into("<109I", header, 0x4C, 0, *([free] * 108))
    directory = (_entry("Root Entry", 5, 3, len(mini)) + _entry("Workbook", 2, 0, len(small))
                 + bytes(128) * 2)
    data = (bytes(header) + struct.pack("<128I", *fat) + directory + struct.pack("<128I", *minifat) + mini)
    path = book.with_name("mini.xls")
    path.write_bytes(data)
    assert workbook_stream(data) == small
    marks = read_marks(data)["户信息"]
    assert marks.hidden_rows == [2] and marks.bad == {3: [(0, "#N/A")]}
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_path(str(path))
    assert wb.sheet_names == ["户信息"]
    assert list(wb.get_sheet_by_name("户信息").iter_rows())[1] == ["H001"]


def test_a_sheet_name_decoded_otherwise_keeps_its_marks_by_order():
    from desktop._xls_child import _pair_by_order
    marks = {"户信息": ([3], [], {}), "¼ÒÍ¥³ÉÔ±": ([5], [1], {})}  # GBK bytes of 家庭成员 read as Latin-1
    _pair_by_order(marks, ["户信息", "家庭成员"])
    assert marks == {"户信息": ([3], [], {}), "家庭成员": ([5], [1], {})}
    left = {"户信息": ([3], [], {}), "甲": ([], [], {}), "乙": ([], [], {})}
    _pair_by_order(left, ["户信息", "丙"])  # not as many on both sides: nothing guessed
    assert set(left) == {"户信息", "甲", "乙"}


def test_the_reader_says_each_way_the_child_can_end(book, monkeypatch, tmp_path):
    """exchange/xls.py reads in a child (apart.Child): the rows and marks when it answers; a file that is not an .xls
    refused as damaged; no answer in time refused in words; the child never left behind."""
    import multiprocessing

    from desktop.services.exchange import xls
    from desktop.services.exchange.reader import WorkbookError
    sheets, rows, marks = xls.read_xls(book)
    assert [name for name, _state in sheets] == ["户信息", "家庭成员（隐藏）"] and rows["户信息"][0][0] == 1
    assert marks == {name: m.as_tuple() for name, m in read_marks(book.read_bytes()).items()}
    junk = tmp_path / "junk.xls"
    junk.write_bytes(b"not a compound document" * 100)
    with pytest.raises(WorkbookError, match="不是有效的 Excel 97-2003 工作簿"):
        xls.read_xls(junk)
    monkeypatch.setattr(xls, "TIMEOUT", 0)
    with pytest.raises(WorkbookError, match="超过 0 秒仍未完成"):
        xls.read_xls(book)
    assert not multiprocessing.active_children()
