"""The exchange workbook (SPEC §9): import with full validation, export, the villages' template,
and the error workbook of a rejected import.

    pv = preview(session, path, year)          # read and check everything, write nothing
    if pv.ok:
        result = apply(session, pv, progress=…, cancelled=…)   # caller commits or rolls back
    else:
        write_error_workbook(pv.errors, errors_path(path), source=path, total=pv.error_count)

    export_workbook(session, path, year, progress=…, cancelled=…)     # our layout (SPEC §9)
    export_national(session, path, year, progress=…, cancelled=…)     # the national layout (SPEC §9.1)
    write_template(session, path)

The names below are imported when first used: a process that needs only the file's cutting (taps.py, the
fingerprints' second pass over a large sheet in a process of its own) imports measure.py and rowcut.py, not the
register and the database.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (for readers and tools: the same names, imported when first used below)
    from .exporter import (
        ExportCancelled,
        ExportResult,
        errors_path,
        export_workbook,
        write_error_workbook,
        write_template,
    )
    from .importer import ExchangeError, ImportCancelled, ImportResult, Preview, apply, findings_for, preview
    from .importer import Preview as ImportPreview
    from .national_export import export_national
    from .reader import Issue, WorkbookError

_FROM = {
    "ExportCancelled": "exporter", "ExportResult": "exporter", "errors_path": "exporter",
    "export_workbook": "exporter", "write_error_workbook": "exporter", "write_template": "exporter",
    "ExchangeError": "importer", "ImportCancelled": "importer", "ImportResult": "importer", "Preview": "importer",
    "ImportPreview": "importer", "apply": "importer", "findings_for": "importer", "preview": "importer",
    "export_national": "national_export",
    "Issue": "reader", "WorkbookError": "reader",
}

__all__ = ["ExchangeError", "ExportCancelled", "ExportResult", "ImportCancelled", "ImportPreview", "ImportResult",
           "Issue", "Preview", "WorkbookError", "apply", "errors_path", "export_national", "export_workbook",
           "findings_for", "preview", "write_error_workbook", "write_template"]  # (the keys of _FROM)


def __getattr__(name: str):
    """A name of __all__ from its module, or a module of the package (exchange.reader), imported now."""
    module = _FROM.get(name)
    if module is None:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise  # (a module it imports is missing: said as it is)
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(f"{__name__}.{module}"), "Preview" if name == "ImportPreview" else name)
    globals()[name] = value
    return value
