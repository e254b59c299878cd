"""The main window's pages, registered explicitly: one PageSpec per page, in navigation order.

A new page: write its class (a QWidget built as `PageClass(ctx, parent)`), add one PageSpec here, and, if the
window must react to it (a signal to another page), connect it in MainWindow._connect_page by its class. What
the window does with a page is declared here, not discovered with hasattr: `refresh_when_shown` and
`refresh_after_import` pages have a `refresh()` method (the Refreshable protocol; tests/views/test_shell.py
checks every registered page against what it declares)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from PySide6.QtWidgets import QWidget

from .audit_page import AuditPage
from .backup_page import BackupPage
from .cases_page import CasesPage
from .home_page import HomePage
from .income_page import IncomePage
from .quality_page import QualityPage
from .register_page import RegisterPage
from .reports_page import ReportsPage
from .screening_page import ScreeningPage
from .settings_page import SettingsPage
from .suggested_page import SuggestedPage
from .users_page import UsersPage
from .villages_page import VillagesPage
from .warnings_page import WarningsPage


class Refreshable(Protocol):
    """A page that reloads what it shows from the services."""

    def refresh(self) -> object: ...


@dataclass(frozen=True)
class PageSpec:
    key: str                            # MainWindow.show_page(key)
    title: str                          # the navigation text
    page_class: type[QWidget]           # built as page_class(ctx, parent)
    shortcut: str | None = None         # switches to the page from anywhere in the window
    roles: tuple[str, ...] | None = None  # the roles that see it (None: every role). The services decide; the
    #                                       window only leaves out what they would refuse
    refresh_when_shown: bool = False    # shows what others change (users, backups, the audit): reload when shown
    refresh_after_import: bool = False  # lists households or villages: reload after an Excel import
    follows_changes: bool = False       # lists what any write changes: reloaded (now, or when next shown) after one
    # What the window's application-wide keys do on this page: the name of a method of the page, or None
    # (F5 → refresh_action, Ctrl+N → new_action, Ctrl+F → find_action, Ctrl+S → save_action).
    refresh_action: str | None = None
    new_action: str | None = None
    find_action: str | None = None
    save_action: str | None = None
    manual: str = ""                    # the page of the built-in manual (resources/manual/<manual>.html)


MANAGERS = ("admin", "auditor")  # settings and villages (services.access.manager)
ADMIN = ("admin",)               # users and backups (services.access.admin)

PAGES: tuple[PageSpec, ...] = (
    PageSpec("home", "首页", HomePage, "Ctrl+0", refresh_after_import=True, follows_changes=True,
             refresh_action="refresh", manual="home"),
    PageSpec("register", "户籍登记", RegisterPage, "Ctrl+1", refresh_after_import=True, follows_changes=True,
             refresh_action="refresh", new_action="new_household", find_action="focus_search", manual="register"),
    PageSpec("income", "收入测算", IncomePage, "Ctrl+2", find_action="focus_search", save_action="save",
             manual="income"),
    PageSpec("cases", "认定流程", CasesPage, "Ctrl+3", follows_changes=True, refresh_action="refresh",
             new_action="new_clue", find_action="focus_search", manual="cases"),
    PageSpec("warnings", "预警中心", WarningsPage, "Ctrl+4", follows_changes=True, refresh_action="refresh",
             manual="warnings"),
    PageSpec("suggested", "建议纳入", SuggestedPage, refresh_after_import=True, follows_changes=True,
             refresh_action="refresh", manual="suggested"),
    PageSpec("screening", "集中排查", ScreeningPage, "Ctrl+5", follows_changes=True, refresh_action="refresh",
             manual="screening"),
    PageSpec("quality", "数据质量", QualityPage, "Ctrl+6", refresh_action="run_checks", manual="quality"),
    PageSpec("reports", "报表打印", ReportsPage, "Ctrl+7", manual="reports"),
    PageSpec("villages", "村组管理", VillagesPage, "Ctrl+8", roles=MANAGERS, refresh_when_shown=True,
             refresh_after_import=True, follows_changes=True, refresh_action="refresh", manual="villages"),
    PageSpec("settings", "年度设置", SettingsPage, "Ctrl+9", roles=MANAGERS, save_action="save", manual="settings"),
    PageSpec("users", "用户管理", UsersPage, roles=ADMIN, refresh_when_shown=True, refresh_action="refresh",
             manual="users"),
    PageSpec("backup", "数据备份", BackupPage, roles=ADMIN, refresh_when_shown=True, refresh_action="refresh",
             manual="backup"),
    PageSpec("audit", "操作日志", AuditPage, refresh_when_shown=True, follows_changes=True, refresh_action="refresh",
             manual="audit"),
)


def pages_for(role: str) -> list[PageSpec]:
    """The pages a user of this role sees, in navigation order."""
    return [spec for spec in PAGES if spec.roles is None or role in spec.roles]
