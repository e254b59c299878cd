"""注销/切换用户 and a disabled account's open window (issue 15): the log-in dialog comes back, with why."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog

from desktop import app as desktop_app
from desktop.services import audit, auth
from desktop.services.context import AppContext
from desktop.views.audit_page import AuditPage
from desktop.views.login import LoginDialog
from desktop.views.users_page import UsersPage
from tests.conftest import ADMIN_PASSWORD, CLERK_PASSWORD, TODAY, YEAR


@pytest.fixture
def logins(monkeypatch):
    """The log-in dialog, answered from a queue as a person would type: what it showed is kept in `shown`."""
    queue: list[tuple[str, str]] = []
    shown: list[tuple[str, str]] = []

    def exec_(self):
        shown.append((self.username.text(), self.error.text()))
        if not queue:
            self.reject()
            return self.result()
        name, password = queue.pop(0)
        self.username.setText(name)
        self.password.setText(password)
        self.try_login()
        if self.result() != QDialog.DialogCode.Accepted:
            self.reject()
        return self.result()
    monkeypatch.setattr(LoginDialog, "exec", exec_)
    monkeypatch.setattr(desktop_app, "start_of_day", lambda ctx: None)
    quits = []
    monkeypatch.setattr(QApplication, "quit", lambda *a: quits.append(True))
    return queue, shown, quits


def test_log_out_brings_the_log_in_back_and_another_user_takes_the_seat(qtbot, db, township, logins):
    queue, shown, quits = logins
    queue += [("admin", ADMIN_PASSWORD), ("clerk", CLERK_PASSWORD)]
    seat = desktop_app.Seat(QApplication.instance(), db)
    assert seat.sign_in()
    first = seat.window  # not given to qtbot: the seat deletes it once another user is in
    assert first.log_out_action.text() == "注销/切换用户…"
    assert first.log_out_action in first.menuBar().actions()[0].menu().actions()  # in the 文件 menu
    first.log_out_action.trigger()
    second = seat.window
    qtbot.addWidget(second)
    assert second is not first and not first.isVisible() and second.isVisible()
    assert second.ctx.user.username == "clerk" and second.page(UsersPage) is None
    assert shown == [("", ""), ("", "")] and quits == []
    admin = AppContext(db).run(auth.authenticate, "admin", ADMIN_PASSWORD)
    rows = [(r.user, r.action) for r in AppContext(db, admin).read(audit.recent)]
    assert rows[:4] == [("管理员", "登录"), ("村录入员", "登录"), ("管理员", "注销"), ("管理员", "登录")]  # names


def test_closing_the_log_in_after_log_out_ends_the_program(qtbot, db, township, logins):
    queue, shown, quits = logins
    queue.append(("admin", ADMIN_PASSWORD))
    seat = desktop_app.Seat(QApplication.instance(), db)
    assert seat.sign_in()
    seat.window.log_out()
    assert quits == [True] and seat.window is None


def test_a_disabled_users_open_window_stops_at_the_next_action_and_returns_to_log_in(qtbot, db, township, admin,
                                                                                      logins):
    queue, shown, quits = logins
    queue.append(("clerk", CLERK_PASSWORD))
    seat = desktop_app.Seat(QApplication.instance(), db)
    assert seat.sign_in()
    window = seat.window  # deleted by the seat when it logs out
    with db.session(admin) as s:  # the administrator disables the clerk while the clerk's window is open
        auth.set_user_active(s, window.ctx.user.id, False)
        s.commit()
    page = window.page(AuditPage)
    window.show_page("audit")
    queue.append(("clerk", CLERK_PASSWORD))  # the clerk tries again at the log-in that comes back
    with qtbot.waitSignal(window.logged_out, timeout=5000) as blocker:
        qtbot.mouseClick(page.refresh_button, Qt.MouseButton.LeftButton)
        assert "已被停用" in page.error.text()  # the action asked is refused, and the page says so
    assert "账号“clerk”已被停用" in blocker.args[0]
    assert shown[-1] == ("clerk", blocker.args[0])  # the log-in dialog says why it is back
    assert quits == [True] and not window.isVisible()  # the disabled clerk cannot log in again: the program ends


def test_a_disabled_users_save_is_refused_whatever_the_window_shows(db, township, admin, clerk):
    """The service decides: the clerk's context (as an open window holds it) cannot write once disabled."""
    from desktop.services import settings
    ctx = AppContext(db, clerk, year=YEAR, today=lambda: TODAY)
    told = []
    ctx.account_disabled = told.append
    with db.session(admin) as s:
        auth.set_user_active(s, clerk.id, False)
        s.commit()
    with pytest.raises(auth.access.AccountDisabled):
        ctx.read(settings.current_year)
    assert told and "已被停用" in told[0]


def test_user_management_shows_a_lockout_and_lifts_it(qtbot, db, township, admin, monkeypatch):
    from datetime import timedelta

    from desktop.models.base import utcnow
    now = utcnow()
    for i in range(auth.LOCK_AFTER):
        try:
            AppContext(db).run(auth.authenticate, "clerk", f"Wrong-{i}", now=now + timedelta(seconds=20 * i))
        except auth.AuthError:
            pass
    infos = []
    monkeypatch.setattr("desktop.views.users_page.show_info", lambda _parent, text: infos.append(text))
    page = UsersPage(AppContext(db, admin, year=YEAR, today=lambda: TODAY))
    qtbot.addWidget(page)
    page.select_username("clerk")
    row = page.model.rows[page.table.currentIndex().row()] if page.table.currentIndex().isValid() else page.selected()
    assert row.username == "clerk" and row.locked_minutes > 0
    state = page.model.index(page.model.rows.index(row), page.model.COL_STATE).data()
    assert state.startswith("启用，登录已锁定（还剩")
    assert page.unlock_button.isEnabled()
    qtbot.mouseClick(page.unlock_button, Qt.MouseButton.LeftButton)
    assert infos and "已解除" in infos[0]
    assert page.selected().locked_minutes == 0 and not page.unlock_button.isEnabled()
    assert isinstance(AppContext(db).run(auth.authenticate, "clerk", CLERK_PASSWORD), auth.CurrentUser)


def test_forgot_password_is_offered_only_where_a_recovery_key_exists(qtbot, db, township):
    """An encrypted file has a recovery key (忘记密码…); a county server's database has none, so no such button."""
    from desktop.services.opening import Gate
    dialog = LoginDialog(Gate(db=db))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.forgot.isVisible() == (db.sqlite_path is not None)
    server = Gate(db=db)
    server.path = None  # as Gate makes it for a PostgreSQL database (no file)
    dialog = LoginDialog(server)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.forgot.isVisible()


def test_the_log_check_of_an_account_disabled_meanwhile_says_nothing(qtbot, db, township, admin, clerk):
    """The audit chain is checked on a thread after the log-in (ChainWatch). If the account is disabled before that
    check reads the log, it ends without a result: no box saying the log could not be checked (a modal box over the
    window that is about to return to the log-in); the window's next action says why."""
    ctx = AppContext(db, clerk, year=YEAR, today=lambda: TODAY)
    with db.session(admin) as s:
        auth.set_user_active(s, clerk.id, False)
        s.commit()
    watch = desktop_app.ChainWatch(ctx)
    got = []
    watch.finished.connect(got.append)
    watch._run()  # (the thread's work, here)
    assert got == []
    with db.session(admin) as s:
        auth.set_user_active(s, clerk.id, True)
        s.commit()
    watch._run()
    assert len(got) == 1 and got[0].ok  # (an account that may read the log gets its report)
