"""导入 Excel: choose a file → preview with counts and every problem → confirm → progress with 取消
(honoured until the commit) → the result with the data-quality findings (SPEC §9, §10).

The work runs off the GUI thread through the operations layer (views/operations.py) and reports progress; the
progress dialog appears only when the work takes longer than about half a second. Services are
called through ctx.read / ctx.run, so the import commits in one transaction or not at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from ..services import exchange
from ..services.context import AppContext
from .errors import error_text, show_error, show_info
from .file_dialogs import documents_dir
from .models.findings_table import COL_CODE, COL_ID_NUMBER, COL_MESSAGE, COL_NO, COL_TITLE, FindingsTableModel
from .operations import Operation, Task, operations

_ROOT = QModelIndex()  # the invisible root: a flat table's rows have no parent

SHOW_AFTER_MS = 500
HINT_STYLE = "color: #555;"
ERROR_STYLE = "color: #c62828; font-weight: bold;"
OK_STYLE = "color: #2e7d32; font-weight: bold;"
EXCEL_FILTER = "Excel 工作簿或 CSV (*.xlsx *.xlsm *.xls *.csv);;所有文件 (*)"


# ---------------------------------------------------------------- work off the GUI thread

Worker = Task  # what the work function gets: report(done, total, stage), cancelled()


def run_with_progress(parent: QWidget, title: str, fn: Callable[[Task], object],
                      on_done: Callable[[object], None], on_error: Callable[[BaseException], None],
                      cancellable: bool = True) -> Operation:
    """The operations layer's progress form: the dialog shows itself after half a second; 取消 asks the work to
    stop (it stops where that is safe)."""
    return operations().submit(parent, fn, on_done, on_error=on_error, title=title, cancellable=cancellable)


# ---------------------------------------------------------------- the problems of a file

class IssuesModel(QAbstractTableModel):
    HEADERS = ("工作表", "行", "列", "值", "原因")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[exchange.Issue] = []

    def set_issues(self, issues: list[exchange.Issue]) -> None:
        self.beginResetModel()
        self._rows = list(issues)
        self.endResetModel()

    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        e = self._rows[index.row()]
        return (e.sheet or "（文件）", "" if e.row is None else str(e.row), e.column, e.value, e.reason)[index.column()]


def _table(model) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return view


# ---------------------------------------------------------------- pages

class FilePage(QWizardPage):
    def __init__(self, wizard: "ImportWizard"):
        super().__init__()
        self.w = wizard
        self.ready = False
        self.setTitle("选择要导入的 Excel 文件")
        self.setSubTitle("本程序的交换工作簿（“户信息”“家庭成员”两张表必有），或全国系统导出的一人一行名单"
                         "（监测对象信息、已脱贫人口名单等，.xlsx/.xls/.csv 均可）。"
                         "导入前先检查全部内容，有任何错误都不会写入数据库。")
        self.path_edit = QLineEdit()
        self.path_edit.setReadOnly(True)
        self.path_edit.setPlaceholderText("尚未选择文件")
        self.browse_button = QPushButton("选择文件…")
        self.browse_button.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.browse_button)
        self.year = QSpinBox()
        self.year.setRange(2000, 2100)
        self.year.setValue(wizard.ctx.year or wizard.ctx.today().year)
        self.year.setSuffix(" 年")
        form = QFormLayout()
        form.addRow("文件：", row)
        form.addRow("收入所属年度：", self.year)
        hint = QLabel("收入各列按所选年度导入；一户的收入各列全部空白表示没有该年收入记录（空白不等于 0）。\n"
                      "已有的户（户编号相同）会按文件更新，成员按证件号码匹配；导入前自动备份数据库。")
        hint.setStyleSheet(HINT_STYLE)
        hint.setWordWrap(True)
        self.template_button = QPushButton("保存空白模板（下发各村）…")
        self.template_button.clicked.connect(lambda: save_template(wizard.ctx, self))
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.template_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addStretch(1)
        layout.addLayout(bottom)

    def browse(self) -> None:
        start = self.path_edit.text() or str(documents_dir())
        path, _ = QFileDialog.getOpenFileName(self, "选择要导入的 Excel 文件", start, EXCEL_FILTER)
        if path:
            self.set_path(path)

    def set_path(self, path: str | Path) -> None:
        self.path_edit.setText(str(path))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return bool(self.path_edit.text()) and Path(self.path_edit.text()).is_file()

    def validatePage(self) -> bool:
        if self.ready:
            self.ready = False
            return True
        self.w.start_preview(Path(self.path_edit.text()), self.year.value())
        return False


class PreviewPage(QWizardPage):
    def __init__(self, wizard: "ImportWizard"):
        super().__init__()
        self.w = wizard
        self.setTitle("检查结果")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet(HINT_STYLE)
        self.layout_label = QLabel()
        self.layout_label.setWordWrap(True)
        self.columns = QLabel()
        self.columns.setWordWrap(True)
        self.columns.setStyleSheet(HINT_STYLE)
        self.confirm_box = QCheckBox()
        self.confirm_box.toggled.connect(self._answered)
        self.model = IssuesModel(self)
        self.table = _table(self.model)
        for col, width in enumerate((90, 60, 170, 170)):
            self.table.setColumnWidth(col, width)
        self.save_errors_button = QPushButton("保存错误清单…")
        self.save_errors_button.clicked.connect(self.save_errors)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.save_errors_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.layout_label)
        layout.addWidget(self.verdict)
        layout.addWidget(self.summary)
        layout.addWidget(self.confirm_box)
        layout.addWidget(self.table, 100)
        layout.addWidget(self.columns)
        layout.addWidget(self.notes)
        layout.addStretch(1)  # takes the room when there is no table
        layout.addLayout(bottom)

    def initializePage(self) -> None:
        pv = self.w.preview
        self.setSubTitle(f"文件：{pv.path}　　收入所属年度：{pv.year} 年")
        self.layout_label.setText(f"识别为{pv.layout_text()}。" if pv.people else "")
        self.layout_label.setVisible(bool(pv.people))
        self.columns.setText(_columns_text(pv))
        self.confirm_box.blockSignals(True)
        self.confirm_box.setChecked(False)
        self.confirm_box.blockSignals(False)
        self.confirm_box.setVisible(pv.confirmable)
        if pv.confirmable:
            asks = []
            if "unknown_columns" in pv.questions:
                asks.append("不认识的列不保存")
            if "close_villages" in pv.questions:
                asks.append("相近的村名按新村建立")
            if "hidden" in pv.questions:
                asks.append("隐藏的工作表、隐藏行和隐藏列一并导入")
            self.confirm_box.setText(f"我已核对下表，仍按文件导入（{'；'.join(asks)}）")
        self.model.set_issues(pv.errors)
        self.table.setVisible(bool(pv.errors))
        self.save_errors_button.setVisible(bool(pv.errors))
        if pv.ok:
            self.verdict.setText("文件检查通过，可以导入。")
            self.verdict.setStyleSheet(OK_STYLE)
            self.summary.setText("将要：" + pv.summary() + "。")
        elif pv.confirmable:
            self.verdict.setText(f"有 {pv.error_count} 处需要您确认：不认识的要紧列、与已有的村名相近的新村名，"
                                 "或打开文件时看不到的隐藏工作表、隐藏行、隐藏列。"
                                 "请核对下表；改正原文件后点“上一步”重新选择，或勾选下面的确认后导入。")
            self.verdict.setStyleSheet(ERROR_STYLE)
        else:
            more = f"（列出前 {len(pv.errors)} 处）" if pv.error_count > len(pv.errors) else ""
            self.verdict.setText(f"文件有 {pv.error_count} 处错误{more}，不能导入，数据库没有任何修改。"
                                 f"请按下表改正原文件后，点“上一步”重新选择。")
            self.verdict.setStyleSheet(ERROR_STYLE)
            self.summary.setText("")
        self.summary.setVisible(pv.ok)
        # columns kept, converted and left out are listed above: the notes add rows skipped and how updates go
        notes = [n for n in pv.notes if "中以下列" not in n and "计算列不导入" not in n]
        if len(notes) > NOTES_SHOWN:
            notes = notes[:NOTES_SHOWN] + [f"……另有 {len(notes) - NOTES_SHOWN:,} 条说明"]
        self.notes.setText("\n".join(notes))

    def _answered(self, yes: bool) -> None:
        pv = self.w.preview
        if yes and pv is not None and pv.confirmable:
            pv.confirm()
            self.initializePage()
            self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.w.preview is not None and self.w.preview.ok

    def save_errors(self) -> None:
        pv = self.w.preview
        start = str(exchange.errors_path(pv.path))
        path, _ = QFileDialog.getSaveFileName(self, "保存错误清单", start, "Excel 工作簿 (*.xlsx)")
        if not path:
            return
        try:
            target = exchange.write_error_workbook(pv.errors, Path(path), source=pv.path, total=pv.error_count)
        except Exception as exc:  # noqa: BLE001 - a locked file or a full disk, told in Chinese
            show_error(self, exc)
            return
        show_info(self, f"错误清单已保存：{target}")


NOTES_SHOWN = 30  # lines of notes on the page (which sheet was read as what comes first)


def _some(names: list[str], shown: int = 40) -> str:
    return "、".join(names[:shown]) + (f" 等 {len(names)} 列" if len(names) > shown else "")


def _columns_text(pv) -> str:
    """What will be kept, converted, or left out: a clerk sees it before anything is written."""
    parts = []
    if pv.converted:
        parts.append(f"换算后保存：{'、'.join(pv.converted)}（按全国系统的含义换算，如“是否解决安全饮用水”为“否”"
                     f"即“饮水出现安全问题”）")
    if pv.left_out:
        parts.append(f"认识但不保存：{_some(pv.left_out)}")
    if pv.ignored:
        parts.append(f"不认识、不导入：{_some(pv.ignored)}")
    if pv.kept:
        shown = "、".join(pv.kept[:40]) + (f" 等 {len(pv.kept)} 列" if len(pv.kept) > 40 else "")
        parts.insert(0, f"按原样保存：{shown}")
    return "\n".join(parts)


class ConfirmPage(QWizardPage):
    def __init__(self, wizard: "ImportWizard"):
        super().__init__()
        self.w = wizard
        self.ready = False
        self.setTitle("确认导入")
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "开始导入")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addStretch(1)

    def initializePage(self) -> None:
        pv = self.w.preview
        self.text.setText(
            f"<p>将把 <b>{pv.path.name}</b> 导入数据库（收入按 {pv.year} 年）：</p><p>{pv.summary()}。</p>"
            "<p>导入前自动备份数据库；全部内容在一个事务中写入，中途出错或取消都不会留下部分数据。"
            "写入完成、开始保存之后不能再取消。</p>")

    def validatePage(self) -> bool:
        if self.ready:
            self.ready = False
            return True
        self.w.start_import()
        return False


class ResultPage(QWizardPage):
    def __init__(self, wizard: "ImportWizard"):
        super().__init__()
        self.w = wizard
        self.setTitle("导入完成")
        self.setFinalPage(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.findings_label = QLabel()
        self.findings_label.setWordWrap(True)
        self.model = FindingsTableModel(self)
        self.table = _table(self.model)
        # 规则编号 (5_12_007_200 at most), the problem's title (the widest), 户编号, 成员证件号码; 说明 takes the rest
        for col, width in ((COL_CODE, 110), (COL_TITLE, 320), (COL_NO, 150), (COL_ID_NUMBER, 170)):
            self.table.setColumnWidth(col, width)
        self.table.horizontalHeader().setSectionResizeMode(COL_MESSAGE, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.findings_label)
        layout.addWidget(self.table, 1)

    def initializePage(self) -> None:
        r = self.w.result
        lines = [f"<p style='color:#2e7d32'><b>已导入 {r.path.name}</b>（用时 {r.elapsed:.1f} 秒）</p>",
                 f"<p>{r.summary()}。</p>"]
        if r.backup is not None:
            lines.append(f"<p style='color:#555'>导入前的数据库备份：{r.backup}</p>")
        self.summary.setText("".join(lines))
        self.model.set_findings(r.findings)
        if r.findings_note:
            self.findings_label.setText(r.findings_note)
        elif r.findings:
            households = len({f.household_no for f in r.findings})
            self.findings_label.setText(f"数据质量检查发现 {len(r.findings)} 条问题，涉及 {households} 户"
                                        f"（不影响导入，请在“数据质量”页核实改正）：")
        else:
            self.findings_label.setText("数据质量检查：导入的户未发现问题。")
        self.table.setVisible(bool(r.findings))


# ---------------------------------------------------------------- the wizard

class ImportWizard(QWizard):
    previewReady = Signal(object)  # exchange.Preview
    importFinished = Signal(object)  # exchange.ImportResult
    importFailed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.preview: exchange.Preview | None = None
        self.result: exchange.ImportResult | None = None
        self.worker: Operation | None = None
        self.setWindowTitle("导入 Excel")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        for which, text in ((QWizard.WizardButton.BackButton, "上一步"), (QWizard.WizardButton.NextButton, "下一步"),
                            (QWizard.WizardButton.FinishButton, "完成"), (QWizard.WizardButton.CancelButton, "关闭"),
                            (QWizard.WizardButton.CommitButton, "开始导入")):
            self.setButtonText(which, text)
        self.file_page = FilePage(self)
        self.preview_page = PreviewPage(self)
        self.confirm_page = ConfirmPage(self)
        self.result_page = ResultPage(self)
        for page in (self.file_page, self.preview_page, self.confirm_page, self.result_page):
            self.addPage(page)
        self.resize(980, 640)

    # ------------------------------------------------------------ preview
    def start_preview(self, path: Path, year: int) -> None:
        ctx = self.ctx
        self.button(QWizard.WizardButton.NextButton).setEnabled(False)

        def work(w: Worker):
            return ctx.read(exchange.preview, path, year, user=ctx.user, progress=w.report)
        self.worker = run_with_progress(self, "正在检查文件", work, self._preview_done, self._preview_failed,
                                        cancellable=False)

    def _preview_done(self, pv) -> None:
        self.worker = None
        self.preview = pv
        self.previewReady.emit(pv)
        self.file_page.ready = True
        self.next()

    def _preview_failed(self, exc) -> None:
        self.worker = None
        self.file_page.completeChanged.emit()
        show_error(self, exc, "检查文件失败")

    # ------------------------------------------------------------ import
    def start_import(self) -> None:
        ctx, pv = self.ctx, self.preview
        self.button(QWizard.WizardButton.CommitButton).setEnabled(False)

        def work(w: Worker):
            return ctx.run(exchange.apply, pv, user=ctx.user, as_of=ctx.today(), progress=w.report,
                           cancelled=w.cancelled)
        self.worker = run_with_progress(self, "正在导入", work, self._import_done, self._import_failed)

    def _import_done(self, result) -> None:
        self.worker = None
        self.result = result
        self.confirm_page.ready = True
        self.next()
        self.importFinished.emit(result)

    def _import_failed(self, exc) -> None:
        self.worker = None
        self.button(QWizard.WizardButton.CommitButton).setEnabled(True)
        text = error_text(exc)
        self.importFailed.emit(text)
        if isinstance(exc, exchange.ImportCancelled):
            show_info(self, text)
        else:
            show_error(self, exc, "导入未完成")
        if self.preview is not None and self.preview.data is None:  # consumed: the file must be read again
            self.restart()

    def reject(self) -> None:
        if self.worker is not None:
            return  # the work is running: its own dialog offers 取消
        super().reject()


# ---------------------------------------------------------------- the template

def save_template(ctx: AppContext, parent: QWidget | None = None) -> Path | None:
    """下发模板: ask where, write the blank workbook with the dropdowns, say where it went."""
    start = str(documents_dir() / "防止返贫监测信息采集模板.xlsx")
    path, _ = QFileDialog.getSaveFileName(parent, "保存空白模板", start, "Excel 工作簿 (*.xlsx)")
    if not path:
        return None
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        path = path.with_suffix(".xlsx")
    try:
        written = ctx.read(exchange.write_template, path, ctx.year)
    except Exception as exc:  # noqa: BLE001 - shown in Chinese
        show_error(parent, exc, "保存模板失败")
        return None
    show_info(parent, f"空白模板已保存：{written}\n请下发各村填写后交回，用“导入 Excel”导入。")
    return written
