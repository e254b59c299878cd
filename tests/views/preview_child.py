"""The import wizard's preview of files, in a process of its own, so that its peak memory can be measured as the
command line's is (tests/views/test_import_wizard_memory.py): the window as a clerk opens it (offscreen), the
file chosen, 下一步, and what the preview page then shows, as JSON. One process previews the files of the whole
test module one after the other (starting Python, Qt and the program costs more than most previews): each line on
stdin asks for one (JSON: db, file, user, password), each answer is one line on stdout with the peak resident
memory so far of this process and of the processes it started (the .xls reader), which is at least the peak of
this one preview, and the seconds it took.

    python -m tests.views.preview_child < requests
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path


def preview(app, db_path: str, file: str, user: str, password: str) -> dict:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QFileDialog

    from desktop.services import opening
    from desktop.services.context import AppContext
    from desktop.views import import_wizard as wizard_module
    from desktop.views.import_wizard import ImportWizard

    opened = opening.log_in(Path(db_path), user, password)  # the key file unlocked first, as the window logs in
    db, who = opened.db, opened.user
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
    give_up = QTimer()
    give_up.setSingleShot(True)
    give_up.timeout.connect(app.quit)
    give_up.start(120_000)
    app.exec()
    poll.stop()
    give_up.stop()
    page = w.preview_page
    rows = range(page.model.rowCount())
    out = {"page": bool(on_page), "failed": failed, "verdict": page.verdict.text(), "notes": page.notes.text(),
           "issues": [page.model.index(r, 4).data() or "" for r in rows],
           "values": [page.model.index(r, 3).data() or "" for r in rows]}
    w.close()
    w.deleteLater()
    app.processEvents()
    db.dispose()
    return out


def main() -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    for line in requests:
        ask = json.loads(line)
        started = time.monotonic()
        out = preview(app, ask["db"], ask["file"], ask["user"], ask["password"])
        out["seconds"] = time.monotonic() - started
        out["peak"] = 1024 * max(resource.getrusage(who).ru_maxrss
                                 for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        answers.write(json.dumps(out, ensure_ascii=False) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
