"""Builds the QApplication, opens the database and shows the main window; nothing else."""

from __future__ import annotations

import logging
import sys
import threading
from datetime import date
from pathlib import Path

from PySide6.QtCore import QLibraryInfo, QLocale, QObject, QTranslator, Signal
from PySide6.QtGui import QFont, QFontDatabase, QIcon
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from . import APP_NAME, __version__
from .paths import default_db_path, resource_path, saved_database
from .services import audit, auth, backup, failures, keys, settings, setup
from .services.access import AccessDenied
from .services.context import AppContext
from .services.db import Database, init_db, is_url, shown_url, sqlite_url
from .services.errors import ServiceError
from .services.integrity import integrity_check, server_check
from .services.opening import DatabaseDamaged, Gate
from .services.targets import database_target

log = logging.getLogger(__name__)

ORGANIZATION = "fanpin-workbench"
PREFERRED_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "WenQuanYi Micro Hei",
                   "WenQuanYi Zen Hei", "SimSun")
CJK_MARKERS = ("CJK", "Noto Sans SC", "Source Han", "WenQuanYi", "Microsoft YaHei", "SimSun", "SimHei",
               "PingFang", "Hiragino Sans GB")
FONT_HINT = ("未找到中文字体，界面上的汉字可能显示为方框。请安装中文字体，例如：\n"
             "    sudo apt-get install fonts-noto-cjk")


def open_database(path: Path | str | None = None) -> Database:
    """Open (and migrate) a database file whose key this process holds (after a log-in), or create a new one;
    default in the user's data folder. An encrypted file nobody has logged in to is refused (DatabaseLocked):
    the window opens those through the log-in (opening.Gate). A database URL (the county's PostgreSQL server)
    opens without a key: its encryption at rest is the server's.

    An existing file is checked with PRAGMA quick_check first; a damaged file raises DatabaseDamaged before any
    migration or backup touches it. A file the program cannot use as it is — a read-only file or folder, a
    lock held by another program, a full disk — raises a failures.StorageError that says what to do; the write
    lock is tried once at start so that this is known before log-in, not at the first save."""
    if is_url(path):
        return init_db(str(path))  # the county's server: its own checks and backups (README “县级数据库”)
    path = Path(path) if path is not None else default_db_path()
    if path.exists():
        problem = integrity_check(path, quick=True)
        if problem is not None:
            raise DatabaseDamaged(path, problem)
    try:
        db = init_db(sqlite_url(path))
    except Exception as exc:
        failure = failures.translate(exc, path)
        if failure is None:
            raise
        raise failure from exc
    try:
        db.check_writable()
    except BaseException:
        db.dispose()
        raise
    return db


def damaged_message(exc: DatabaseDamaged, good: backup.BackupInfo | None) -> str:
    lines = ["数据库文件检查未通过，程序不能继续使用它，以免损坏扩大。", "", f"文件：{exc.path}",
             f"问题：{exc.problem}", "", f"备份文件夹：{backup.backup_dir_for(exc.path)}"]
    if good is not None:
        lines += [f"最新的完好备份：{good.path.name}（{good.taken_at:%Y-%m-%d %H:%M}）。", "",
                  "可以用这个备份恢复：损坏的文件会改名保留在原文件夹，不会删除；备份之后录入的数据需要重新录入。"]
    else:
        lines.append("没有找到完好的备份。请复制保存该文件并联系技术支持。")
    return "\n".join(lines)


def offer_backup(exc: DatabaseDamaged, parent=None) -> bool:
    """Tell the user the file is damaged and offer the latest good backup. True when it was restored."""
    good = backup.latest_good(exc.path)
    box = QMessageBox(QMessageBox.Icon.Critical, f"数据库损坏 — {APP_NAME}", damaged_message(exc, good),
                      parent=parent)
    restore = box.addButton("用最新的完好备份恢复", QMessageBox.ButtonRole.AcceptRole) if good else None
    box.addButton("退出", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    if restore is None or box.clickedButton() is not restore:
        return False
    try:
        kept = backup.replace_damaged(exc.path, good.path)
    except ServiceError as failure:
        QMessageBox.critical(parent, f"恢复没有完成 — {APP_NAME}", str(failure))
        return False
    QMessageBox.information(parent, APP_NAME, f"已用 {good.path.name} 恢复。\n损坏的文件保留为：{kept}")
    return True


def create_main_window(ctx: AppContext):
    """The main window for a logged-in context, not shown (benchmarks use this: no dialogs)."""
    from .views.main_window import MainWindow

    return MainWindow(ctx)


def cjk_font_family(families: list[str] | None = None) -> str | None:
    """The family to use for Chinese text: a preferred one when installed, else any CJK family."""
    families = families if families is not None else QFontDatabase.families()
    for preferred in PREFERRED_FONTS:
        if preferred in families:
            return preferred
    for family in families:
        if any(marker.lower() in family.lower() for marker in CJK_MARKERS):
            return family
    return None


def install_translations(app: QApplication) -> None:
    """Qt's own Chinese texts (standard buttons, context menus, date pickers)."""
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    for name in ("qtbase_zh_CN", "qt_zh_CN"):
        translator = QTranslator(app)
        if translator.load(name, folder):
            app.installTranslator(translator)
            break


def setup_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(resource_path("icons", "app.png"))))
    install_translations(app)
    from .views.operations import install_gc_policy
    install_gc_policy()  # no full garbage collection in the middle of a big read: it froze the window (issue 19)
    from .views.window_state import install_screen_fit
    install_screen_fit(app)  # every dialog inside the screen, at its remembered size
    from .views.file_dialogs import install_file_dialogs
    install_file_dialogs(app)  # Qt's own file dialog, all in Chinese
    family = cjk_font_family()
    if family is None:
        print(FONT_HINT, file=sys.stderr)
    else:
        app.setFont(QFont(family, 10))
    return app


def choose_database(db_path: Path | str | None) -> Path | str | None:
    """Which database this run opens: --db, else the one chosen on this computer before, else — on the very first
    start, with no database file yet — the person's choice 单机 / 县级数据库 (None: they closed the dialog)."""
    if db_path is not None:
        return db_path
    saved = saved_database()
    if saved is not None:
        return saved
    if default_db_path().exists():
        return default_db_path()
    from .views.database_choice import DatabaseChoiceDialog
    dialog = DatabaseChoiceDialog(default_db_path())
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.target


def run_gui(db_path: Path | str | None = None) -> int:
    """The whole program with a window: first run (a new database), log-in — which opens an SQLite file, since its
    password unwraps the file's key — and the main window. Returns the exit code."""
    app = setup_application()
    from .views.crash_dialog import install_crash_reporter
    install_crash_reporter(app)  # the log file, and a dialog for any fault from here on
    db_path = choose_database(db_path)
    if db_path is None:
        return 0
    db_path = database_target(db_path)
    if is_url(db_path):
        return _run_server(app, str(db_path))
    path = Path(db_path)
    username = ""
    if not path.exists() or path.stat().st_size == 0:
        try:
            db = open_database(path)
        except ServiceError as exc:  # read-only, full, gone: the message says what to do
            QMessageBox.critical(None, f"无法创建数据库 — {APP_NAME}", str(exc))
            return 1
        try:
            username = first_run(db)
        finally:
            db.dispose()
        if username is None:
            return 0
    else:
        try:
            try:
                check_before_log_in(path)
            except DatabaseDamaged as exc:
                if not offer_backup(exc):
                    return 1
        except ServiceError as exc:  # read-only, locked, gone: the message says what to do
            QMessageBox.critical(None, f"无法打开数据库 — {APP_NAME}", str(exc))
            return 1
    seat = Seat(app, path=path)
    if not seat.sign_in(username):
        return 0
    try:
        return app.exec()
    finally:
        if seat.db is not None:
            seat.db.dispose()


def _run_server(app: QApplication, url: str) -> int:
    """The county edition: the server's database opens first (no key: the server guards it), then the first-run
    wizard if it has no user yet, then the log-in against its users table."""
    try:
        db = open_database(url)
    except ServiceError as exc:  # unreachable, refused: said without the password
        QMessageBox.critical(None, f"无法打开数据库 — {APP_NAME}", str(exc))
        return 1
    except Exception as exc:  # noqa: BLE001 - e.g. a database from a newer version: a fault, logged in full
        log.exception("could not open the database %s", shown_url(url))
        QMessageBox.critical(None, f"无法打开数据库 — {APP_NAME}",
                             f"无法打开数据库：\n{shown_url(url)}\n\n程序内部错误（{type(exc).__name__}），"
                             "详细信息已写入日志文件。请联系技术支持。")
        return 1
    try:
        username = ""
        if AppContext(db).read(setup.needs_first_run):
            username = first_run(db)
            if username is None:
                return 0
        seat = Seat(app, db)
        if not seat.sign_in(username):
            return 0
        return app.exec()
    finally:
        db.dispose()


def check_before_log_in(path: Path) -> None:
    """What can be known of an existing file before the log-in unlocks it: a read-only file or folder
    (StorageError); a plain file from before encryption that fails the quick check, or a file that is neither plain
    SQLite nor has its key file (DatabaseDamaged). An encrypted file is checked once the log-in has its key."""
    failures.check_writable(path)
    if keys.is_plain(path):
        problem = integrity_check(path, quick=True)
        if problem is not None:
            raise DatabaseDamaged(path, problem)
    elif not keys.exists(path):
        raise DatabaseDamaged(path, f"文件不是可用的数据库，旁边也没有它的密钥文件（{keys.key_path(path).name}）："
                                    "文件可能已损坏，或密钥文件被删除或没有一起复制过来")


def first_run(db: Database) -> str | None:
    """The first-run wizard on a new database (its recovery key shown on the last page). Cancelled: the new,
    empty files are removed (nobody could ever log in to them) and None is returned."""
    from .views.first_run import FirstRunWizard
    wizard = FirstRunWizard(AppContext(db, bootstrap=True), today=date.today, recovery_key=db.recovery_key)
    if wizard.exec() == QDialog.DialogCode.Accepted or wizard.admin_username:
        return wizard.admin_username or ""
    path = db.sqlite_path
    db.dispose()
    if path is not None:
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), keys.key_path(path)):
            leftover.unlink(missing_ok=True)
    return None


def start_of_day(ctx: AppContext, now=None, parent=None) -> backup.DailyBackup | None:
    """The day's backup and pruning, taken after the log-in (the keep-days setting is read as the logged-in
    user); a failed backup or a clock that cannot be trusted is said, and the day's work goes on."""
    if ctx.db.sqlite_path is None:  # PostgreSQL: backed up by the county's administrator (pg_dump), not here
        return None
    keep = int(ctx.read(settings.get_app, "backup_keep_days", "30"))
    daily = backup.daily_backup(ctx.db.sqlite_path, keep_days=keep, now=now() if now else None)
    if daily.failure:
        QMessageBox.warning(parent, f"今天的自动备份没有完成 — {APP_NAME}",
                            f"{daily.failure}\n\n可以继续工作。处理后请到“数据备份”页点“立即备份”。")
    if daily.clock_warning:
        QMessageBox.warning(parent, f"请检查电脑的日期时间 — {APP_NAME}", daily.clock_warning)
    return daily


class IntegrityWatch(QObject):
    """The daily check, off the GUI thread; a problem is shown as soon as it is known. On an SQLite file (a path):
    the full PRAGMA integrity_check (2-3 s on a county file; the start only runs quick_check). On PostgreSQL (a
    Database without a file): the server's count of damaged pages in the database (integrity.server_check)."""

    finished = Signal(object)  # the problem text, or None

    def __init__(self, target: Path | Database, parent: QObject | None = None):
        super().__init__(parent)
        if isinstance(target, Database) and target.sqlite_path is not None:
            target = target.sqlite_path
        self.target = target
        self.path = target if not isinstance(target, Database) else None
        self.problem: str | None = None
        self._thread = threading.Thread(target=self._run, name="integrity-check", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            if isinstance(self.target, Database):
                self.problem = server_check(self.target.engine)
            else:
                self.problem = integrity_check(self.target)
        except ServiceError as exc:  # could not read the file or ask the server: say that, not "damaged"
            self.problem = str(exc)
        self.finished.emit(self.problem)  # queued to the GUI thread by Qt


def warn_if_damaged(parent, where: Path | str, problem: str | None) -> None:
    if problem:
        what = "数据库文件" if isinstance(where, Path) else "数据库"
        QMessageBox.warning(parent, f"数据库检查 — {APP_NAME}",
                            f"每日完整检查发现{what}有问题：\n{where}\n\n{problem}\n\n"
                            "请尽快到“数据备份”页备份当前数据，并联系技术支持；如需要，可从完好的备份恢复。"
                            if isinstance(where, Path) else
                            f"每日检查发现{what}有问题：\n{where}\n\n{problem}")


class ChainWatch(QObject):
    """The audit chain checked after the log-in, off the GUI thread (SPEC §12); a break is shown in Chinese with
    the entry's number and time."""

    finished = Signal(object)  # the ChainReport, or the text of a failure to read

    def __init__(self, ctx: AppContext, parent: QObject | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._thread = threading.Thread(target=self._run, name="audit-chain", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            result = self.ctx.read(audit.verify_chain)
        except AccessDenied:  # (the account was disabled since the log-in: its window stops at its next action and
            return  # the log-in says why; a box saying the log could not be checked would only stand in the way)
        except ServiceError as exc:
            result = str(exc)
        except Exception:  # noqa: BLE001 - a fault: logged, the window goes on
            log.exception("audit chain check failed")
            return
        self.finished.emit(result)


def warn_if_chain_broken(parent, result) -> None:
    if isinstance(result, str):
        QMessageBox.warning(parent, f"操作日志检查 — {APP_NAME}", f"操作日志未能检查：{result}")
    elif result is not None and not result.ok:
        QMessageBox.warning(parent, f"操作日志检查 — {APP_NAME}",
                            "操作日志的校验链断开，日志在程序之外被改动过：\n\n" + "\n".join(result.problems)
                            + "\n\n请把数据库和备份复制保存，并报告管理员或技术支持。")


class Seat(QObject):
    """Who sits at the program: the log-in dialog (which opens the database), then the main window.
    注销/切换用户, or an account disabled while its window is open, brings the log-in dialog back; closing it ends
    the program."""

    def __init__(self, app: QApplication, db: Database | None = None, *, path: Path | None = None):
        super().__init__()
        self.app, self.db = app, db
        self.gate = Gate(path, db)
        self.window = None
        self.started = False  # the day's backup and the full checks: once, after the first log-in

    def sign_in(self, username: str = "", message: str = "") -> bool:
        from .views.login import LoginDialog, RecoveryKeyDialog
        while True:
            login = LoginDialog(self.gate, username=username, message=message)
            accepted = login.exec() == QDialog.DialogCode.Accepted and login.user is not None
            if login.damaged is None:
                break
            # the file is checked as soon as the log-in has unlocked it: damaged, it is offered a backup
            if not offer_backup(login.damaged):
                return False
            username, message = login.username.text(), "已从备份恢复：请重新登录"
        if not accepted:
            return False
        self.db = self.gate.db
        if login.opened is not None and login.opened.recovery_key:
            RecoveryKeyDialog(login.opened.recovery_key, converted=True).exec()
        ctx = AppContext(self.db, login.user)
        ctx.year = ctx.read(settings.current_year)
        full_check = first = not self.started
        if first:
            self.started = True
            daily = start_of_day(ctx)
            # SQLite: after the day's first backup; PostgreSQL (no backup here): at every start, it costs nothing
            full_check = (daily is not None and daily.taken is not None) or self.db.sqlite_path is None
        window = create_main_window(ctx)  # placed by views.window_state: its remembered geometry, or fitted
        window.logged_out.connect(self.switch)
        window.show()
        self.window = window
        if full_check:
            watch = IntegrityWatch(self.db, window)
            where = self.db.sqlite_path or shown_url(self.db.url)
            watch.finished.connect(lambda problem: warn_if_damaged(window, where, problem))
            watch.start()
        if first:  # the audit chain at the start (in the background: a few seconds on a county file)
            chain = ChainWatch(AppContext(self.db, login.user), window)
            chain.finished.connect(lambda result: warn_if_chain_broken(window, result))
            chain.start()
            window.chain_watch = chain
        return True

    def switch(self, message: str = "") -> None:
        """The window logged out: the log-in dialog again (the old window hidden meanwhile, so that the program
        does not end with it); 退出 there ends the program."""
        old = self.window
        old.hide()
        try:
            old.ctx.run(auth.log_out)
        except ServiceError:  # a disabled account cannot write its log-out; the refusal is already said
            pass
        name = old.ctx.user.username if message and old.ctx.user else ""
        signed_in = self.sign_in(name, message)
        old.close()
        old.deleteLater()
        if not signed_in:
            self.window = None
            self.app.quit()
