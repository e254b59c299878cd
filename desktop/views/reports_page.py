"""报表打印: choose a printed document (SPEC §8, the KINDs of §11), the year and who it covers,
preview its pages, save it as PDF, send it to the printer, and for the 汇总表 export Excel.

Documents are made by services.reports off the GUI thread (a township's forms take seconds): the
worker opens its own session through ctx.read, writes a PDF in the user's temp folder, and the
preview shows that file.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from datetime import date
from html import escape
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QCoreApplication, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..services import regions, register, reports, settings
from ..services.access import AccessDenied
from ..services.context import AppContext
from ..services.dates import report_as_of
from ..services.reports import REPORT_KINDS, summary_xlsx
from .errors import error_label, error_text, set_error
from .operations import Operation, query
from .pdf_preview import PdfPreview
from .widgets.temp_files import TEMP_FOLDER, clean_old_previews, new_temp_file, remove  # noqa: F401 - TEMP_FOLDER re-exported
from .widgets.two_line_delegate import DESCRIPTION_ROLE, TwoLineDelegate

HINT_STYLE = "color: #555;"
BANNER_STYLE = "background: #fff4c2; border: 1px solid #e0c050; border-radius: 3px; padding: 6px; color: #5a4500;"
BUSY_DELAY_MS = 500
BANNER_LINES = 6
TOWNSHIP, VILLAGE, HOUSEHOLDS = 0, 1, 2
KIND_ROLE = Qt.ItemDataRole.UserRole

NUMBER_SEPARATORS = re.compile(r"[、，,；;\s]+")


@dataclass(frozen=True)
class Request:
    """One document as chosen on the page (validated)."""

    kind: str
    year: int
    as_of: date
    village: str | None = None
    household_nos: tuple[str, ...] | None = None
    place: str = ""  # for captions and file names

    @property
    def title(self) -> str:
        return REPORT_KINDS[self.kind].title

    def file_name(self, suffix: str) -> str:
        return f"{self.place}-{self.title}-{self.year}{suffix}"


def split_numbers(text: str) -> list[str]:
    """户编号 typed or pasted, separated by 、，, ; or spaces (duplicates dropped)."""
    return list(dict.fromkeys(n for n in NUMBER_SEPARATORS.split(text.strip()) if n))


def _households(session, numbers: list[str]) -> dict[str, str | None]:
    """户编号 → village name (None: no such household; OTHER_VILLAGE: one the user may not see)."""
    ids = {}
    for no in numbers:
        try:
            ids[no] = register.household_id_by_no(session, no)
        except AccessDenied:
            ids[no] = OTHER_VILLAGE
    rows = {r.id: r.village for r in register.household_rows(session, [i for i in ids.values()
                                                                        if i and i is not OTHER_VILLAGE])}
    return {no: OTHER_VILLAGE if hid is OTHER_VILLAGE else rows.get(hid) if hid else None for no, hid in ids.items()}


OTHER_VILLAGE = "（其他村）"


class ReportsPage(QWidget):
    generated = Signal(object)  # the ReportResult now shown
    failed = Signal(str)        # the Chinese message shown inline
    exported = Signal(object)   # the Path of a saved PDF or workbook

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.result: reports.ReportResult | None = None  # the document in the preview
        self.shown: Request | None = None
        self._job: Operation | None = None
        self._then: tuple[Callable, Callable] | None = None
        self._shown_key: tuple | None = None
        self._started = 0.0
        self._temp_files: list[Path] = []
        self._last_dir = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
                              or Path.home())
        self.township_name = ""
        self._default_year: int | None = None
        clean_old_previews()
        forget = lambda *_a, files=self._temp_files: remove(files)  # noqa: E731 - not a method: runs after self
        self.destroyed.connect(forget)
        QCoreApplication.instance().aboutToQuit.connect(forget)

        splitter = QSplitter()
        splitter.addWidget(self._build_choices())
        splitter.addWidget(self._build_view())
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([330, 780])
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<h3>报表打印</h3>"))
        layout.addWidget(splitter, 1)

        self.busy_timer = QTimer(self, singleShot=True, interval=BUSY_DELAY_MS)
        self.busy_timer.timeout.connect(self._show_busy)
        self.kind_list.currentRowChanged.connect(self._kind_changed)
        self.scope_group.idToggled.connect(lambda _id, on: on and self._scope_changed())
        self.village_combo.currentIndexChanged.connect(self._selection_changed)
        self.year_combo.currentIndexChanged.connect(self._selection_changed)
        self.household_edit.textChanged.connect(self._numbers_edited)
        self.generate_button.clicked.connect(self.generate)
        self.save_button.clicked.connect(self.save_pdf)
        self.print_button.clicked.connect(lambda: self.print_document())
        self.excel_button.clicked.connect(self.export_excel)
        self.refresh()
        self.kind_list.setCurrentRow(0)
        self._update_buttons()

    def _build_choices(self) -> QWidget:
        """The document list, the year, the scope and 生成预览."""
        self.kind_list = QListWidget()
        self.kind_list.setItemDelegate(TwoLineDelegate(self.kind_list))
        for kind in REPORT_KINDS.values():
            item = QListWidgetItem(kind.title)
            item.setData(KIND_ROLE, kind.key)
            item.setData(DESCRIPTION_ROLE, kind.description)
            item.setToolTip(f"{kind.title}：{kind.description}")
            self.kind_list.addItem(item)
        self.year_combo = QComboBox()
        self.township_radio = QRadioButton("全乡镇")
        self.village_radio = QRadioButton("行政村")
        self.households_radio = QRadioButton("指定户")
        self.scope_group = QButtonGroup(self)
        for n, radio in enumerate((self.township_radio, self.village_radio, self.households_radio)):
            self.scope_group.addButton(radio, n)
        self.village_combo = QComboBox()
        self.village_combo.setMinimumContentsLength(8)
        self.household_edit = QLineEdit()
        self.household_edit.setPlaceholderText("户编号，多个用顿号、逗号或空格分隔")
        self.household_edit.setClearButtonEnabled(True)
        scope_box = QGroupBox("范围")
        scope_form = QFormLayout(scope_box)
        scope_form.addRow(self.township_radio)
        scope_form.addRow(self.village_radio, self.village_combo)
        scope_form.addRow(self.households_radio, self.household_edit)
        self.scope_hint = QLabel()
        self.scope_hint.setWordWrap(True)
        self.scope_hint.setStyleSheet(HINT_STYLE)
        scope_form.addRow(self.scope_hint)

        self.error = error_label(self)
        self.generate_button = QPushButton("生成预览")
        self.generate_button.setDefault(True)
        self.generate_button.setToolTip("按所选文书、年度和范围生成（F5）")
        self.generate_button.setShortcut("F5")
        self.busy_label = QLabel("正在生成，请稍候……")
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumHeight(12)
        self.busy_bar.setTextVisible(False)
        for w in (self.busy_label, self.busy_bar):
            w.setVisible(False)

        left = QWidget()
        controls = QVBoxLayout(left)
        controls.setContentsMargins(0, 0, 6, 0)
        controls.addWidget(QLabel("<b>文书</b>"))
        controls.addWidget(self.kind_list, 1)
        year_row = QHBoxLayout()
        year_row.addWidget(QLabel("年度："))
        year_row.addWidget(self.year_combo, 1)
        controls.addLayout(year_row)
        controls.addWidget(scope_box)
        controls.addWidget(self.error)
        controls.addWidget(self.generate_button)
        controls.addWidget(self.busy_label)
        controls.addWidget(self.busy_bar)
        return left

    def _build_view(self) -> QWidget:
        """The document shown: caption and output buttons, warnings, the pages."""
        self.caption = QLabel("选择文书和范围，点击“生成预览”")
        self.caption.setWordWrap(True)
        self.save_button = QPushButton("另存为 PDF…")
        self.print_button = QPushButton("打印…")
        self.excel_button = QPushButton("导出 Excel…")
        self.excel_button.setToolTip("汇总表另存为 Excel 工作簿（按当前选择的年度和范围）")
        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        for b in (self.save_button, self.print_button, self.excel_button):
            top.addWidget(b)
        self.banner = QLabel()
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setVisible(False)
        self.status = QLabel()
        self.status.setStyleSheet(HINT_STYLE)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview = PdfPreview()
        self.preview.clear("选择文书和范围，点击“生成预览”")
        right = QWidget()
        view = QVBoxLayout(right)
        view.setContentsMargins(6, 0, 0, 0)
        view.addLayout(top)
        view.addWidget(self.banner)
        view.addWidget(self.preview, 1)
        view.addWidget(self.status)
        return right

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    # ------------------------------------------------------------------ choices

    def refresh(self) -> None:
        """Reload the years and villages (keeping what is chosen where it still exists)."""
        township = self.ctx.read(regions.township)
        self.township_name = township.name if township else ""
        self.township_radio.setText(f"全乡镇（{self.township_name}）" if township else "全乡镇")
        years = self.ctx.read(settings.years)
        if self.ctx.year is not None and self.ctx.year not in years:
            years = sorted({*years, self.ctx.year})
        chosen = self.year_combo.currentData()
        if chosen is None or chosen == self._default_year:
            chosen = self.ctx.year  # follow the current year unless another was picked here
        self._default_year = self.ctx.year
        _refill(self.year_combo, [(f"{y} 年", y) for y in reversed(years)], chosen)
        user = self.ctx.user
        villages = self.ctx.read(regions.tree, user.village_ids if user else None)
        _refill(self.village_combo, [(f"{v.name}（{v.households} 户）", v.name) for v in villages],
                self.village_combo.currentData())
        self._update_scopes()

    def _is_clerk(self) -> bool:
        return self.ctx.user is not None and self.ctx.user.village_scoped

    def current_kind(self) -> str:
        item = self.kind_list.currentItem()
        return item.data(KIND_ROLE) if item else next(iter(REPORT_KINDS))

    def set_kind(self, kind: str) -> None:
        self.kind_list.setCurrentRow(list(REPORT_KINDS).index(kind))

    def set_scope(self, scope: int, value: str | None = None) -> None:
        """Choose 全乡镇 (TOWNSHIP), a village by name (VILLAGE) or households by number (HOUSEHOLDS)."""
        if scope == VILLAGE and value is not None:
            self.village_combo.setCurrentIndex(self.village_combo.findData(value))
        elif scope == HOUSEHOLDS and value is not None:
            self.household_edit.setText(value)
        self.scope_group.button(scope).setChecked(True)

    def _kind_changed(self, _row: int) -> None:
        self._update_scopes()
        self.excel_button.setVisible(REPORT_KINDS[self.current_kind()].excel)
        self._selection_changed()

    def _update_scopes(self) -> None:
        """What the chosen kind takes (its ReportKind): per-household documents households or a
        village, notices a village or the township or households to reprint, lists and summaries
        a village or the township. A 村级录入员 prints only for their villages."""
        kind = REPORT_KINDS[self.current_kind()]
        self.township_radio.setEnabled(kind.township_in_window and not self._is_clerk())
        self.village_radio.setEnabled(kind.takes_village and self.village_combo.count() > 0)
        self.households_radio.setEnabled(kind.households_in_window)
        checked = self.scope_group.checkedButton()
        if checked is None or not checked.isEnabled():
            for radio in ((self.village_radio, self.households_radio) if kind.per_household
                          else (self.township_radio, self.village_radio, self.households_radio)):
                if radio.isEnabled():
                    radio.setChecked(True)
                    break
        self._scope_changed()

    def _scope_changed(self) -> None:
        scope = self.scope_group.checkedId()
        self.village_combo.setEnabled(scope == VILLAGE)
        self.household_edit.setEnabled(scope == HOUSEHOLDS)
        kind = REPORT_KINDS[self.current_kind()]
        if scope == HOUSEHOLDS:
            self.scope_hint.setText("只印所列的户（公示：正在公示或已完成公示的户，用于重印）。" if kind.notice
                                    else "只印所列的户（不论其监测状态）。")
        elif kind.per_household:
            self.scope_hint.setText(f"每户一份，包括：{kind.covers}。")
        elif kind.notice:
            self.scope_hint.setText(f"每村一份，包括：{kind.covers}。")
        else:
            self.scope_hint.setText(f"包括：{kind.covers}。")
        self._selection_changed()

    def _numbers_edited(self) -> None:
        set_error(self.error, None)
        self._selection_changed()

    def _selection_key(self) -> tuple:
        scope = self.scope_group.checkedId()
        value = (self.village_combo.currentData() if scope == VILLAGE
                 else tuple(split_numbers(self.household_edit.text())) if scope == HOUSEHOLDS else None)
        return self.current_kind(), self.year_combo.currentData(), scope, value

    def _selection_changed(self, *_args) -> None:
        if self.shown is not None:
            self._show_caption(stale=self._selection_key() != self._shown_key)

    def request(self) -> Request | None:
        """What is chosen, checked; None with the reason shown inline in red."""
        kind, year, scope = self.current_kind(), self.year_combo.currentData(), self.scope_group.checkedId()
        if year is None:
            return self._refuse("未设置年度：请先在“年度设置”中添加年度")
        as_of = report_as_of(year, self.ctx.today())
        if scope == VILLAGE:
            village = self.village_combo.currentData()
            if not village:
                return self._refuse("请选择行政村")
            return Request(kind, year, as_of, village=village, place=village)
        if scope == HOUSEHOLDS:
            numbers = split_numbers(self.household_edit.text())
            if not numbers:
                return self._refuse("请输入户编号")
            found = self.ctx.read(_households, numbers)
            unknown = [no for no, village in found.items() if village is None]
            if unknown:
                return self._refuse(f"户编号不存在：{'、'.join(unknown)}")
            if self._is_clerk():
                mine = {self.village_combo.itemData(i) for i in range(self.village_combo.count())}
                others = [no for no, village in found.items() if village not in mine]
                if others:
                    return self._refuse(f"户 {'、'.join(others)} 不在您负责的村")
            place = f"{self.township_name}-{numbers[0]}" if len(numbers) == 1 else self.township_name
            return Request(kind, year, as_of, household_nos=tuple(numbers), place=place)
        if scope == TOWNSHIP and self.township_radio.isEnabled():
            return Request(kind, year, as_of, place=self.township_name)
        return self._refuse("请选择范围")

    def _refuse(self, message: str) -> None:
        set_error(self.error, message)
        self.failed.emit(message)
        return None

    # ------------------------------------------------------------------ generating

    def busy(self) -> bool:
        return self._job is not None

    def generate(self) -> bool:
        """Make the chosen document off the GUI thread; the preview shows it when done (generated)."""
        if self.busy():
            return False
        req = self.request()
        if req is None:
            return False
        set_error(self.error, None)
        out = new_temp_file(req.kind)
        self._temp_files.append(out)
        key = self._selection_key()

        def work():
            return self.ctx.read(reports.render, req.kind, out, year=req.year, as_of=req.as_of, village=req.village,
                                 household_nos=list(req.household_nos) if req.household_nos else None)
        self._start(work, lambda result: self._generated(req, key, result), lambda exc: self._discard(out, exc),
                    "正在生成，请稍候……")
        return True

    def _start(self, fn: Callable[[], object], done: Callable, failed: Callable, text: str) -> None:
        self._then = (done, failed)
        self._job = query(self, lambda _task: fn(), self._job_done, on_error=self._job_failed)
        self._started = time.monotonic()
        self.busy_label.setText(text)
        self.busy_timer.start()
        self._update_buttons()

    def _show_busy(self) -> None:
        if self.busy():
            self.busy_label.setVisible(True)
            self.busy_bar.setVisible(True)

    def _job_done(self, result) -> None:
        self._finished(self._then[0], result)

    def _job_failed(self, exc) -> None:
        self._finished(self._then[1], exc)

    def _finished(self, then: Callable, value) -> None:
        self._job = self._then = None
        self.busy_timer.stop()
        self.busy_label.setVisible(False)
        self.busy_bar.setVisible(False)
        self._update_buttons()
        then(value)

    def _generated(self, req: Request, key: tuple, result: reports.ReportResult) -> None:
        old = [p for p in self._temp_files if p != result.path]
        remove(old)
        self._temp_files[:] = [result.path]
        try:
            self.preview.load(result.path)
        except Exception as exc:  # noqa: BLE001 - a PDF pdfium cannot read is a program fault; say so
            self._discard(result.path, exc)
            return
        self.result, self.shown, self._shown_key = result, req, key
        self._show_caption(stale=self._selection_key() != key)
        lines = result.warnings
        if lines:
            shown = lines[:BANNER_LINES]
            more = f"<br>……另有 {len(lines) - BANNER_LINES} 条" if len(lines) > BANNER_LINES else ""
            self.banner.setText("<b>请注意：</b><br>" + "<br>".join(escape(w) for w in shown) + more)
            self.banner.setToolTip("\n".join(lines))
        self.banner.setVisible(bool(lines))
        took = time.monotonic() - self._started
        self.status.setText(f"生成用时 {took:.1f} 秒" if took >= 1 else "")
        self._update_buttons()
        self.generated.emit(result)

    def _discard(self, out: Path, exc: BaseException) -> None:
        remove([out])
        if out in self._temp_files:
            self._temp_files.remove(out)
        message = error_text(exc)
        set_error(self.error, message)
        self.failed.emit(message)

    def _show_caption(self, stale: bool = False) -> None:
        r, req = self.result, self.shown
        text = (f"<b>{escape(req.title)}</b>　{escape(req.place)} · {req.year} 年 · 共 {r.pages} 页 · "
                f"{r.households} 户")
        if stale:
            text += "　<span style='color:#b26a00'>（选择已改变，点击“生成预览”更新）</span>"
        self.caption.setText(text)

    def _update_buttons(self) -> None:
        ready = self.result is not None
        self.generate_button.setEnabled(not self.busy())
        self.excel_button.setEnabled(not self.busy())
        self.save_button.setEnabled(ready)
        self.print_button.setEnabled(ready)

    # ------------------------------------------------------------------ output

    def _ask_path(self, title: str, name: str, filter_: str, suffix: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, title, str(self._last_dir / name), filter_)
        if not path:
            return None
        path = Path(path)
        if path.suffix.lower() != suffix:
            path = path.with_name(path.name + suffix)
        self._last_dir = path.parent
        return path

    def save_pdf(self) -> Path | None:
        """Copy the document in the preview to a file the user names."""
        if self.result is None:
            return None
        path = self._ask_path("另存为 PDF", self.shown.file_name(".pdf"), "PDF 文件 (*.pdf)", ".pdf")
        if path is None:
            return None
        try:
            shutil.copyfile(self.result.path, path)
        except OSError as exc:
            set_error(self.error, f"无法保存到“{path}”：{exc.strerror or exc}")
            return None
        set_error(self.error, None)
        self.status.setText(f"已保存：{path}")
        self.exported.emit(path)
        return path

    def print_document(self, printer: QPrinter | None = None) -> int:
        """Print the document in the preview: on `printer` as it is set up, or after the print dialog
        (A4, the page range or current page chosen there). Returns the sheets sent."""
        if self.result is None:
            return 0
        try:
            sent = self.preview.print_document(printer, self.shown.file_name(""))
        except Exception as exc:  # noqa: BLE001 - the printer's failure, in Chinese
            set_error(self.error, error_text(exc))
            return 0
        set_error(self.error, None)
        self.status.setText(f"已发送到打印机：{sent} 页" if sent else "未打印")
        return sent

    def export_excel(self) -> bool:
        """The 汇总表 of the chosen year and scope as an Excel workbook (off the GUI thread)."""
        if self.busy():
            return False
        req = self.request()
        if req is None:
            return False
        path = self._ask_path("导出 Excel", req.file_name(".xlsx"), "Excel 工作簿 (*.xlsx)", ".xlsx")
        if path is None:
            return False

        def work():
            return self.ctx.read(summary_xlsx.write, path, req.year, req.as_of, village=req.village,
                                 household_nos=list(req.household_nos) if req.household_nos else None)
        self._start(work, self._exported, self._export_failed, "正在导出，请稍候……")
        return True

    def _exported(self, path) -> None:
        set_error(self.error, None)
        self.status.setText(f"已导出：{path}")
        self.exported.emit(Path(path))

    def _export_failed(self, exc: BaseException) -> None:
        message = error_text(exc)
        set_error(self.error, message)
        self.failed.emit(message)


# ---------------------------------------------------------------------- helpers

def _refill(combo: QComboBox, items: list[tuple[str, object]], chosen) -> None:
    combo.blockSignals(True)
    combo.clear()
    for text, data in items:
        combo.addItem(text, data)
    combo.setCurrentIndex(max(0, combo.findData(chosen)))
    combo.blockSignals(False)
