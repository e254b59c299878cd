"""Issue 19, problem 11: no internal code (MEDICAL_INSURANCE_MISSING …) is shown anywhere in the window: every page
is opened on data that has findings, and every table cell, header, label and combo entry is read; 出生日期 shows
beside the ID number in the member form, derived from it."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QLabel

from desktop import app as desktop_app
from desktop.services import register
from desktop.services.checks import CODES
from desktop.services.idnumber import make_id
from desktop.views.member_dialogs import MemberForm
from desktop.views.operations import operations

from ..conftest import TODAY, family


def _texts(page) -> list[str]:
    out = []
    for label in page.findChildren(QLabel):
        if label.isVisible():
            out.append(label.text())
    for combo in page.findChildren(QComboBox):
        out += [combo.itemText(i) for i in range(combo.count())]
    for view in page.findChildren(QAbstractItemView):
        model = view.model()
        if model is None or not view.isVisible():
            continue
        root = QModelIndex()
        try:
            columns = model.columnCount(root)
        except TypeError:  # a Qt-internal model (a completer's) whose columnCount is private
            continue
        for c in range(columns):
            out.append(str(model.headerData(c, Qt.Orientation.Horizontal) or ""))
        for r in range(min(model.rowCount(root), 200)):
            for c in range(columns):
                for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                    out.append(str(model.index(r, c).data(role) or ""))
    return out


def test_no_page_shows_an_internal_code(qtbot, ctx, township):
    data, members = family(township["villages"]["东村"], no="H1")
    members[1].a17_medical = False  # MEDICAL_INSURANCE_MISSING
    members[2].work_months = None
    ctx.run(register.save_household, data, members, TODAY)
    window = desktop_app.create_main_window(ctx)
    qtbot.addWidget(window)
    window.resize(1366, 728)
    window.show()
    seen = []
    for key in window.pages:
        page = window.show_page(key)
        assert operations().wait(60000)
        if key == "quality":
            page.run_checks()
            assert operations().wait(60000)
        qtbot.wait(50)
        seen.append(key)
        shown = "\n".join(_texts(page))
        leaked = [c for c in CODES if c in shown]
        assert not leaked, f"{key}: {leaked}"
        if key == "quality":  # the check reads real findings, shown by their titles
            assert "李四" in shown and "医疗保险" in shown
    assert "quality" in seen and "register" in seen


def test_the_member_form_shows_the_birth_date_the_id_says(qtbot):
    form = MemberForm()
    qtbot.addWidget(form)
    number = make_id("370305", date(1988, 2, 29), 3, "2")
    qtbot.keyClicks(form.widgets["id_number"], number)
    assert form.birth.text() == "1988-02-29"
    assert form.widgets["sex"].value() == "2"  # and the sex it says
    form.widgets["id_number"].clear()
    qtbot.keyClicks(form.widgets["id_number"], number[:10])
    assert "身份证号填写完整后显示" in form.birth.text()
