"""Draw the application icon (resources/icons/app.png and app.ico) with Qt; run once, result committed."""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QRectF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QFont, QFontDatabase, QGuiApplication, QImage, QPainter  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "resources" / "icons"


def draw(size: int, family: str) -> QImage:
    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor("#c62828"))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(QRectF(size * 0.04, size * 0.04, size * 0.92, size * 0.92), size * 0.18, size * 0.18)
    p.setPen(QColor("white"))
    font = QFont(family)
    font.setPixelSize(int(size * 0.62))
    font.setBold(True)
    p.setFont(font)
    p.drawText(QRectF(0, 0, size, size * 0.98), Qt.AlignmentFlag.AlignCenter, "防")
    p.end()
    return img


def main() -> int:
    app = QGuiApplication(sys.argv)
    family = QFontDatabase.applicationFontFamilies(
        QFontDatabase.addApplicationFont(str(ROOT / "resources" / "fonts" / "NotoSansCJKsc-Regular.ttf")))[0]
    OUT.mkdir(parents=True, exist_ok=True)
    draw(256, family).save(str(OUT / "app.png"))
    draw(256, family).save(str(OUT / "app.ico"))
    print(OUT / "app.png", OUT / "app.ico")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
