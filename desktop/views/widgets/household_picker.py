"""The one way a household is chosen (登记线索, 绿色通道, 风险消除, 申请, 迁往他户, 收入测算…): type any of 户编号,
户主 or any member's name or ID number, a phone number; matching households drop down as one types (↑/↓ to move,
Enter or a click to choose); the chosen household's head, village and status show below. Backed by one service
search, register.search_households (the user's villages only, the working register only)."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QCompleter, QLabel, QLineEdit, QVBoxLayout, QWidget

from ...services import register, workflow
from ...services.access import AccessDenied
from ...services.context import AppContext

SEARCH_DELAY_MS = 150
ID_ROLE = Qt.ItemDataRole.UserRole + 1
PLACEHOLDER = "输入户编号、户主或成员姓名、身份证号、电话"
RED = "<span style='color:#c62828'>{}</span>"


class HouseholdPicker(QWidget):
    """A search-as-you-type household chooser; `changed(household id or None)` when the choice changes."""

    changed = Signal(object)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, *, exclude: int | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.exclude = exclude  # a household that may not be chosen (迁往他户: the member's own)
        self.found: workflow.FoundHousehold | None = None
        self._refused = False  # the typed number is a household this user may not choose (the info says why)
        self.number = QLineEdit()  # the typed text; after a choice, the chosen household's number
        self.number.setPlaceholderText(PLACEHOLDER)
        self.number.setClearButtonEnabled(True)
        self.number.setMinimumWidth(300)
        self.info = QLabel("—")
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.matches = QStandardItemModel(self)
        self.completer = QCompleter(self.matches, self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setMaxVisibleItems(12)
        self.completer.setWidget(self.number)
        self.completer.activated[QModelIndex].connect(self._chosen)
        self.timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self.timer.timeout.connect(lambda: self.search(self.number.text(), popup=True))
        self.number.textChanged.connect(self._typed)
        self.number.returnPressed.connect(self.choose_typed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.number)
        layout.addWidget(self.info)
        self.setFocusProxy(self.number)

    # ------------------------------------------------------------------ what callers use

    def household_id(self) -> int | None:
        return self.found.id if self.found else None

    def household_no(self) -> str:
        return self.found.household_no if self.found else self.number.text().strip()

    def set_number(self, household_no: str) -> None:
        """Choose a household by its number (a list's menu, a caller that knows it); says at once when none is."""
        self.number.setText(household_no)
        if self.found is None and household_no.strip():
            self.timer.stop()
            self.search(household_no)

    def set_household(self, household_id: int | None) -> None:
        no = self.ctx.read(register.household_no, household_id) if household_id is not None else ""
        self.set_number(no or "")

    # ------------------------------------------------------------------ searching

    def search(self, text: str, popup: bool = False) -> list[register.HouseholdMatch]:
        """The matches of the typed text (at most register.PICK_LIMIT), shown as the drop-down list."""
        rows = [r for r in self.ctx.read(register.search_households, text) if r.id != self.exclude] \
            if text.strip() else []
        self.matches.clear()
        for r in rows:
            item = QStandardItem(r.text)
            item.setData(r.id, ID_ROLE)
            self.matches.appendRow(item)
        if popup and rows and self.found is None and self.number.hasFocus():
            self.completer.complete()
        if text.strip() and not rows and self.found is None and not self._refused:
            self.info.setText(RED.format("未找到符合条件的户"))
        return rows

    def _typed(self, text: str) -> None:
        self._look_up(text.strip())
        if self.found is None and text.strip():
            self.timer.start()
        else:
            self.timer.stop()
            self.completer.popup().hide()

    def _chosen(self, index: QModelIndex) -> None:
        hid = index.data(ID_ROLE)
        if hid is None:
            return
        self.timer.stop()
        self.set_household(int(hid))

    def choose_typed(self) -> None:
        """Enter without the list: the only match, or the one whose number is exactly what was typed."""
        if self.found is not None:
            return
        rows = self.search(self.number.text())
        exact = [r for r in rows if r.household_no == self.number.text().strip()]
        if exact or len(rows) == 1:
            self.set_household((exact or rows)[0].id)

    def _look_up(self, text: str) -> None:
        """The typed text as an exact household number: chosen at once when it is one (or refused, and why)."""
        self._refused = False
        try:
            found = self.ctx.read(workflow.find_household, text, self.ctx.user) if text else None
        except AccessDenied:  # another village's household: the service does not show it to this user
            found = None
            self._refused = True
            self.info.setText(RED.format("该户不在您负责的村，不能办理"))
        else:
            if found is not None and found.id == self.exclude:
                self.info.setText(RED.format("这是本户，请选择另一户"))
                found, self._refused = None, True
            elif found is not None and found.problem:
                self.info.setText(RED.format(escape(found.problem)))
                found, self._refused = None, True
            elif found is not None:
                self.info.setText(f"户主 <b>{escape(found.head_name or '（未登记户主）')}</b> · {escape(found.village)}"
                                  f" · 当前状态：{escape(found.status)}")
            else:
                self.info.setText("—" if not text else "继续输入，或从列表中选择（↑↓ 选择，回车确定）")
        if found != self.found:
            self.found = found
            self.changed.emit(self.household_id())
