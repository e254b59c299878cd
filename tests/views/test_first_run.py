"""First-run wizard (SPEC §5: the monitoring line is asked for, never defaulted; §12: an administrator)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QLabel, QWizard

from desktop.services import auth, regions, settings, setup
from desktop.services.context import AppContext
from desktop.views.first_run import FirstRunWizard
from tests.conftest import login


def type_text(qtbot, widget, text: str) -> None:
    """Type like a person: ASCII as key clicks, Chinese as an input-method commit (QTest cannot click it)."""
    if text.isascii():
        qtbot.keyClicks(widget, text)
    else:
        event = QInputMethodEvent()
        event.setCommitString(text)
        QApplication.sendEvent(widget, event)


@pytest.fixture
def wizard(qtbot, db):
    w = FirstRunWizard(AppContext(db, bootstrap=True), today=lambda: date(2024, 11, 20))
    qtbot.addWidget(w)
    w.show()
    return w


def _next(wizard) -> None:
    button = wizard.button(QWizard.WizardButton.NextButton)
    assert button.isEnabled()
    button.click()


def _fill_year(qtbot, wizard, line: str) -> None:
    qtbot.keyClicks(wizard.year_page.line, line)


def _fill_admin(qtbot, wizard, password: str = "Jixia-2024x", confirm: str | None = None) -> None:
    page = wizard.admin_page
    page.username.clear()
    qtbot.keyClicks(page.username, "zhang")
    type_text(qtbot, page.display_name, "张管理")
    qtbot.keyClicks(page.password, password)
    qtbot.keyClicks(page.confirm, password if confirm is None else confirm)


def test_wizard_on_empty_database_creates_township_year_settings_and_admin(qtbot, wizard, db):
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    assert wizard.currentPage() is wizard.township_page
    assert not next_button.isEnabled()  # the township name is required
    type_text(qtbot, wizard.township_page.township, "稷下街道")
    type_text(qtbot, wizard.township_page.county, "临淄区")
    type_text(qtbot, wizard.township_page.province, "山东省")
    _next(wizard)

    assert wizard.currentPage() is wizard.year_page
    assert wizard.year_page.year.value() == 2024  # from the `today` given
    assert wizard.year_page.line.text() == ""  # no built-in monitoring line
    _fill_year(qtbot, wizard, "7100")
    _next(wizard)

    assert wizard.currentPage() is wizard.admin_page
    _fill_admin(qtbot, wizard)
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    assert finish.isEnabled()
    qtbot.mouseClick(finish, Qt.MouseButton.LeftButton)

    assert wizard.result() == QWizard.DialogCode.Accepted
    assert wizard.admin_username == "zhang"
    user = login(db, "zhang", "Jixia-2024x")
    ctx = AppContext(db, user)
    t = ctx.read(regions.township)
    assert (t.name, t.county, t.province, t.city) == ("稷下街道", "临淄区", "山东省", None)
    assert ctx.read(settings.get_year, 2024).monitoring_line == Decimal("7100.00")
    assert ctx.read(settings.current_year) == 2024
    assert not ctx.read(setup.needs_first_run)
    assert (user.role, user.display_name) == ("admin", "张管理")


def test_wizard_refuses_an_empty_or_non_positive_monitoring_line(qtbot, wizard, db):
    type_text(qtbot, wizard.township_page.township, "稷下街道")
    _next(wizard)
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    page = wizard.year_page
    assert not next_button.isEnabled()
    assert not page.error.isVisible()  # an untouched page does not open in red

    qtbot.keyClicks(page.line, "0")
    assert not next_button.isEnabled()
    assert "必须大于 0" in page.error.text() and page.error.isVisible()

    page.line.selectAll()
    qtbot.keyClick(page.line, Qt.Key.Key_Backspace)
    assert not next_button.isEnabled()
    assert "请填写监测线" in page.error.text()

    qtbot.keyClicks(page.line, "abc")
    assert not next_button.isEnabled()
    assert "不是有效的金额" in page.error.text()

    page.line.clear()
    qtbot.keyClicks(page.line, "6600")
    assert next_button.isEnabled()
    assert not page.error.isVisible()
    assert AppContext(db, bootstrap=True).read(settings.years) == []  # nothing written before 完成


def test_wizard_checks_the_division_code_and_passwords(qtbot, wizard):
    page = wizard.township_page
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    type_text(qtbot, page.township, "稷下街道")
    qtbot.keyClicks(page.code, "3703")
    assert not next_button.isEnabled()
    assert "12 位数字" in page.error.text()
    qtbot.keyClicks(page.code, "05001000")
    assert next_button.isEnabled()
    _next(wizard)
    _fill_year(qtbot, wizard, "7100")
    _next(wizard)

    finish = wizard.button(QWizard.WizardButton.FinishButton)
    _fill_admin(qtbot, wizard, password="abc", confirm="abc")
    assert not finish.isEnabled()
    assert "至少" in wizard.admin_page.error.text()
    wizard.admin_page.password.clear()
    qtbot.keyClicks(wizard.admin_page.password, "Jixia-2024x")
    assert not finish.isEnabled()
    assert "不一致" in wizard.admin_page.error.text()


def test_wizard_skips_the_township_page_when_only_the_user_is_missing(qtbot, db):
    with db.session(bootstrap="tester") as s:
        regions.init_township(s, "稷下街道")
        s.commit()
    wizard = FirstRunWizard(AppContext(db, bootstrap=True), today=lambda: date(2025, 3, 1))
    qtbot.addWidget(wizard)
    wizard.show()
    assert wizard.currentPage() is wizard.year_page
    assert wizard.year_page.year.value() == 2025
    assert "稷下街道" in wizard.year_page.subTitle()
    _fill_year(qtbot, wizard, "7300")
    _next(wizard)
    _fill_admin(qtbot, wizard)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert wizard.result() == QWizard.DialogCode.Accepted
    ctx = AppContext(db, login(db, "zhang", "Jixia-2024x"))
    assert ctx.read(auth.user_count) == 1
    assert ctx.read(settings.get_year, 2025).monitoring_line == Decimal("7300.00")


def test_wizard_shows_a_refused_finish_inline_and_stays_open(qtbot, wizard, db, monkeypatch):
    def refuse(session, fr):
        raise auth.AuthError("用户名“zhang”已存在")

    monkeypatch.setattr(setup, "complete_first_run", refuse)
    type_text(qtbot, wizard.township_page.township, "稷下街道")
    _next(wizard)
    _fill_year(qtbot, wizard, "7100")
    _next(wizard)
    _fill_admin(qtbot, wizard)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert wizard.isVisible()
    assert wizard.result() != QWizard.DialogCode.Accepted
    assert "已存在" in wizard.admin_page.error.text()


def test_a_new_encrypted_database_shows_its_recovery_key_once_saved(qtbot, tmp_path):
    """The last page: the recovery key of the new database, 完成 only once it is noted; the administrator's password
    (saved by 保存) opens the database's key."""
    from desktop.services import keys
    from desktop.services.db import init_db, sqlite_url
    new = init_db(sqlite_url(tmp_path / "new.sqlite3"))
    w = FirstRunWizard(AppContext(new, bootstrap=True), today=lambda: date(2024, 11, 20),
                       recovery_key=new.recovery_key)
    qtbot.addWidget(w)
    w.show()
    type_text(qtbot, w.township_page.township, "稷下街道")
    _next(w)
    _fill_year(qtbot, w, "7100")
    _next(w)
    _fill_admin(qtbot, w)
    commit = w.button(QWizard.WizardButton.CommitButton)
    assert commit.isVisible() and commit.text() == "保存 >"
    commit.click()
    assert w.currentPage() is w.recovery_page and w.admin_username == "zhang"  # saved already
    assert new.recovery_key in [label.text() for label in w.recovery_page.findChildren(QLabel)]
    finish = w.button(QWizard.WizardButton.FinishButton)
    assert not finish.isEnabled()
    w.recovery_page.confirm.setChecked(True)
    assert finish.isEnabled()
    finish.click()
    assert w.result() == QWizard.DialogCode.Accepted
    assert keys.unlock(new.sqlite_path, "zhang", "Jixia-2024x") == new.key
    assert keys.unlock_recovery(new.sqlite_path, new.recovery_key) == new.key
    new.dispose()
