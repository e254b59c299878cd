"""The detail lines of the income calculator: one amount editor (and an optional 说明) per line,
grouped by item A28–A32, A35, A36, with a subtotal per item and an inline message per bad amount.

Amounts are read with services.income.parse_money ("12,000元", full-width digits); nothing here
computes a result of the form: the page hands the totals to services.income.compute.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..services import income
from ..services.income import IncomeError, LineData
from ..services.rules import yuan
from .errors import ERROR_STYLE

BAD_EDIT_STYLE = "QLineEdit { border: 1px solid #c62828; background: #fff5f5; }"
EXPENSE_ITEMS = ("A32", "A36")  # subtracted in the form


def amount_text(amount: Decimal | None) -> str:
    """How a stored amount reads in its editor: empty for zero (the placeholder says 0.00)."""
    return "" if not amount else yuan(amount)


class AmountEdit(QLineEdit):
    """A money editor: right-aligned, reformatted to 12,000.00 when left with a valid amount."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setPlaceholderText("0.00")
        self.setFixedWidth(130)
        self.editingFinished.connect(self._tidy)

    def _tidy(self) -> None:
        try:
            amount = income.parse_money(self.text())
        except IncomeError:
            return
        tidy = amount_text(amount)
        if tidy != self.text():
            self.setText(tidy)


class LineRow:
    """The widgets of one detail line."""

    def __init__(self, item: str, line: str, amount: Decimal, note: str | None):
        self.item, self.line = item, line
        self.label = QLabel(line)
        self.amount = AmountEdit()
        self.amount.setText(amount_text(amount))
        self.amount.setToolTip(f"{line}：金额（元），可输入“12,000元”或全角数字")
        self.note = QLineEdit(note or "")
        self.note.setPlaceholderText("说明（可不填）")
        self.note.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # Tab goes from amount to amount
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.setVisible(False)

    def value(self) -> tuple[Decimal | None, str | None]:
        """The amount, or None with the message when the text is not a non-negative amount."""
        try:
            return income.parse_money(self.amount.text()), None
        except IncomeError as exc:
            return None, str(exc)

    def data(self) -> LineData | None:
        amount, _problem = self.value()
        return None if amount is None else LineData(self.item, self.line, amount, self.note.text().strip() or None)


class LinesPanel(QScrollArea):
    """All detail lines of a record, editable. `changed` fires on every keystroke."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.rows: list[LineRow] = []
        self.subtotals: dict[str, QLabel] = {}
        self._names = income.item_names()
        self.set_lines([])

    # ------------------------------------------------------------------ building

    def set_lines(self, lines: list[LineData]) -> None:
        """Show these lines (every line of the catalog, see services.income.editable_lines)."""
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 8, 0)
        self.rows, self.subtotals = [], {}
        by_item: dict[str, list[LineData]] = {}
        for ln in lines:
            by_item.setdefault(ln.item, []).append(ln)
        for item, item_lines in by_item.items():
            layout.addWidget(self._group(item, item_lines))
        if not lines:
            hint = QLabel("请先在上方选择一户")
            hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
            hint.setStyleSheet("color: #777;")
            layout.addWidget(hint)
        layout.addStretch(1)
        self.setWidget(body)
        previous = None
        for row in self.rows:
            if previous is not None:
                QWidget.setTabOrder(previous, row.amount)
            previous = row.amount
        self._refresh_all()

    def _group(self, item: str, lines: list[LineData]) -> QGroupBox:
        sign = "（减项）" if item in EXPENSE_ITEMS else ""
        box = QGroupBox(f"{item} {self._names.get(item, item)}{sign}")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        grid.setColumnStretch(3, 1)
        grid.setColumnMinimumWidth(0, 150)
        r = 0
        for ln in lines:
            row = LineRow(item, ln.line, ln.amount, ln.note)
            row.amount.textChanged.connect(lambda _t, row=row: self._row_changed(row))
            row.note.textChanged.connect(lambda _t: self.changed.emit())
            grid.addWidget(row.label, r, 0)
            grid.addWidget(row.amount, r, 1)
            grid.addWidget(QLabel("元"), r, 2)
            grid.addWidget(row.note, r, 3)
            grid.addWidget(row.error, r + 1, 0, 1, 4)
            self.rows.append(row)
            r += 2
        total_label = QLabel("小计")
        total_label.setStyleSheet("font-weight: bold;")
        subtotal = QLabel()
        subtotal.setObjectName(f"subtotal_{item}")
        subtotal.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        subtotal.setStyleSheet("font-weight: bold; padding-right: 4px;")
        subtotal.setFixedWidth(130)
        subtotal.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        grid.addWidget(total_label, r, 0)
        grid.addWidget(subtotal, r, 1)
        grid.addWidget(QLabel("元"), r, 2)
        self.subtotals[item] = subtotal
        return box

    # ------------------------------------------------------------------ state

    def _row_changed(self, row: LineRow) -> None:
        self._show_row(row)
        self._show_subtotal(row.item)
        self.changed.emit()

    def _refresh_all(self) -> None:
        for row in self.rows:
            self._show_row(row)
        for item in self.subtotals:
            self._show_subtotal(item)

    @staticmethod
    def _show_row(row: LineRow) -> None:
        _amount, problem = row.value()
        row.error.setText(problem or "")
        row.error.setVisible(bool(problem))
        row.amount.setStyleSheet(BAD_EDIT_STYLE if problem else "")

    def _show_subtotal(self, item: str) -> None:
        values = [row.value()[0] for row in self.rows if row.item == item]
        label = self.subtotals[item]
        label.setText("—" if any(v is None for v in values) else yuan(sum(values, Decimal("0.00"))))

    def problems(self) -> list[str]:
        out = []
        for row in self.rows:
            _amount, problem = row.value()
            if problem:
                out.append(f"{self._names.get(row.item, row.item)}“{row.line}”：{problem}")
        return out

    def lines(self) -> list[LineData] | None:
        """Every line with its amount, or None while any amount is not valid."""
        data = [row.data() for row in self.rows]
        return None if any(d is None for d in data) else data

    def snapshot(self) -> tuple:
        return tuple((row.amount.text().strip(), row.note.text().strip()) for row in self.rows)

    def amount_edit(self, item: str, line: str, nth: int = 0) -> AmountEdit:
        """The editor of a line (for the page's tests and for focusing a problem)."""
        matches = [row.amount for row in self.rows if row.item == item and row.line == line]
        return matches[nth]

    def note_edit(self, item: str, line: str, nth: int = 0) -> QLineEdit:
        return [row.note for row in self.rows if row.item == item and row.line == line][nth]

    def first_amount(self) -> AmountEdit | None:
        return self.rows[0].amount if self.rows else None
