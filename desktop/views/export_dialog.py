"""导出 Excel: the register in the exchange layout (SPEC §9) or the national 监测对象信息 layout
(SPEC §9.1) for a year, with progress and 取消; and the blank template for the villages (save_template,
shared with the import wizard)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..services import exchange
from ..services.context import AppContext
from .errors import chinese_buttons, error_label, error_text, set_error, show_info
from .import_wizard import Worker, run_with_progress, save_template

__all__ = ["ExportDialog", "save_template"]


class ExportDialog(QDialog):
    exported = Signal(object)  # exchange.ExportResult

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.worker: Worker | None = None
        self.result: exchange.ExportResult | None = None
        self.setWindowTitle("导出 Excel")
        self.year = QSpinBox()
        self.year.setRange(2000, 2100)
        self.year.setValue(ctx.year or ctx.today().year)
        self.year.setSuffix(" 年")
        self.year.valueChanged.connect(self._suggest_name)
        self.path_edit = QLineEdit()
        self.path_edit.textChanged.connect(self._update)
        self.browse_button = QPushButton("浏览…")
        self.browse_button.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.browse_button)
        self.layout_combo = QComboBox()
        self.layout_combo.addItem("交换工作簿（户信息、家庭成员、帮扶措施、收入明细）", "program")
        self.layout_combo.addItem("全国系统格式（监测对象信息，一人一行，可交县里）", "national")
        self.layout_combo.currentIndexChanged.connect(self._suggest_name)
        form = QFormLayout()
        form.addRow("格式：", self.layout_combo)
        form.addRow("收入所属年度：", self.year)
        form.addRow("保存到：", row)
        hint = QLabel("交换工作簿：全部户、家庭成员、帮扶措施和该年度收入明细，计算列一并填好，代码列带下拉列表。"
                      "全国系统格式：标题行、分组行和全国系统的列名，每户在册成员一人一行。两种文件都可直接再导入。")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555;")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.error = error_label(self)
        self.buttons = chinese_buttons(QDialogButtonBox(QDialogButtonBox.StandardButton.Close))
        self.export_button = self.buttons.addButton("导出", QDialogButtonBox.ButtonRole.ActionRole)
        self.template_button = self.buttons.addButton("保存空白模板…", QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.clicked.connect(self.export)
        self.template_button.clicked.connect(lambda: save_template(ctx, self))
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.status)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.resize(640, 260)
        self._suggest_name()

    def _suggest_name(self) -> None:
        current = self.path_edit.text()
        folder = Path(current).parent if current else Path.home()
        kind = "监测对象信息（全国系统格式）" if self.layout_combo.currentData() == "national" else "防止返贫监测信息"
        self.path_edit.setText(str(folder / f"{kind}_{self.year.value()}年_{date.today():%Y%m%d}.xlsx"))

    def _update(self) -> None:
        self.export_button.setEnabled(self.worker is None and self.path_edit.text().lower().endswith(".xlsx"))

    def browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "导出到", self.path_edit.text(), "Excel 工作簿 (*.xlsx)")
        if path:
            if not path.lower().endswith(".xlsx"):
                path += ".xlsx"
            self.path_edit.setText(path)

    def export(self) -> None:
        ctx, path, year = self.ctx, Path(self.path_edit.text()), self.year.value()
        village_ids = ctx.user.village_ids if ctx.user is not None else None
        set_error(self.error, None)
        self.status.setText("正在导出……")

        write = exchange.export_national if self.layout_combo.currentData() == "national" else exchange.export_workbook

        def work(w: Worker):
            return ctx.read(write, path, year, village_ids=village_ids, progress=w.report, cancelled=w.cancelled)
        self.worker = run_with_progress(self, "正在导出", work, self._done, self._failed)
        self._update()

    def _done(self, result) -> None:
        self.worker = None
        self.result = result
        self._update()
        self.status.setText(f"{result.summary()}。\n文件：{result.path}（{result.size / 2**20:.1f} MB）")
        self.exported.emit(result)

    def _failed(self, exc) -> None:
        self.worker = None
        self._update()
        self.status.setText("")
        if isinstance(exc, exchange.ExportCancelled):
            show_info(self, "已取消导出，没有生成文件。")
            return
        set_error(self.error, error_text(exc))

    def reject(self) -> None:
        if self.worker is not None:
            return
        super().reject()
