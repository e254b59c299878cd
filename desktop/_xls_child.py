"""What the child process that reads an .xls runs (services/exchange/xls.py): kept outside the services package so
that it imports python-calamine and nothing else of the program (_xls_records is standard library only); the child
itself imports only the light packages above exchange/apart.py, which starts it."""

from __future__ import annotations

import struct
import sys


def _state(visible) -> str:
    text = str(visible).rpartition(".")[2].lower()  # SheetVisibleEnum.Hidden: the member, not the enum name
    return "veryHidden" if "very" in text else ("hidden" if "hidden" in text else "visible")


def _pair_by_order(marks: dict, names: list[str]) -> None:
    """A sheet name decoded otherwise than calamine decodes it (an Excel 95 file's code page) must not lose the
    sheet its hidden rows: names calamine lists that the records do not are paired with the records' unmatched
    names in the workbook's order, when as many are left on both sides."""
    lost = [n for n in names if n not in marks]
    spare = [n for n in marks if n not in names]
    if lost and len(lost) == len(spare):
        for name, other in zip(lost, spare, strict=True):
            marks[name] = marks.pop(other)


def read_rows(path: str, memory: int) -> tuple:
    """("ok", [(sheet, state)], {sheet: [(row number, cells)]}, {sheet: (hidden rows, hidden columns, error cells)})
    with the non-blank rows and what the BIFF records say calamine does not (_xls_records), or (reason, None, None,
    None): password, damaged, memory. Run in a child process (exchange/apart.Child), under `memory` on Linux."""
    try:
        if memory and sys.platform.startswith("linux"):
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        from python_calamine import CalamineWorkbook
        try:
            wb = CalamineWorkbook.from_path(path)
        except Exception as exc:  # noqa: BLE001 - calamine raises its own types for every kind of damage
            return ("password" if "Password" in type(exc).__name__ else "damaged", None, None, None)
        sheets = [(m.name, _state(m.visible)) for m in wb.sheets_metadata]
        from ._xls_records import Damaged, Encrypted, read_marks
        try:
            with open(path, "rb") as f:
                marks = {name: m.as_tuple() for name, m in read_marks(f.read()).items()}
            _pair_by_order(marks, [name for name, _state in sheets])
        except Encrypted:
            return ("password", None, None, None)
        except (Damaged, struct.error, IndexError):
            return ("damaged", None, None, None)
        rows: dict[str, list] = {}
        for name, _shown in sheets:
            sheet = wb.get_sheet_by_name(name)
            rows[name] = [(i, row) for i, row in enumerate(sheet.iter_rows(), start=1)
                          if any(c != "" and c is not None for c in row)]
            del sheet
        return ("ok", sheets, rows, marks)
    except MemoryError:
        return ("memory", None, None, None)
    except Exception:  # noqa: BLE001 - reported to the parent as a damaged file
        return ("damaged", None, None, None)
