"""数据备份: back up now, see the backups, restore one (after confirming and after backing up
the current state), and how many days the copies taken before imports, upgrades and restores are kept."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..services import backup, backups, settings
from ..services.context import AppContext
from ..services.errors import ServiceError
from .errors import confirm, show_error, show_info

_ROOT = QModelIndex()  # the invisible root: a flat table's rows have no parent

REASONS = {"daily": "每日自动备份", "import": "导入前", "migrate": "升级前", "manual": "手动备份",
           "prerestore": "恢复前的当前数据"}
KEEP_KEY = "backup_keep_days"


class BackupTableModel(QAbstractTableModel):
    COLUMNS = ("备份时间", "原因", "大小", "文件名")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[backup.BackupInfo] = []

    def set_rows(self, rows: list[backup.BackupInfo]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        b = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (f"{b.taken_at:%Y-%m-%d %H:%M:%S}", REASONS.get(b.reason, b.reason),
                    f"{b.size / 1024 / 1024:,.1f} MB", b.path.name)[index.column()]
        if role == Qt.ItemDataRole.UserRole:
            return b
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class BackupPage(QWidget):
    restored = Signal()  # the database file was replaced: the program must reopen it

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, now=datetime.now):
        super().__init__(parent)
        self.ctx, self.now = ctx, now
        self.path: Path | None = ctx.db.sqlite_path
        self.model = BackupTableModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        self.backup_button = QPushButton("立即备份", self)
        self.restore_button = QPushButton("恢复所选备份…", self)
        self.folder_button = QPushButton("打开备份文件夹", self)
        self.keep = QSpinBox(self)
        self.keep.setRange(1, 3650)
        self.keep.setSuffix(" 天")
        self.save_keep = QPushButton("保存", self)
        admin = ctx.user is not None and ctx.user.is_admin
        for w in (self.restore_button, self.keep, self.save_keep):
            w.setEnabled(admin)

        buttons = QHBoxLayout()
        for w in (self.backup_button, self.restore_button, self.folder_button):
            buttons.addWidget(w)
        buttons.addStretch(1)
        buttons.addWidget(QLabel("导入前、升级前、恢复前的备份保留：", self))
        buttons.addWidget(self.keep)
        buttons.addWidget(self.save_keep)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)

        self.backup_button.clicked.connect(self.backup_now)
        self.restore_button.clicked.connect(self.restore_selected)
        self.folder_button.clicked.connect(self.open_folder)
        self.save_keep.clicked.connect(self.save_keep_days)
        self.refresh()

    def refresh(self) -> None:
        if self.path is None:
            self.info.setText("当前使用的是县级数据库（PostgreSQL）：由县里的数据库管理员用 pg_dump 备份、"
                              "pg_restore 恢复（见 README“县级数据库”）。本页只管单机数据库文件。")
            for w in (self.backup_button, self.restore_button, self.folder_button):
                w.setEnabled(False)
            return
        try:
            rows = self.ctx.read(backups.list_backups)
        except ServiceError as exc:  # not an administrator (the page is not offered then) or not a file
            self.info.setText(str(exc))
            return
        self.model.set_rows(rows)
        self.keep.setValue(int(self.ctx.read(settings.get_app, KEEP_KEY, "30")))
        self.info.setText(
            f"数据库文件：{self.path}\n备份文件夹：{backup.backup_dir_for(self.path)}（共 {len(rows)} 个备份）。\n"
            "程序每天第一次启动时自动备份，每次导入前、升级前和恢复前也会备份；每个备份写完并检查无误后才列在这里。"
            f"每日备份保留最近 {backup.KEEP_DAILY} 天、{backup.KEEP_WEEKLY} 周、{backup.KEEP_MONTHLY} 个月各一份；"
            "手动备份不会自动删除。电脑时间不可信时不删除任何备份。")

    def backup_now(self) -> None:
        try:
            self.ctx.db.check_file()  # the database itself vanished: say so rather than back up nothing
            target = self.ctx.read(backups.take_backup, now=self.now())
        except ServiceError as exc:  # not an administrator, a full disk, a read-only folder: the message says
            show_error(self, exc, "备份没有完成")
            return
        self.refresh()
        show_info(self, f"已备份到：\n{target}")

    def selected(self) -> backup.BackupInfo | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.data(rows[0], Qt.ItemDataRole.UserRole) if rows else None

    def restore_selected(self) -> None:
        chosen = self.selected()
        if chosen is None:
            show_error(self, "请先在列表中选择一个备份")
            return
        reason = REASONS.get(chosen.reason, chosen.reason)
        if not confirm(self, f"确定用 {chosen.taken_at:%Y-%m-%d %H:%M} 的备份（{reason}）"
                             "替换当前数据吗？\n\n恢复前会先把当前数据另存为一个备份；恢复后程序将关闭，请重新打开。"):
            return
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        failure = None
        try:
            safety = self.ctx.read(backups.restore_backup, chosen.path, now=self.now())
        except ServiceError as exc:  # not a backup of this program, damaged, the disk is full, not an administrator
            failure = exc
        finally:
            QApplication.restoreOverrideCursor()
        if failure is not None:
            show_error(self, failure, "恢复没有完成")
            return
        kept = f"恢复前的数据已另存为：\n{safety}" if safety else "恢复前的数据库中没有数据，未另存。"
        show_info(self, f"已恢复。{kept}\n\n程序将关闭，请重新打开。")
        self.restored.emit()

    def open_folder(self) -> None:
        try:
            folder = self.ctx.read(backups.backup_folder)
        except ServiceError as exc:
            show_error(self, str(exc))
            return
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def save_keep_days(self) -> None:
        self.ctx.run(settings.set_app, KEEP_KEY, str(self.keep.value()))
        show_info(self, f"导入前、升级前、恢复前的备份保留 {self.keep.value()} 天")
