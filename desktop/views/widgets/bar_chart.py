"""A small grouped bar chart drawn with QPainter: categories along the bottom, one bar per series.

首页 needs two charts (by village, by month). QtCharts comes only with PySide6-Addons and pyqtgraph brings
NumPy; both would add tens of megabytes to the installer for two bar charts, so the charts are drawn here
(see the README's notes on the stack). A click on a bar's category emits `clicked(index)`.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

PALETTE = ("#1565c0", "#c62828", "#2e7d32", "#b7791f")


class BarChart(QWidget):
    clicked = Signal(int)  # index of the category clicked

    def __init__(self, title: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.categories: list[str] = []
        self.series: list[tuple[str, list[int]]] = []
        self.setMinimumHeight(180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self._slots: list[QRectF] = []

    def set_data(self, categories: list[str], series: list[tuple[str, list[int]]]) -> None:
        """series: (name, one value per category) each."""
        for name, values in series:
            if len(values) != len(categories):
                raise ValueError(f"series {name}: {len(values)} values for {len(categories)} categories")
        self.categories, self.series = list(categories), list(series)
        tips = [f"{c}：" + "，".join(f"{name} {values[i]}" for name, values in series) for i, c in
                enumerate(categories)]
        self._tips = tips
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(420, 220)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = QFontMetrics(self.font())
        line = fm.lineSpacing()
        w, h = self.width(), self.height()
        p.fillRect(self.rect(), QColor("#ffffff"))
        p.setPen(QColor("#333333"))
        p.drawText(QRectF(0, 0, w, line + 4), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   self.title)
        # legend on the right of the title line
        x = w - 4
        for i, (name, _values) in reversed(list(enumerate(self.series))):
            tw = fm.horizontalAdvance(name)
            x -= tw
            p.drawText(QRectF(x, 0, tw, line + 4), Qt.AlignmentFlag.AlignVCenter, name)
            x -= 14
            p.fillRect(QRectF(x, (line + 4) / 2 - 5, 10, 10), QColor(PALETTE[i % len(PALETTE)]))
            x -= 10
        self._slots = []
        if not self.categories:
            p.drawText(QRectF(0, line, w, h - line), Qt.AlignmentFlag.AlignCenter, "暂无数据")
            return
        top, bottom, left = line + 10, h - line - 8, fm.horizontalAdvance("0000") + 8
        peak = max([max(values) for _name, values in self.series if values] + [1])
        p.setPen(QPen(QColor("#bbbbbb")))
        p.drawLine(left, bottom, w - 4, bottom)
        p.setPen(QColor("#666666"))
        p.drawText(QRectF(0, top - line / 2, left - 4, line), Qt.AlignmentFlag.AlignRight, str(peak))
        p.drawText(QRectF(0, bottom - line / 2, left - 4, line), Qt.AlignmentFlag.AlignRight, "0")
        slot = (w - 4 - left) / len(self.categories)
        n = max(len(self.series), 1)
        bar = max(2.0, min(28.0, (slot - 6) / n))
        for ci, category in enumerate(self.categories):
            x0 = left + ci * slot
            self._slots.append(QRectF(x0, top, slot, bottom - top + line + 8))
            start = x0 + (slot - bar * n) / 2
            for si, (_name, values) in enumerate(self.series):
                value = values[ci]
                height = (bottom - top) * value / peak
                p.fillRect(QRectF(start + si * bar, bottom - height, bar - 1, height),
                           QColor(PALETTE[si % len(PALETTE)]))
            label = fm.elidedText(category, Qt.TextElideMode.ElideRight, int(slot) - 2)
            p.setPen(QColor("#333333"))
            p.drawText(QRectF(x0, bottom + 2, slot, line + 4), Qt.AlignmentFlag.AlignHCenter, label)
        p.end()

    def category_at(self, x: float, y: float) -> int | None:
        for i, r in enumerate(self._slots):
            if r.contains(x, y):
                return i
        return None

    def mouseMoveEvent(self, event) -> None:
        i = self.category_at(event.position().x(), event.position().y())
        self.setToolTip(self._tips[i] if i is not None and i < len(getattr(self, "_tips", [])) else "")
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event) -> None:
        i = self.category_at(event.position().x(), event.position().y())
        if i is not None and event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(i)
        super().mousePressEvent(event)
