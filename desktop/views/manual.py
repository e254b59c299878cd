"""使用手册 (F1): the built-in manual, a page per screen in resources/manual/<key>.html, searchable.

The pages are data (HTML written in plain Chinese), not code; `manual_pages()` lists them in the navigation order
of the window (pages.PAGES), after the 使用手册 index."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..paths import resource_path


@dataclass(frozen=True)
class ManualPage:
    key: str
    title: str
    html: str

    @property
    def text(self) -> str:
        return unescape(re.sub(r"<[^>]+>", " ", self.html))


def manual_pages(keys: list[str]) -> list[ManualPage]:
    """The index and the pages of these screens, those that exist, in this order."""
    out = []
    for key in ["index", *keys]:
        path = resource_path("manual", f"{key}.html")
        if path.is_file():
            html = path.read_text(encoding="utf-8")
            match = re.search(r"<title>(.*?)</title>", html)
            out.append(ManualPage(key, match.group(1) if match else key, html))
    return out


class ManualDialog(QDialog):
    """The manual: pages on the left, the page on the right, a search over all pages above."""

    def __init__(self, keys: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("manual")
        self.setWindowTitle("使用手册")
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.resize(980, 680)
        self.pages = manual_pages(keys)
        self.search = QLineEdit()
        self.search.setPlaceholderText("在手册中查找，例如：公示、2%、绿色通道")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search_changed)
        self.found = QLabel()
        self.list = QListWidget()
        self.list.setMaximumWidth(200)
        for page in self.pages:
            item = QListWidgetItem(page.title)
            item.setData(Qt.ItemDataRole.UserRole, page.key)
            self.list.addItem(item)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.list.currentRowChanged.connect(self._row_changed)
        top = QHBoxLayout()
        top.addWidget(QLabel("查找："))
        top.addWidget(self.search, 1)
        top.addWidget(self.found)
        body = QHBoxLayout()
        body.addWidget(self.list)
        body.addWidget(self.browser, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body, 1)

    def show_page(self, key: str) -> bool:
        """Show a screen's page (the index when the screen has none)."""
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.list.item(row).setHidden(False)
                self.list.setCurrentRow(row)
                return True
        self.list.setCurrentRow(0)
        return False

    def current_key(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self.pages):
            self.browser.setHtml(self.pages[row].html)
            self._highlight()

    def _search_changed(self, text: str) -> None:
        """Pages containing the text stay listed (the first is shown, the text found in it)."""
        needle = text.strip()
        matches = [i for i, p in enumerate(self.pages) if needle in p.text] if needle else list(range(len(self.pages)))
        for i in range(self.list.count()):
            self.list.item(i).setHidden(i not in matches)
        self.found.setText(f"{len(matches)} 页" if needle else "")
        if matches and self.list.currentRow() not in matches:
            self.list.setCurrentRow(matches[0])
        else:
            self._highlight()

    def _highlight(self) -> None:
        needle = self.search.text().strip()
        if needle:
            self.browser.moveCursor(self.browser.textCursor().MoveOperation.Start)
            self.browser.find(needle, QTextDocument.FindFlag(0))
