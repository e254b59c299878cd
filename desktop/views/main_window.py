"""The main window: navigation on the left, one page at a time on the right, who/where/when below."""

from __future__ import annotations

import importlib
import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from .. import APP_NAME, __version__
from ..services import regions
from ..services.context import AppContext
from .audit_page import AuditPage
from .backup_page import BackupPage
from .login import ChangePasswordDialog
from .settings_page import SettingsPage
from .users_page import UsersPage
from .villages_page import VillagesPage

log = logging.getLogger(__name__)

# key, navigation text, roles that see it (None: every role; the services decide, the window only hides what they
# would refuse), module and class of the page (imported when the window is built)
MANAGERS = ("admin", "auditor")
NAVIGATION = (
    ("register", "户籍登记", None, "register_page", "RegisterPage"),
    ("income", "收入测算", None, "income_page", "IncomePage"),
    ("cases", "认定流程", None, "cases_page", "CasesPage"),
    ("warnings", "预警中心", None, "warnings_page", "WarningsPage"),
    ("screening", "集中排查", None, "screening_page", "ScreeningPage"),
    ("quality", "数据质量", None, "quality_page", "QualityPage"),
    ("reports", "报表打印", None, "reports_page", "ReportsPage"),
    ("villages", "村组管理", MANAGERS, "villages_page", "VillagesPage"),
    ("settings", "年度设置", MANAGERS, "settings_page", "SettingsPage"),
    ("users", "用户管理", ("admin",), "users_page", "UsersPage"),
    ("backup", "数据备份", ("admin",), "backup_page", "BackupPage"),
    ("audit", "操作日志", None, "audit_page", "AuditPage"),
)


def build_page(title: str, module: str, cls: str, ctx: AppContext, parent: QWidget) -> QWidget:
    """A page from its module; a failure to load one page must not stop the program."""
    try:
        page_class = getattr(importlib.import_module(f"{__package__}.{module}"), cls)
        return page_class(ctx, parent)
    except Exception as exc:  # noqa: BLE001 - shown to the user, logged for the developer
        return _failed_page(title, exc, parent)


def _failed_page(title: str, exc: Exception, parent: QWidget) -> QLabel:
    log.exception("%s page failed to load", title)
    label = QLabel(f"{title}页面加载失败：{type(exc).__name__}: {exc}", parent)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        township = ctx.read(regions.township)
        self.township_name = township.name if township else "（未配置乡镇）"
        self.setWindowTitle(f"{APP_NAME} — {self.township_name}")
        self.resize(1280, 800)

        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setMinimumWidth(140)
        self.nav.setMaximumWidth(220)
        self.nav.setStyleSheet("QListWidget#navigation { font-size: 11pt; outline: 0; }"
                               "QListWidget#navigation::item { padding: 8px 12px; }")
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        self._keys: list[str] = []

        for key, text, roles, module, cls in NAVIGATION:
            if roles is not None and ctx.user.role not in roles:
                continue
            page = build_page(text, module, cls, ctx, self.stack)
            self.pages[key] = page
            self._keys.append(key)
            self.stack.addWidget(page)
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setToolTip(f"{text}（Ctrl+{len(self._keys)}）" if len(self._keys) <= 9 else text)
            self.nav.addItem(item)

        splitter = QSplitter()
        splitter.addWidget(self.nav)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([170, 1110])
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)

        self.status = QLabel()
        self.statusBar().addPermanentWidget(self.status)
        self.update_status()

        self._build_menus()
        self.nav.currentRowChanged.connect(self._row_changed)
        settings_page = self.pages.get("settings")
        if isinstance(settings_page, SettingsPage):
            settings_page.current_year_changed.connect(self._year_changed)
        screening_page = self.pages.get("screening")
        if hasattr(screening_page, "open_household"):
            screening_page.open_household.connect(self.open_income)
        for key in ("cases", "warnings"):
            page = self.pages.get(key)
            if hasattr(page, "open_household"):
                page.open_household.connect(self.open_household)
        warnings_page = self.pages.get("warnings")
        if hasattr(warnings_page, "open_case"):
            warnings_page.open_case.connect(self.open_case)
        backup_page = self.pages.get("backup")
        if hasattr(backup_page, "restored"):
            backup_page.restored.connect(self._database_replaced)
        self.nav.setCurrentRow(0)

    # ------------------------------------------------------------------ pages

    def show_page(self, key: str) -> QWidget:
        """Show a page by key (the first column of NAVIGATION)."""
        if key not in self.pages:
            raise KeyError(f"no page {key!r} for this user")
        self.nav.setCurrentRow(self._keys.index(key))
        return self.pages[key]

    def open_income(self, household_id: int) -> None:
        """Show a household in the income calculator (集中排查 double-click, other pages)."""
        page = self.show_page("income")
        if hasattr(page, "open_household"):
            page.open_household(household_id)

    def open_household(self, household_id: int) -> None:
        """Open a household in the register's editor (from the case and warning lists)."""
        page = self.show_page("register")
        if hasattr(page, "open_household"):
            page.open_household(household_id)

    def open_case(self, case_id: int) -> None:
        page = self.show_page("cases")
        if hasattr(page, "open_case"):
            page.open_case(case_id)

    # ------------------------------------------------------------------ Excel exchange

    def import_workbook(self):
        from .import_wizard import ImportWizard
        wizard = ImportWizard(self.ctx, self)
        wizard.importFinished.connect(lambda _result: self._data_changed())
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.open()
        return wizard

    def export_workbook(self):
        from .export_dialog import ExportDialog
        dialog = ExportDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def save_template(self):
        from .import_wizard import save_template
        return save_template(self.ctx, self)

    def _data_changed(self) -> None:
        """After an import the register and the lists that show households are reloaded."""
        for key in ("register", "villages"):
            page = self.pages.get(key)
            if hasattr(page, "refresh"):
                page.refresh()

    def current_key(self) -> str:
        return self._keys[self.nav.currentRow()]

    def _row_changed(self, row: int) -> None:
        if row < 0:
            return
        page = self.pages[self._keys[row]]
        self.stack.setCurrentWidget(page)
        # Pages that show others' changes are reloaded when shown (the register page manages itself).
        if isinstance(page, (AuditPage, BackupPage, UsersPage, VillagesPage)):
            page.refresh()

    def _database_replaced(self) -> None:
        """After a restore the open connections are gone: the program closes, to be opened again."""
        QApplication.quit()
        self.close()

    def _year_changed(self, year: int) -> None:
        self.ctx.year = year
        self.update_status()

    def update_status(self) -> None:
        user = self.ctx.user
        who = f"{user.display_name}（{user.role_name}）" if user else "系统"
        year = f"{self.ctx.year}" if self.ctx.year else "未设置"
        self.status.setText(f"乡镇：{self.township_name} | 年度：{year} | 用户：{who}")

    # ------------------------------------------------------------------ menus

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("文件(&F)")
        for text, shortcut, slot in (("导入 Excel…", "Ctrl+I", self.import_workbook),
                                     ("导出 Excel…", "Ctrl+E", self.export_workbook),
                                     ("保存下发模板…", None, self.save_template)):
            action = QAction(text, self)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(slot)
            file_menu.addAction(action)
        file_menu.addSeparator()
        if self.ctx.user is not None:
            password = QAction("修改密码…", self)
            password.triggered.connect(lambda: ChangePasswordDialog(self.ctx, self).exec())
            file_menu.addAction(password)
            file_menu.addSeparator()
        quit_action = QAction("退出(&X)", self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        for n, key in enumerate(self._keys[:9], 1):  # Ctrl+1…Ctrl+9 follow the navigation list
            action = QAction(self.nav.item(n - 1).text(), self)
            action.setShortcut(QKeySequence(f"Ctrl+{n}"))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _checked=False, k=key: self.show_page(k))
            self.addAction(action)

        help_menu = self.menuBar().addMenu("帮助(&H)")
        about = QAction("关于(&A)", self)
        about.triggered.connect(self.about)
        help_menu.addAction(about)

    def about(self) -> None:
        QMessageBox.about(self, f"关于 {APP_NAME}",
                          f"<h3>{APP_NAME}</h3><p>版本 {__version__}</p>"
                          "<p>乡镇防止返贫动态监测和帮扶工作的单机程序：户籍登记、收入测算、监测识别、帮扶措施、"
                          "风险消除和报表。数据保存在本机，不联网。</p>"
                          f"<p>当前乡镇：{self.township_name}</p>")
