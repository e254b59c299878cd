"""Reading an old .xls in a child process that cannot take the program down.

An .xls is a compound document of BIFF records; calamine builds each sheet as a dense grid over the
cells its records name, and a record can name any cell. Measuring that ahead would mean parsing the
records twice, so the file is read in a separate process (multiprocessing, spawn) that reports back the
sheets and their rows, or a Chinese reason. On Linux the child's address space is limited
(Limits.child_memory, RLIMIT_AS): a hostile file makes the child fail, never the window. On Windows
there is no such limit without a Job object; what protects the program there is that the child is a
separate process (an abort ends only the child), the .xls size limit (Limits.xls_bytes; the format
holds at most 65,536 rows × 256 columns a sheet) and the time limit below.

The cost is small: an .xls holds at most 65,536 rows a sheet, and only non-blank rows come back. What
calamine does not say — hidden rows and columns, error cells — the child reads from the BIFF records
themselves (desktop/_xls_records.py) and sends back with the rows.
"""

from __future__ import annotations

from pathlib import Path

from ..._xls_child import read_rows
from .apart import Child
from .measure import LIMITS, Limits, mb

TIMEOUT = 300  # seconds for the child to read the file


def read_xls(path: Path, limits: Limits = LIMITS):
    """([(sheet name, visible/hidden/veryHidden)], {sheet name: [(row number, cells)]}, {sheet name: (hidden
    rows, hidden columns, {row: [(column, error)]})}) of an .xls, read in a child process; WorkbookError with
    a Chinese reason when it cannot be read."""
    from .reader import WorkbookError
    child = Child(read_rows, str(path), limits.child_memory, name="xls", yields=False)  # (the clerk waits for it)
    got = child.result(TIMEOUT)
    if got is None and child.why == "timeout":
        raise WorkbookError(f"读取 .xls 文件超过 {TIMEOUT} 秒仍未完成，已停止：文件可能已损坏")
    status, sheets, rows, marks = got[1] if got is not None and got[0] == "ok" else (
        "memory" if got is not None and got[0] == "MemoryError" else "died", None, None, None)
    if status == "ok":
        return sheets, rows, marks
    if status == "password":
        raise WorkbookError("工作簿设有打开密码，请先在 Excel 中取消密码后再导入")
    if status in ("memory", "died"):
        raise WorkbookError(f"不是有效的 Excel 97-2003 工作簿（.xls），或读取它需要超过 {mb(limits.child_memory)} "
                            "的内存（文件中的单元格位置远超正常表格）：文件已损坏或被改动过，未读取任何数据")
    raise WorkbookError("不是有效的 Excel 97-2003 工作簿（.xls），或文件已损坏")
