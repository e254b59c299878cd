"""年度设置: the settings of each year (SPEC §5). Saved changes are audited by the session hook."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..services import settings
from ..services.context import AppContext
from ..services.errors import ServiceError
from .errors import confirm, error_label, set_error

EDIT_ROLES = ("admin", "auditor")
UNIT = settings.UNIT


def money_text(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{int(value)}" if value == value.to_integral_value() else f"{value:.2f}"


def to_qdate(d: date) -> QDate:
    return QDate(d.year, d.month, d.day)


def from_qdate(q: QDate) -> date:
    return date(q.year(), q.month(), q.day())


def _date_edit() -> QDateEdit:
    edit = QDateEdit()
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setCalendarPopup(True)
    edit.setMinimumDate(QDate(1999, 1, 1))
    edit.setMaximumDate(QDate(2100, 12, 31))
    edit.setMinimumWidth(130)
    edit.setMaximumWidth(160)
    return edit


def _with_unit(edit: QLineEdit, note: str = "") -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit)
    row.addWidget(QLabel(UNIT))
    if note:
        hint = QLabel(note)
        hint.setStyleSheet("color: #555;")
        row.addWidget(hint)
    row.addStretch(1)
    return box


class SettingsPage(QWidget):
    """Pick a year, edit its values, save; make it the current year. Read-only for 村级录入员."""

    current_year_changed = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.may_edit = ctx.user is None or ctx.user.role in EDIT_ROLES
        self._unsaved_years: set[int] = set()
        self._stored: settings.YearSettingsData | None = None
        self._loaded: tuple | None = None
        self._year: int | None = None

        self.year_combo = QComboBox()
        self.year_combo.setMinimumWidth(180)
        self.add_year_button = QPushButton("新增年度…")
        self.current_button = QPushButton("设为当前年度")
        top = QHBoxLayout()
        top.addWidget(QLabel("年度："))
        top.addWidget(self.year_combo)
        top.addWidget(self.add_year_button)
        top.addWidget(self.current_button)
        top.addStretch(1)

        self.line = QLineEdit()
        self.rural_average = QLineEdit()
        self.county_income = QLineEdit()
        for edit in (self.line, self.rural_average, self.county_income):
            edit.setMaximumWidth(160)
        self.line.setPlaceholderText("必填")
        self.rural_average.setPlaceholderText("可不填")
        self.county_income.setPlaceholderText("可不填")
        money = QGroupBox("收入标准")
        money_form = QFormLayout(money)
        money_form.addRow("省定防止返贫监测线 *：", _with_unit(self.line))
        money_form.addRow("当地农村人均纯收入：", _with_unit(self.rural_average, "用于判断收入是否“明显高于”当地水平"))
        money_form.addRow("县农村居民人均可支配收入：",
                          _with_unit(self.county_income, "用于脱贫不享受政策分类（认定标准一）"))

        self.period_start = _date_edit()
        self.period_end = _date_edit()
        self.status_point = _date_edit()
        period = QGroupBox("统计口径")
        period_form = QFormLayout(period)
        period_form.addRow("统计期起：", self.period_start)
        period_form.addRow("统计期止：", self.period_end)
        period_form.addRow("状态时点：", self.status_point)
        period_hint = QLabel("默认统计期为上年 10 月 1 日至当年 9 月 30 日，状态时点为 9 月 30 日 24 时。")
        period_hint.setStyleSheet("color: #555;")
        period_form.addRow("", period_hint)

        self.threshold_edits: dict[str, QLineEdit] = {}
        limits = QGroupBox("集中排查和数据检查阈值")
        limits_form = QFormLayout(limits)
        for key in settings.DEFAULT_THRESHOLDS:
            spec = settings.THRESHOLDS[key]
            label, unit, hint = spec.label, spec.unit, spec.hint
            edit = QLineEdit()
            edit.setObjectName(f"threshold_{key}")
            edit.setMaximumWidth(100 if unit != UNIT else 160)
            self.threshold_edits[key] = edit
            box = QWidget()
            row = QHBoxLayout(box)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(edit)
            row.addWidget(QLabel(unit))
            if hint:
                note = QLabel(f"（{hint}）")
                note.setStyleSheet("color: #555;")
                row.addWidget(note)
            row.addStretch(1)
            limits_form.addRow(f"{label}：", box)

        self.error = error_label(self)
        self.notice = QLabel()
        self.notice.setStyleSheet("color: #2e7d32;")
        self.save_button = QPushButton("保存")
        self.revert_button = QPushButton("撤销修改")
        buttons = QHBoxLayout()
        buttons.addWidget(self.notice, 1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)

        body = QWidget()  # a form reads better at a fixed width than stretched over a wide screen
        body.setMaximumWidth(880)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<h3>年度设置</h3>"))
        layout.addLayout(top)
        layout.addWidget(money)
        layout.addWidget(period)
        layout.addWidget(limits)
        self.read_only_note = QLabel("您的角色只能查看年度设置；修改请联系管理员或乡镇审核员。")
        self.read_only_note.setStyleSheet("color: #555;")
        self.read_only_note.setVisible(not self.may_edit)
        layout.addWidget(self.read_only_note)
        page = QWidget()  # scrolls on a small screen (1366×768) rather than making the window taller
        column = QVBoxLayout(page)
        column.addWidget(body)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(page)
        # 保存 and the message about it stay in view below the scrolling form, as in a dialog's button row: at
        # 1366×768 the thresholds run past the bottom of the window.
        bar = QWidget()
        bar.setMaximumWidth(body.maximumWidth() + 2 * column.contentsMargins().left())
        bar_layout = QVBoxLayout(bar)
        bar_layout.setContentsMargins(column.contentsMargins().left(), 4, column.contentsMargins().right(),
                                      column.contentsMargins().bottom())
        bar_layout.addWidget(self.error)
        bar_layout.addLayout(buttons)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(scroll, 1)
        outer.addWidget(bar)

        self.year_combo.currentIndexChanged.connect(self._year_picked)
        self.add_year_button.clicked.connect(self._ask_year)
        self.current_button.clicked.connect(self.make_current)
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(lambda: self.load(self._year))
        for edit in (self.line, self.rural_average, self.county_income, *self.threshold_edits.values()):
            edit.textEdited.connect(self._changed)
        for edit in (self.period_start, self.period_end, self.status_point):
            edit.dateChanged.connect(self._changed)
        self._apply_permissions()
        self.refresh()

    # ------------------------------------------------------------------ years

    def refresh(self, select: int | None = None) -> None:
        """Reload the year list and select `select`, else the shown year, else the current year."""
        saved = self.ctx.read(settings.years)
        self._unsaved_years -= set(saved)
        current = self.ctx.read(settings.current_year)
        wanted = select or self._year or current or self.ctx.year or self.ctx.today().year
        self.year_combo.blockSignals(True)
        self.year_combo.clear()
        for y in sorted(set(saved) | self._unsaved_years):
            label = f"{y} 年"
            if y == current:
                label += "（当前年度）"
            elif y in self._unsaved_years:
                label += "（未保存）"
            self.year_combo.addItem(label, y)
        if self.year_combo.findData(wanted) < 0:
            self._unsaved_years.add(wanted)
            self.year_combo.addItem(f"{wanted} 年（未保存）", wanted)
        self.year_combo.setCurrentIndex(self.year_combo.findData(wanted))
        self.year_combo.blockSignals(False)
        self.load(wanted)

    def _year_picked(self, _index: int) -> None:
        year = self.year_combo.currentData()
        if year == self._year:
            return
        if self.is_dirty() and not confirm(self, f"{self._year} 年的修改尚未保存，放弃这些修改吗？"):
            self.year_combo.blockSignals(True)
            self.year_combo.setCurrentIndex(self.year_combo.findData(self._year))
            self.year_combo.blockSignals(False)
            return
        self.load(year)

    def _ask_year(self) -> None:
        dialog = QInputDialog(self)
        dialog.setWindowTitle("新增年度")
        dialog.setLabelText("年度：")
        dialog.setInputMode(QInputDialog.InputMode.IntInput)
        dialog.setIntRange(2000, 2100)
        dialog.setIntValue(max(self.ctx.read(settings.years) or [self.ctx.today().year - 1]) + 1)
        dialog.setOkButtonText("确定")
        dialog.setCancelButtonText("取消")
        if dialog.exec():
            self.add_year(dialog.intValue())

    def add_year(self, year: int) -> None:
        """Show a year that is not saved yet (default period, empty amounts); 保存 creates it."""
        if self.is_dirty() and not confirm(self, f"{self._year} 年的修改尚未保存，放弃这些修改吗？"):
            return
        if self.year_combo.findData(year) < 0:
            self._unsaved_years.add(year)
        self._year = None
        self.refresh(select=year)

    def make_current(self) -> None:
        year = self._year
        if year is None or year in self._unsaved_years:
            set_error(self.error, "请先保存该年度的设置，再设为当前年度")
            return
        try:
            self.ctx.run(settings.set_current_year, year)
        except ServiceError as exc:
            set_error(self.error, exc)
            return
        self.ctx.year = year
        self.refresh(select=year)
        self.notice.setText(f"已将 {year} 年设为当前年度")
        self.current_year_changed.emit(year)

    # ------------------------------------------------------------------ form

    def load(self, year: int | None) -> None:
        self._year = year
        if year is None:
            return
        data = None if year in self._unsaved_years else self.ctx.read(settings.get_year, year)
        self._stored = data
        if data is None:
            start, end, point = settings.default_period(year)
            amounts = ("", "", "")
        else:
            start, end, point = data.period_start, data.period_end, data.status_time_point
            amounts = (money_text(data.monitoring_line), money_text(data.rural_average),
                       money_text(data.county_income))
        for edit, text in zip((self.line, self.rural_average, self.county_income), amounts, strict=True):
            edit.setText(text)
        stored_thresholds = data.thresholds if data is not None else settings.DEFAULT_THRESHOLDS
        for key, edit in self.threshold_edits.items():
            edit.setText(settings.threshold_text(key, stored_thresholds.get(key)))
        for edit, d in ((self.period_start, start), (self.period_end, end), (self.status_point, point)):
            edit.blockSignals(True)
            edit.setDate(to_qdate(d))
            edit.blockSignals(False)
        self._loaded = self._snapshot()
        set_error(self.error, None)
        self.notice.clear()
        is_current = year == self.ctx.read(settings.current_year)
        self.current_button.setEnabled(self.may_edit and not is_current)
        self._changed()

    def _snapshot(self) -> tuple:
        return (self.line.text().strip(), self.rural_average.text().strip(), self.county_income.text().strip(),
                self.period_start.date(), self.period_end.date(), self.status_point.date(),
                tuple(edit.text().strip() for edit in self.threshold_edits.values()))

    def is_dirty(self) -> bool:
        return self._year is not None and (self._snapshot() != self._loaded or self._year in self._unsaved_years)

    def _changed(self, *_args) -> None:
        if self.may_edit:
            self.save_button.setEnabled(self.is_dirty())
            self.revert_button.setEnabled(self._snapshot() != self._loaded)
        if self._snapshot() != self._loaded:
            self.notice.clear()

    def form(self) -> settings.YearForm:
        """The year as typed."""
        return settings.YearForm(
            year=self._year or 0, monitoring_line=self.line.text(), rural_average=self.rural_average.text(),
            county_income=self.county_income.text(), period_start=from_qdate(self.period_start.date()),
            period_end=from_qdate(self.period_end.date()), status_time_point=from_qdate(self.status_point.date()),
            thresholds={key: edit.text() for key, edit in self.threshold_edits.items()})

    def validate(self) -> list[str]:
        """What settings.validate_year finds wrong with the form, in the order of the fields."""
        return list(settings.validate_year(self.form(), self._stored).values())

    def changed_thresholds(self) -> dict | None:
        """Thresholds that differ from the stored ones (None when none do), as settings stores them."""
        stored = self._stored.thresholds if self._stored is not None else settings.DEFAULT_THRESHOLDS
        return settings.changed_thresholds(self.form().thresholds, stored)

    def save(self) -> bool:
        if not self.may_edit or self._year is None:
            return False
        problems = self.validate()
        if problems:
            set_error(self.error, "；".join(problems))
            return False
        year = self._year
        try:
            self.ctx.run(settings.set_year, year, monitoring_line=self.line.text().strip(),
                         rural_average=self.rural_average.text().strip() or None,
                         county_income=self.county_income.text().strip() or None,
                         period_start=from_qdate(self.period_start.date()),
                         period_end=from_qdate(self.period_end.date()),
                         status_time_point=from_qdate(self.status_point.date()),
                         thresholds=self.changed_thresholds())
        except ServiceError as exc:
            set_error(self.error, exc)
            return False
        self._unsaved_years.discard(year)
        self.refresh(select=year)
        self.notice.setText(f"{year} 年设置已保存")
        return True

    def _apply_permissions(self) -> None:
        if self.may_edit:
            return
        for edit in (self.line, self.rural_average, self.county_income, *self.threshold_edits.values()):
            edit.setReadOnly(True)
            edit.setPlaceholderText("未填写")
        for edit in (self.period_start, self.period_end, self.status_point):
            edit.setReadOnly(True)
            edit.setCalendarPopup(False)
            edit.setButtonSymbols(QDateEdit.ButtonSymbols.NoButtons)
        for button in (self.add_year_button, self.current_button, self.save_button, self.revert_button):
            button.setVisible(False)
