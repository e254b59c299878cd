"""A list item drawn as a title with a description on a second, smaller grey line."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate

DESCRIPTION_ROLE = Qt.ItemDataRole.UserRole + 1


class TwoLineDelegate(QStyledItemDelegate):
    """A document's title with its description on a second, smaller grey line."""

    def sizeHint(self, option, index) -> QSize:
        fm = option.fontMetrics
        return QSize(200, fm.height() * 2 + 8)

    def paint(self, painter, option, index) -> None:
        self.initStyleOption(option, index)
        option.text = ""
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        r = option.rect.adjusted(8, 3, -6, -3)
        fm = option.fontMetrics
        painter.save()
        painter.setPen(option.palette.color(role))
        painter.drawText(QRect(r.left(), r.top(), r.width(), fm.height()), Qt.AlignmentFlag.AlignLeft,
                         fm.elidedText(index.data(), Qt.TextElideMode.ElideRight, r.width()))
        small = QFont(option.font)
        small.setPointSizeF(option.font.pointSizeF() * 0.88)
        painter.setFont(small)
        if not selected:
            painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
        text = painter.fontMetrics().elidedText(index.data(DESCRIPTION_ROLE), Qt.TextElideMode.ElideRight, r.width())
        painter.drawText(QRect(r.left(), r.top() + fm.height() + 2, r.width(), fm.height()),
                         Qt.AlignmentFlag.AlignLeft, text)
        painter.restore()
