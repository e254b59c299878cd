"""年度设置, 村组管理, 用户管理, 操作日志 pages (SPEC §2 regions, §5 settings per year, §12 users and audit)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QDialog

from desktop.services import audit, auth, regions, settings
from desktop.services.context import AppContext
from desktop.views import audit_page, settings_page, users_page, villages_page
from desktop.views.audit_page import AuditModel, AuditPage
from desktop.views.settings_page import SettingsPage
from desktop.views.users_page import UsersPage
from desktop.views.villages_page import VillagesPage

from ..conftest import TODAY, YEAR


def type_text(qtbot, widget, text: str) -> None:
    """Type like a person: ASCII as key clicks, Chinese as an input-method commit (QTest cannot click it)."""
    if text.isascii():
        qtbot.keyClicks(widget, text)
    else:
        event = QInputMethodEvent()
        event.setCommitString(text)
        QApplication.sendEvent(widget, event)


def _ctx_for(db, username: str, password: str) -> AppContext:
    with db.session() as s:
        user = auth.authenticate(s, username, password)
        s.commit()
    return AppContext(db=db, user=user, year=YEAR, today=lambda: TODAY)


@pytest.fixture
def clerk_ctx(db, township):
    return _ctx_for(db, "clerk", "Xc-cun-2024")


@pytest.fixture
def auditor_ctx(db, township, admin):
    with db.session(admin) as s:
        auth.create_user(s, "shen", "审核员", "auditor", "Audit-or-2024")
        s.commit()
    return _ctx_for(db, "shen", "Audit-or-2024")


def _page(qtbot, cls, ctx):
    page = cls(ctx)
    qtbot.addWidget(page)
    return page


# ---------------------------------------------------------------- 年度设置

def test_settings_page_saves_a_new_monitoring_line_and_it_is_audited(qtbot, ctx):
    page = _page(qtbot, SettingsPage, ctx)
    assert page.year_combo.currentData() == YEAR
    assert page.line.text() == "7100"
    assert not page.save_button.isEnabled()  # nothing changed yet
    page.line.selectAll()
    qtbot.keyClicks(page.line, "7300")
    assert page.save_button.isEnabled()
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)

    assert page.error.isHidden()
    assert ctx.read(settings.get_year, YEAR).monitoring_line == Decimal("7300.00")
    entry = next(e for e in ctx.read(audit.recent) if e.field.startswith("监测线"))
    assert (entry.user, entry.action, entry.old, entry.new) == ("管理员", "修改", "7100.00", "7300.00")
    assert entry.what.startswith("年度设置")
    assert "已保存" in page.notice.text()


def test_settings_page_keeps_save_and_its_message_in_view_on_a_small_screen(qtbot, ctx):
    """At 1366×768 the form runs past the window's bottom: it scrolls, while 保存, 撤销修改 and the error stay in
    view below it (scrolled to the top, nothing of them is clipped)."""
    from PySide6.QtWidgets import QScrollArea
    page = _page(qtbot, SettingsPage, ctx)
    page.resize(1196, 640)  # the page's share of a 1366×728 window beside the navigation list
    page.show()
    qtbot.waitExposed(page)
    scroll = page.findChild(QScrollArea)
    assert scroll.verticalScrollBar().maximum() > 0  # the form does not fit: it scrolls
    page.line.selectAll()
    qtbot.keyClicks(page.line, "-5")
    page.save()
    for widget in (page.save_button, page.revert_button, page.error):
        assert not scroll.isAncestorOf(widget)
        assert widget.visibleRegion().boundingRect().size() == widget.size(), widget
    assert "监测线必须大于 0" in page.error.text()


def test_settings_page_shows_invalid_amounts_inline_and_saves_nothing(qtbot, ctx):
    page = _page(qtbot, SettingsPage, ctx)
    page.line.selectAll()
    qtbot.keyClicks(page.line, "-5")
    type_text(qtbot, page.rural_average, "一万")
    page.save()
    assert not page.error.isHidden()
    assert "监测线必须大于 0" in page.error.text()
    assert "当地农村人均纯收入“一万”不是有效的金额" in page.error.text()
    assert ctx.read(settings.get_year, YEAR).monitoring_line == Decimal("7100.00")


def test_settings_page_refuses_a_period_that_ends_before_it_starts(qtbot, ctx):
    page = _page(qtbot, SettingsPage, ctx)
    page.period_end.setDate(page.period_start.date().addDays(-1))
    assert not page.save()
    assert "统计期起应早于统计期止" in page.error.text()


def test_settings_page_edits_optional_amounts_and_dates(qtbot, ctx):
    page = _page(qtbot, SettingsPage, ctx)
    qtbot.keyClicks(page.rural_average, "15000")
    qtbot.keyClicks(page.county_income, "21000.5")
    page.status_point.setDate(page.status_point.date().addDays(-30))
    assert page.status_point.displayFormat() == "yyyy-MM-dd"
    assert page.save()
    data = ctx.read(settings.get_year, YEAR)
    assert (data.rural_average, data.county_income) == (Decimal("15000.00"), Decimal("21000.50"))
    assert data.status_time_point == date(YEAR, 8, 31)
    assert page.county_income.text() == "21000.50"


def test_settings_page_adds_a_year_that_needs_its_own_monitoring_line(qtbot, ctx):
    page = _page(qtbot, SettingsPage, ctx)
    page.add_year(2025)
    assert page.year_combo.currentData() == 2025
    assert "未保存" in page.year_combo.currentText()
    assert page.line.text() == ""  # no default is trusted
    assert page.period_start.date().toString("yyyy-MM-dd") == "2024-10-01"
    assert not page.save()
    assert "请填写监测线" in page.error.text()
    assert ctx.read(settings.years) == [YEAR]
    qtbot.keyClicks(page.line, "7400")
    assert page.save()
    assert ctx.read(settings.years) == [YEAR, 2025]
    with qtbot.waitSignal(page.current_year_changed) as signal:
        qtbot.mouseClick(page.current_button, Qt.MouseButton.LeftButton)
    assert signal.args == [2025]
    assert ctx.read(settings.current_year) == 2025
    assert "当前年度" in page.year_combo.currentText()


def test_settings_page_asks_before_discarding_edits_when_switching_year(qtbot, ctx, monkeypatch):
    page = _page(qtbot, SettingsPage, ctx)
    page.add_year(2025)
    qtbot.keyClicks(page.line, "7400")
    asked = []
    monkeypatch.setattr(settings_page, "confirm", lambda parent, text: asked.append(text) or False)
    page.year_combo.setCurrentIndex(page.year_combo.findData(YEAR))
    assert asked and "尚未保存" in asked[0]
    assert page.year_combo.currentData() == 2025 and page.line.text() == "7400"


def test_settings_page_is_read_only_for_a_clerk_and_editable_for_an_auditor(qtbot, clerk_ctx, auditor_ctx):
    page = _page(qtbot, SettingsPage, clerk_ctx)
    assert page.line.isReadOnly() and page.period_start.isReadOnly()
    assert page.save_button.isHidden() and page.current_button.isHidden() and page.add_year_button.isHidden()
    assert not page.save()
    assert not page.read_only_note.isHidden()

    page = _page(qtbot, SettingsPage, auditor_ctx)
    assert not page.line.isReadOnly() and not page.save_button.isHidden()


# ---------------------------------------------------------------- 村组管理

def _fake_exec(fill):
    def run(dialog):
        fill(dialog)
        dialog.buttons.accepted.emit()
        return dialog.result()
    return run


def _tree_names(page: VillagesPage) -> list[str]:
    return [page.tree.topLevelItem(i).text(0) for i in range(page.tree.topLevelItemCount())]


def test_villages_page_shows_the_tree_with_counts(qtbot, ctx):
    page = _page(qtbot, VillagesPage, ctx)
    assert page.tree.headerItem().text(2) == "农村户籍人口"
    assert _tree_names(page) == sorted(["东村", "西村"])
    east = next(page.tree.topLevelItem(i) for i in range(2) if page.tree.topLevelItem(i).text(0) == "东村")
    assert east.text(2) == "1200" and east.text(3) == "0"
    assert [east.child(i).text(0) for i in range(east.childCount())] == sorted(["一组", "二组"])
    assert "共 2 个行政村，3 个村民小组" in page.summary.text()


def test_villages_page_adds_a_village(qtbot, ctx, monkeypatch):
    def fill(d):
        type_text(qtbot, d.name, "南村")
        qtbot.keyClicks(d.code, "370305001003")
        qtbot.keyClicks(d.population, "650")

    monkeypatch.setattr(villages_page.RegionDialog, "exec", _fake_exec(fill))
    page = _page(qtbot, VillagesPage, ctx)
    qtbot.mouseClick(page.add_village_button, Qt.MouseButton.LeftButton)
    assert "南村" in _tree_names(page)
    assert page.tree.currentItem().text(0) == "南村"
    node = next(v for v in ctx.read(regions.tree) if v.name == "南村")
    assert (node.code, node.rural_population) == ("370305001003", 650)


def test_villages_page_shows_a_refusal_inline(qtbot, ctx, monkeypatch):
    monkeypatch.setattr(villages_page.RegionDialog, "exec",
                        _fake_exec(lambda d: type_text(qtbot, d.name, "东村")))
    page = _page(qtbot, VillagesPage, ctx)
    assert page.add_village() is None
    assert not page.error.isHidden() and "已存在" in page.error.text()


def test_villages_page_dialog_checks_the_code_before_closing(qtbot):
    dialog = villages_page.RegionDialog("新增行政村", None, village=True)
    qtbot.addWidget(dialog)
    type_text(qtbot, dialog.name, "南村")
    qtbot.keyClicks(dialog.code, "3703")
    dialog.buttons.accepted.emit()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "12 位数字" in dialog.error.text()


def test_population_typed_with_a_thousands_separator_is_accepted(qtbot, ctx, monkeypatch):
    """Issue 19 problem 3: 农村户籍人口 "1,250" used to close the dialog and create nothing, silently."""
    def fill(d):
        type_text(qtbot, d.name, "南村")
        qtbot.keyClicks(d.population, "1,250")

    monkeypatch.setattr(villages_page.RegionDialog, "exec", _fake_exec(fill))
    page = _page(qtbot, VillagesPage, ctx)
    qtbot.mouseClick(page.add_village_button, Qt.MouseButton.LeftButton)
    node = next(v for v in ctx.read(regions.tree) if v.name == "南村")
    assert node.rural_population == 1250


@pytest.mark.parametrize("typed", ["1250.5", "一千", "12a0", "-5"])
def test_population_that_is_no_whole_number_is_refused_with_a_message(qtbot, typed):
    dialog = villages_page.RegionDialog("新增行政村", None, village=True)
    qtbot.addWidget(dialog)
    type_text(qtbot, dialog.name, "南村")
    type_text(qtbot, dialog.population, typed)
    dialog.buttons.accepted.emit()
    assert dialog.result() != QDialog.DialogCode.Accepted  # the dialog stays open …
    assert f"农村户籍人口“{typed}”不是有效的人数" in dialog.error.text() and not dialog.error.isHidden()  # … says why


def test_villages_page_adds_a_group_and_edits_a_village(qtbot, ctx, township, monkeypatch):
    page = _page(qtbot, VillagesPage, ctx)
    page.refresh(select=township["villages"]["西村"])
    monkeypatch.setattr(villages_page.RegionDialog, "exec", _fake_exec(lambda d: type_text(qtbot, d.name, "二组")))
    group_id = page.add_group()
    assert group_id is not None and page.selected_id() == group_id

    def rename(d):
        d.name.clear()
        type_text(qtbot, d.name, "西河村")
        d.population.clear()
        qtbot.keyClicks(d.population, "900")

    monkeypatch.setattr(villages_page.RegionDialog, "exec", _fake_exec(rename))
    page.refresh(select=township["villages"]["西村"])
    assert page.edit_selected()
    west = next(v for v in ctx.read(regions.tree) if v.id == township["villages"]["西村"])
    assert (west.name, west.rural_population, [g.name for g in west.groups]) == ("西河村", 900, ["一组", "二组"])


def test_villages_page_is_read_only_for_a_clerk_and_shows_only_their_villages(qtbot, clerk_ctx):
    page = _page(qtbot, VillagesPage, clerk_ctx)
    assert page.add_village_button.isHidden() and page.edit_button.isHidden()
    assert _tree_names(page) == ["西村"]


# ---------------------------------------------------------------- 用户管理

def test_users_model_passes_the_model_tester(qtmodeltester, ctx):
    model = users_page.UsersModel()
    model.set_rows(ctx.read(auth.list_users), {})
    assert model.rowCount() == 2
    qtmodeltester.check(model)


def test_users_page_adds_a_clerk_with_villages(qtbot, ctx, township, monkeypatch):
    def fill(d):
        qtbot.keyClicks(d.username, "wang")
        type_text(qtbot, d.display_name, "王录入")
        d.role.setCurrentIndex(d.role.findData("clerk"))
        for i in range(d.villages.count()):
            if d.villages.item(i).text() == "东村":
                d.villages.item(i).setCheckState(Qt.CheckState.Checked)
        qtbot.keyClicks(d.password, "Cun-gan-2024x")
        qtbot.keyClicks(d.confirm, "Cun-gan-2024x")
        d.save()
        return d.result()

    monkeypatch.setattr(users_page.AddUserDialog, "exec", fill)
    page = _page(qtbot, UsersPage, ctx)
    page.add_user()
    assert page.selected().username == "wang"
    wang = next(u for u in ctx.read(auth.list_users) if u.username == "wang")
    assert (wang.role, wang.village_ids) == ("clerk", (township["villages"]["东村"],))
    index = page.model.index(page.model.rows.index(page.selected()), users_page.UsersModel.COL_VILLAGES)
    assert page.model.data(index) == "东村"


def test_add_user_dialog_hides_villages_for_other_roles_and_shows_refusals(qtbot, ctx):
    dialog = users_page.AddUserDialog(ctx, {1: "东村"})
    qtbot.addWidget(dialog)
    dialog.role.setCurrentIndex(dialog.role.findData("auditor"))
    assert dialog.villages.isHidden()
    dialog.role.setCurrentIndex(dialog.role.findData("clerk"))
    assert not dialog.villages.isHidden()
    qtbot.keyClicks(dialog.username, "li")
    qtbot.keyClicks(dialog.password, "Lee-cun-2024")
    qtbot.keyClicks(dialog.confirm, "Lee-cun-2024")
    dialog.save()
    assert "至少要指定一个行政村" in dialog.error.text()
    assert dialog.result() != QDialog.DialogCode.Accepted


def test_users_page_disables_a_user_but_not_oneself(qtbot, ctx, monkeypatch):
    monkeypatch.setattr(users_page, "confirm", lambda parent, text: True)
    page = _page(qtbot, UsersPage, ctx)
    page.select_username("admin")
    page.toggle_active()
    assert "不能停用当前登录的用户" in page.error.text()
    page.select_username("clerk")
    assert page.active_button.text() == "停用"
    page.toggle_active()
    assert not next(u for u in ctx.read(auth.list_users) if u.username == "clerk").active
    assert page.active_button.text() == "启用"
    with pytest.raises(auth.AuthError):
        ctx.run(auth.authenticate, "clerk", "Xc-cun-2024")


def test_users_page_resets_a_password(qtbot, ctx, monkeypatch):
    def fill(d):
        qtbot.keyClicks(d.password, "Fresh-cun-99")
        qtbot.keyClicks(d.confirm, "Fresh-cun-99")
        d.save()
        return d.result()

    monkeypatch.setattr(users_page.PasswordDialog, "exec", fill)
    monkeypatch.setattr(users_page, "show_info", lambda *a, **k: None)
    page = _page(qtbot, UsersPage, ctx)
    page.select_username("clerk")
    page.reset_password()
    assert ctx.run(auth.authenticate, "clerk", "Fresh-cun-99").username == "clerk"


# ---------------------------------------------------------------- 操作日志

def test_audit_model_passes_the_model_tester(qtmodeltester, ctx):
    model = AuditModel()
    model.set_rows(ctx.read(audit.recent))
    assert model.rowCount() > 0
    qtmodeltester.check(model)


def test_audit_page_shows_entries_newest_first_in_beijing_time_and_pages(qtbot, ctx, monkeypatch):
    monkeypatch.setattr(audit_page, "PAGE_SIZE", 3)
    ctx.run(settings.set_year, YEAR, monitoring_line="7200")
    total = len(ctx.read(audit.recent, 10_000))
    assert total > 6
    page = _page(qtbot, AuditPage, ctx)
    model = page.model
    assert model.headerData(0, Qt.Orientation.Horizontal) == "时间（北京时间）"
    assert model.rowCount() == 3
    first = [model.data(model.index(0, c)) for c in range(model.columnCount())]
    assert first[1:] == ["管理员", "修改", f"年度设置 {YEAR} 年", "监测线（元/人·年）", "7100.00", "7200.00"]
    assert len(first[0]) == 19 and first[0][4] == "-"  # yyyy-MM-dd HH:mm:ss
    assert page.more_button.isEnabled()
    qtbot.mouseClick(page.more_button, Qt.MouseButton.LeftButton)
    assert model.rowCount() == 6
    while page.more_button.isEnabled():
        page.load_more()
    assert model.rowCount() == total
    assert "已全部显示" in page.count_label.text()
