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
"""

from .exporter import ExportCancelled, ExportResult, errors_path, export_workbook, write_error_workbook, write_template
from .importer import ExchangeError, ImportCancelled, ImportResult, Preview, apply, findings_for, preview
from .national_export import export_national
from .reader import Issue, WorkbookError

ImportPreview = Preview

__all__ = ["ExchangeError", "ExportCancelled", "ExportResult", "ImportCancelled", "ImportPreview", "ImportResult",
           "Issue", "Preview", "WorkbookError", "apply", "errors_path", "export_national", "export_workbook",
           "findings_for", "preview", "write_error_workbook", "write_template"]
