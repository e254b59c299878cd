"""The child process that reads an .xls (services/exchange/xls.py): kept outside the services package so
that starting it imports python-calamine and nothing else of the program."""

from __future__ import annotations

import sys


def _state(visible) -> str:
    text = str(visible).rpartition(".")[2].lower()  # SheetVisibleEnum.Hidden: the member, not the enum name
    return "veryHidden" if "very" in text else ("hidden" if "hidden" in text else "visible")


def read_in_child(path: str, memory: int, conn) -> None:
    """Send back ("ok", [(sheet, state)], {sheet: [(row number, cells)]}) with the non-blank rows, or
    (reason, None, None): password, damaged, memory."""
    try:
        if memory and sys.platform.startswith("linux"):
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        from python_calamine import CalamineWorkbook
        try:
            wb = CalamineWorkbook.from_path(path)
        except Exception as exc:  # noqa: BLE001 - calamine raises its own types for every kind of damage
            conn.send(("password" if "Password" in type(exc).__name__ else "damaged", None, None))
            return
        sheets = [(m.name, _state(m.visible)) for m in wb.sheets_metadata]
        rows: dict[str, list] = {}
        for name, _shown in sheets:
            sheet = wb.get_sheet_by_name(name)
            rows[name] = [(i, row) for i, row in enumerate(sheet.iter_rows(), start=1)
                          if any(c != "" and c is not None for c in row)]
            del sheet
        conn.send(("ok", sheets, rows))
    except MemoryError:
        conn.send(("memory", None, None))
    except Exception:  # noqa: BLE001 - reported to the parent as a damaged file
        conn.send(("damaged", None, None))
    finally:
        conn.close()
