"""The README's screenshot of a register row's right-click menu (the household hub), at 1366×768.

    xvfb-run -s "-screen 0 1366x768x24" .venv/bin/python scripts/screenshot_menu.py [--households 300]

Makes a demo township in a temporary folder (`demo`, admin / admin123), opens the window as the administrator
on 户籍登记, right-clicks the third row and grabs the whole screen with the menu open into
resources/screenshots/household-menu.png. Needs a real X screen (Xvfb): offscreen Qt draws no menus.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

YEAR, AS_OF = 2024, date(2024, 11, 20)
OUT = ROOT / "resources" / "screenshots" / "household-menu.png"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=300)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fanpin-shot-"))
    os.environ["FANPIN_DATA_DIR"] = str(folder / "data")  # no window.ini of the user's

    import subprocess

    from PySide6.QtCore import QPoint, QTimer

    from desktop import app as desktop_app
    from desktop.services import opening, settings
    from desktop.services.context import AppContext

    path = folder / "demo.sqlite3"
    subprocess.run([sys.executable, "-m", "desktop", "demo", "--db", str(path), "--households", str(args.households),
                    "--seed", "7", "--year", str(YEAR), "--as-of", AS_OF.isoformat()], cwd=ROOT, check=True)
    opened = opening.log_in(path, "admin", "admin123")  # the demo database is encrypted: the password opens it
    db, user = opened.db, opened.user
    with db.session(user) as s:
        year = settings.current_year(s)
    ctx = AppContext(db=db, user=user, year=year, today=lambda: AS_OF)

    app = desktop_app.setup_application([sys.argv[0]])
    window = desktop_app.create_main_window(ctx)
    window.resize(1366, 728)
    window.move(0, 0)
    window.show()
    page = window.show_page("register")

    def open_menu() -> None:
        table = page.table
        index = page.model.index(2, 0)
        table.selectRow(2)
        rect = table.visualRect(index)
        pos = QPoint(rect.left() + 60, rect.center().y())
        menu = page.list_actions.menu_for(index)
        menu.popup(table.viewport().mapToGlobal(pos))
        QTimer.singleShot(600, lambda: grab(menu))

    def grab(menu) -> None:
        shot = app.primaryScreen().grabWindow(0)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shot.save(str(args.out), "PNG")
        print(f"{args.out} {shot.width()}×{shot.height()}")
        menu.close()
        from desktop.views.operations import operations
        operations().wait()  # the pages' background reads end before the window does
        app.quit()

    QTimer.singleShot(1500, open_menu)
    app.exec()
    db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
