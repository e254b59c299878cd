"""The import wizard's preview of one file, alone in a process, so that its peak memory can be measured as the
command line's is (tests/views/test_import_wizard_memory.py): the window as a clerk opens it (offscreen), the
file chosen, 下一步, and what the preview page then shows printed as JSON on stdout.

    python -m tests.views.preview_child DB FILE USER PASSWORD
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path


def main(db_path: str, file: str, user: str, password: str) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QFileDialog

    from desktop.services import auth
    from desktop.services.context import AppContext
    from desktop.services.db import init_db, sqlite_url
    from desktop.views import import_wizard as wizard_module
    from desktop.views.import_wizard import ImportWizard

    app = QApplication.instance() or QApplication([])
    db = init_db(sqlite_url(Path(db_path)))
    with db.session() as s:
        who = auth.authenticate(s, user, password)
        s.commit()
    ctx = AppContext(db=db, user=who, year=2024, today=lambda: date(2024, 12, 31))
    failed: list[str] = []
    wizard_module.show_info = lambda *a: None
    wizard_module.show_error = lambda _parent, exc, *a: (failed.append(str(exc)), app.quit())
    QFileDialog.getOpenFileName = staticmethod(lambda *a, **k: (file, ""))
    w = ImportWizard(ctx)
    w.show()
    ready: list[object] = []
    w.previewReady.connect(ready.append)
    poll = QTimer()
    on_page: list[bool] = []

    def check():
        if ready and w.currentPage() is w.preview_page:
            on_page.append(True)
            app.quit()
    poll.timeout.connect(check)
    poll.start(50)
    w.file_page.browse_button.click()
    QTimer.singleShot(0, w.next)
    QTimer.singleShot(120_000, app.quit)
    app.exec()
    page = w.preview_page
    rows = range(page.model.rowCount())
    out = {"page": bool(on_page), "failed": failed, "verdict": page.verdict.text(), "notes": page.notes.text(),
           "issues": [page.model.index(r, 4).data() or "" for r in rows],
           "values": [page.model.index(r, 3).data() or "" for r in rows]}
    sys.stdout.write(json.dumps(out, ensure_ascii=False))
    sys.stdout.flush()
    w.close()
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
