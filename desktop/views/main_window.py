"""The main window: navigation on the left, one page at a time on the right, who/where/when below.
The pages and what the window does with them are declared in pages.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import TypeVar, cast

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTableView,
    QWidget,
)

from .. import APP_NAME, __version__
from ..services import regions, register
from ..services.context import AppContext
from .backup_page import BackupPage
from .cases_page import CasesPage
from .errors import report_fault
from .home_page import HomePage
from .income_page import IncomePage
from .login import ChangePasswordDialog
from .operations import operations
from .pages import PageSpec, Refreshable, pages_for
from .quality_page import QualityPage
from .register_page import RegisterPage
from .reports_page import HOUSEHOLDS, ReportsPage
from .screening_page import ScreeningPage
from .settings_page import SettingsPage
from .suggested_page import SuggestedPage
from .warnings_page import WarningsPage
from .widgets.list_actions import ListActions
from .window_state import (
    install_screen_fit,
    mark_placed,
    place_main_window,
    remember_header,
    remember_splitter,
    save_main_window,
)

log = logging.getLogger(__name__)
P = TypeVar("P", bound=QWidget)


def build_page(spec: PageSpec, ctx: AppContext, parent: QWidget) -> QWidget:
    """A page from its spec. A fault while building one page must not stop the whole window: it is reported like
    any fault (the log and the dialog) and a message takes the page's place."""
    try:
        return spec.page_class(ctx, parent)
    except Exception as exc:  # any fault in one page's constructor: reported, the other pages still work
        report_fault(exc)
        return _failed_page(spec.title, exc, parent)


def _failed_page(title: str, exc: Exception, parent: QWidget) -> QLabel:
    label = QLabel(f"{title}页面加载失败：{type(exc).__name__}: {exc}", parent)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label


class Pages(Mapping[str, QWidget]):
    """The window's pages by key, in navigation order. A page is built the first time it is asked for — shown, or
    reached from another page — not when the window opens: building all fourteen took most of the window's start.
    `key in pages` and iterating the keys build nothing; `pages[key]`, values() and items() build what they return."""

    def __init__(self, window: "MainWindow"):
        self._window = window
        self._built: dict[str, QWidget] = {}

    def __getitem__(self, key: str) -> QWidget:
        if key not in self._built:
            spec = next((s for s in self._window.specs if s.key == key), None)
            if spec is None:
                raise KeyError(key)
            self._built[key] = self._window._build(spec)
        return self._built[key]

    def __contains__(self, key: object) -> bool:
        return any(spec.key == key for spec in self._window.specs)

    def __iter__(self) -> Iterator[str]:
        return iter([spec.key for spec in self._window.specs])

    def __len__(self) -> int:
        return len(self._window.specs)

    def built(self, key: str) -> QWidget | None:
        """The page of this key if it was built already (None: never shown, nothing to reload)."""
        return self._built.get(key)


class ShortcutFirst(QObject):
    """A text field claims some keys for itself before any shortcut sees them (Ctrl+E moves to the end of the line
    in a QLineEdit on Linux). For the window's own keys the window's action wins, wherever the focus is."""

    def __init__(self, window: "MainWindow"):
        super().__init__(window)
        self.window = window

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # Every event of the application passes here: the cheap class test first (a ShortcutOverride is a
        # QKeyEvent); asking any event its type() makes a Python enum member each time.
        if not isinstance(event, QKeyEvent) or event.type() != QEvent.Type.ShortcutOverride \
                or not isinstance(obj, QWidget):
            return False
        if obj.window() is not self.window:
            return False
        pressed = QKeySequence(event.keyCombination())
        if pressed in self.window.window_shortcuts():
            event.ignore()  # not claimed by the widget: the shortcut map triggers the window's action
            return True
        return False


class MainWindow(QMainWindow):
    # 注销/切换用户, or the account was disabled: the log-in dialog comes back with this message ("" for 注销).
    logged_out = Signal(str)
    # Another seat made another year current (several seats on one database): from the thread that noticed it.
    year_changed_elsewhere = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._leaving = False
        ctx.account_disabled = self._account_disabled
        township = ctx.read(regions.township)
        self.township_name = township.name if township else "（未配置乡镇）"
        self.setWindowTitle(f"{APP_NAME} — {self.township_name}")
        install_screen_fit()
        place_main_window(self)

        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setMinimumWidth(140)
        self.nav.setMaximumWidth(220)
        self.nav.setStyleSheet("QListWidget#navigation { font-size: 11pt; outline: 0; }"
                               "QListWidget#navigation::item { padding: 8px 12px; }")
        self.stack = QStackedWidget()
        self.specs = pages_for(ctx.user.role)
        self._keys = [spec.key for spec in self.specs]
        self.pages = Pages(self)  # each page built once, when first asked for (_build)
        for spec in self.specs:
            item = QListWidgetItem(spec.title)
            item.setData(Qt.ItemDataRole.UserRole, spec.key)
            item.setToolTip(f"{spec.title}（{spec.shortcut}）" if spec.shortcut else spec.title)
            self.nav.addItem(item)

        splitter = QSplitter()
        splitter.addWidget(self.nav)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([170, 1110])
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)
        remember_splitter(splitter, "main")

        self.status = QLabel()
        self.statusBar().addPermanentWidget(self.status)
        self.update_status()

        self.manual = None  # the 使用手册 window, once opened
        self._stale: set[str] = set()  # pages to read again when next shown (data changed while hidden)
        self._build_menus()
        self._build_keys()
        self.nav.currentRowChanged.connect(self._row_changed)
        ops = operations()
        if ops.notify_changed not in ctx.listeners:
            ctx.listeners.append(ops.notify_changed)  # every commit → one data_changed on the GUI thread
        ops.data_changed.connect(self.data_changed)
        self.year_changed_elsewhere.connect(self._year_changed_elsewhere)
        ctx.year_listeners.append(self.year_changed_elsewhere.emit)
        self.nav.setCurrentRow(0)
        # The other pages are built when first shown or asked for (Pages): the window opens without building the
        # thirteen the user may not visit (~0.5 s of CPU). On 20,000 households the slowest first switch, 户籍登记,
        # took 148 ms of the GUI thread's CPU with its build (tests/views/test_no_freeze.py: under 200 ms).

    def _build(self, spec: PageSpec) -> QWidget:
        """A page the first time it is needed (Pages): built, placed in the stack, its splitters and columns as the
        user left them, its signals connected. The page loads what it shows itself."""
        page = build_page(spec, self.ctx, self.stack)
        self.stack.addWidget(page)
        self._remember_layout(spec.key, page)
        self._connect_page(page)
        self._shortcuts = None  # the window's keys are collected again, with any the page brought
        return page

    @staticmethod
    def _remember_layout(key: str, page: QWidget) -> None:
        """Splitter positions and column widths of a page, as the user left them (window_state)."""
        for i, splitter in enumerate(page.findChildren(QSplitter)):
            remember_splitter(splitter, f"{key}/{i}")
        for i, table in enumerate(page.findChildren(QTableView)):
            remember_header(table.horizontalHeader(), f"{key}/{i}")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, lambda: mark_placed(self))  # after the platform has placed it

    def closeEvent(self, event) -> None:
        save_main_window(self)
        super().closeEvent(event)

    # ------------------------------------------------------------------ pages

    def page(self, cls: type[P]) -> P | None:
        """The page of this class when this user has it (built now if it was not yet), else None."""
        spec = next((s for s in self.specs if s.page_class is cls), None)
        page = self.pages[spec.key] if spec is not None else None
        return page if isinstance(page, cls) else None

    def _connect_page(self, page: QWidget) -> None:
        """What one page asks of another, connected by class when the page is built (the other page is built when
        it is first asked for; a page this user lacks is simply not there)."""
        if isinstance(page, SettingsPage):
            page.current_year_changed.connect(self._year_changed)
        elif isinstance(page, ScreeningPage):
            page.open_household.connect(self.open_income)
        elif isinstance(page, CasesPage):
            page.open_household.connect(self.open_household)
        elif isinstance(page, WarningsPage):
            page.open_household.connect(self.open_household)
            page.open_case.connect(self.open_case)
            page.open_quality.connect(self.open_quality)
        elif isinstance(page, BackupPage):
            page.restored.connect(self._database_replaced)
        elif isinstance(page, HomePage):
            page.go.connect(self.open_from_home)
        elif isinstance(page, SuggestedPage):
            page.open_household.connect(self.open_household)
            page.open_income.connect(self.open_income)
        for actions in page.findChildren(ListActions):  # every list's right-click menu reaches a household's all
            actions.household_action.connect(self.household_action)

    def household_action(self, action: str, household_id: int) -> None:
        """One place per household: what a list row's menu asks for (widgets.list_actions.HOUSEHOLD_ACTIONS)."""
        if action == "editor":
            self.open_household(household_id)
        elif action == "history":
            if (page := self._show(RegisterPage)) is not None:
                page.open_household(household_id).show_history()
        elif action == "income":
            self.open_income(household_id)
        elif action == "cases":
            if (page := self._show(CasesPage)) is not None:
                page.show_household(household_id)
        elif action == "documents":
            if (page := self._show(ReportsPage)) is not None:
                page.set_scope(HOUSEHOLDS, self.ctx.read(register.household_no, household_id))

    def open_from_home(self, key: str) -> None:
        """A 首页 tile opens the list behind its figure."""
        if key == "suggested":
            self._show(SuggestedPage)
        elif key in ("households", "people"):
            if (page := self._show(RegisterPage)) is not None:
                page.status_combo.set_value(None)
        elif key == "monitored":
            if (page := self._show(RegisterPage)) is not None:
                page.status_combo.set_value("monitoring")
        elif key in ("identified", "removed", "clues", "clues_open"):
            self._show(CasesPage)
        elif key in ("overdue", "due_soon", "plan_overdue", "revisit_due", "villages"):
            if (page := self._show(WarningsPage)) is not None and key != "villages":
                page.set_kind(key)
        elif key == "quality":
            # The tile counts what a check of today's data finds: the page checks (recording the findings in the
            # ledger) so that the list behind the figure is that list, even before anybody pressed 检查 there.
            if (page := self._show(QualityPage)) is not None:
                page.run_checks()

    def open_quality(self, rule_key: str | None, village_id: int | None) -> None:
        """数据质量 with the findings still 待整改 of one rule in one village (from 预警中心)."""
        if (page := self._show(QualityPage)) is not None:
            page.show_open(rule_key, village_id)

    def show_page(self, key: str) -> QWidget:
        """Show a page by its key in pages.PAGES."""
        if key not in self.pages:
            raise KeyError(f"no page {key!r} for this user")
        self.nav.setCurrentRow(self._keys.index(key))
        return self.pages[key]

    def _show(self, cls: type[P]) -> P | None:
        spec = next((s for s in self.specs if s.page_class is cls), None)
        if spec is None:
            return None
        page = self.show_page(spec.key)
        return page if isinstance(page, cls) else None

    def open_income(self, household_id: int) -> None:
        """Show a household in the income calculator (集中排查 double-click, other pages)."""
        if (page := self._show(IncomePage)) is not None:
            page.open_household(household_id)

    def open_household(self, household_id: int) -> None:
        """Open a household in the register's editor (from the case and warning lists)."""
        if (page := self._show(RegisterPage)) is not None:
            page.open_household(household_id)

    def open_case(self, case_id: int) -> None:
        if (page := self._show(CasesPage)) is not None:
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
        """After an import the pages that list households or villages are reloaded (those not built yet load
        when first shown)."""
        for spec in self.specs:
            if spec.refresh_after_import:
                self._refresh(spec)

    def data_changed(self) -> None:
        """Something was written (operations.data_changed): the page on screen that follows changes reads again
        now, the others when they are next shown. Nothing shows what was true before the last save."""
        current = self.current_key()
        for spec in self.specs:
            if not spec.follows_changes or self.pages.built(spec.key) is None:  # not built: loads when first shown
                continue
            if spec.key == current and self.isVisible():
                self._refresh(spec)
            else:
                self._stale.add(spec.key)

    def _refresh(self, spec: PageSpec) -> None:
        page = self.pages.built(spec.key)
        if isinstance(page, spec.page_class):  # not the message of a page that failed to build
            cast(Refreshable, page).refresh()

    def current_key(self) -> str:
        return self._keys[self.nav.currentRow()]

    def _row_changed(self, row: int) -> None:
        if row < 0:
            return
        spec = self.specs[row]
        new = self.pages.built(spec.key) is None  # built now: it has just loaded what it shows
        self.stack.setCurrentWidget(self.pages[spec.key])
        if new:
            self._stale.discard(spec.key)
        elif spec.refresh_when_shown or spec.key in self._stale:  # pages that show others' changes
            self._stale.discard(spec.key)
            self._refresh(spec)

    def _database_replaced(self) -> None:
        """After a restore the open connections are gone: the program closes, to be opened again."""
        QApplication.quit()
        self.close()

    def _year_changed(self, year: int) -> None:
        self.ctx.year = year
        self.update_status()

    def _year_changed_elsewhere(self, year: int) -> None:
        """Another seat made `year` current: this window follows, and every page reads again for that year."""
        self._year_changed(year)
        self.statusBar().showMessage(f"当前工作年度已由其他用户改为 {year} 年", 15000)
        self.data_changed()

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
            self.log_out_action = QAction("注销/切换用户…", self)
            self.log_out_action.setShortcut(QKeySequence("Ctrl+L"))
            self.log_out_action.triggered.connect(lambda: self.log_out())
            file_menu.addAction(self.log_out_action)
            file_menu.addSeparator()
        quit_action = QAction("退出(&X)", self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        for spec in self.specs:
            if spec.shortcut:
                action = QAction(spec.title, self)
                action.setShortcut(QKeySequence(spec.shortcut))
                action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
                action.triggered.connect(lambda _checked=False, k=spec.key: self.show_page(k))
                self.addAction(action)

        help_menu = self.menuBar().addMenu("帮助(&H)")
        manual = QAction("使用手册(&M)", self)
        manual.setShortcut(QKeySequence("F1"))
        manual.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        manual.triggered.connect(lambda: self.open_manual())
        help_menu.addAction(manual)
        about = QAction("关于(&A)", self)
        about.triggered.connect(self.about)
        help_menu.addAction(about)

    # ------------------------------------------------------------------ application-wide keys

    def _build_keys(self) -> None:
        """F5, Ctrl+N, Ctrl+F and Ctrl+S are the window's, not a page's: they work wherever the focus is (the
        navigation list, a text field) and act on the page shown, as its PageSpec declares."""
        self.key_actions: dict[str, QAction] = {}
        self._shortcuts: set[QKeySequence] | None = None
        for name, keys, text in (("refresh_action", "F5", "刷新"), ("new_action", "Ctrl+N", "新增"),
                                 ("find_action", "Ctrl+F", "查找"), ("save_action", "Ctrl+S", "保存")):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _checked=False, n=name: self.page_action(n))
            self.addAction(action)
            self.key_actions[name] = action
        self._keys_filter = ShortcutFirst(self)
        QApplication.instance().installEventFilter(self._keys_filter)

    def page_action(self, name: str) -> bool:
        """Run what the current page declares for one of the window's keys; False when it declares nothing."""
        spec = self.specs[self.nav.currentRow()]
        method = getattr(spec, name)
        page = self.pages[spec.key]
        if method is None or not isinstance(page, spec.page_class):
            return False
        getattr(page, method)()
        return True

    def window_shortcuts(self) -> set[QKeySequence]:
        """Every key sequence of the window's actions (menus, page switching, the keys above)."""
        if self._shortcuts is None:
            self._shortcuts = {a.shortcut() for a in self.findChildren(QAction) if not a.shortcut().isEmpty()}
        return self._shortcuts

    def open_manual(self, key: str | None = None):
        """F1: the built-in manual on the page of the screen shown (views/manual.py)."""
        from .manual import ManualDialog
        if self.manual is None:
            self.manual = ManualDialog([spec.manual for spec in self.specs if spec.manual], self)
            self.manual.destroyed.connect(lambda *_: setattr(self, "manual", None))
        self.manual.show_page(key or self.specs[self.nav.currentRow()].manual or "index")
        self.manual.show()
        self.manual.raise_()
        self.manual.activateWindow()
        return self.manual

    # ------------------------------------------------------------------ log-out

    def log_out(self, message: str = "") -> None:
        """Back to the log-in dialog (the program decides what then opens: see app._run_with)."""
        if self._leaving:
            return
        self._leaving = True
        self.ctx.account_disabled = None
        self.logged_out.emit(message)

    def _account_disabled(self, message: str) -> None:
        """A service refused the action: the account was disabled since the log-in. The view that asked says so;
        once its message (and any dialog) is closed, the window logs out."""
        QTimer.singleShot(0, lambda: self._log_out_when_idle(message))

    def _log_out_when_idle(self, message: str) -> None:
        if QApplication.activeModalWidget() is not None or QApplication.activePopupWidget() is not None:
            QTimer.singleShot(200, lambda: self._log_out_when_idle(message))
            return
        self.log_out(message)

    def about(self) -> None:
        QMessageBox.about(self, f"关于 {APP_NAME}",
                          f"<h3>{APP_NAME}</h3><p>版本 {__version__}</p>"
                          "<p>乡镇防止返贫动态监测和帮扶工作的单机程序：户籍登记、收入测算、监测识别、帮扶措施、"
                          "风险消除和报表。数据保存在本机，不联网。</p>"
                          f"<p>当前乡镇：{self.township_name}</p>")
