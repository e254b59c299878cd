"""Issue 18: every list that exports does it for the whole township or for one village (the 行政村 column)."""

from __future__ import annotations

from openpyxl import load_workbook

from desktop.services import register
from desktop.views.models.household_table import COL_VILLAGE
from desktop.views.register_page import RegisterPage
from desktop.views.widgets.list_actions import villages_of

from ..conftest import TODAY, family


def test_the_register_exports_one_village_and_the_rows_reopen(qtbot, ctx, township, tmp_path):
    east, west = township["villages"]["东村"], township["villages"]["西村"]
    for no, village, serial in (("E1", east, 1), ("E2", east, 10), ("W1", west, 20)):
        ctx.run(register.save_household, *family(village, no=no, serial=serial), TODAY)
    page = RegisterPage(ctx)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitExposed(page)
    assert villages_of(page.table) == ["东村", "西村"]
    menu = page.list_actions.menu_for(page.model.index(0, 0))
    submenus = {a.text(): a.menu() for a in menu.actions() if a.menu() is not None}
    assert set(submenus) == {"按村导出到 Excel", "按村打印（PDF）"}
    assert [a.text() for a in submenus["按村导出到 Excel"].actions()] == ["东村", "西村"]

    out = page.list_actions.export_xlsx(tmp_path / "east.xlsx", village="东村")
    ws = load_workbook(out).active
    assert ws.cell(row=1, column=1).value == "农户名单（东村）"
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=4)]
    shown = [page.model.index(r, 0).data() for r in range(page.model.rowCount())
             if page.model.index(r, COL_VILLAGE).data() == "东村"]
    assert [r[0] for r in rows] == shown == ["E1", "E2"]
    assert {r[COL_VILLAGE] for r in rows} == {"东村"}
    whole = load_workbook(page.list_actions.export_xlsx(tmp_path / "all.xlsx")).active
    assert whole.max_row - 3 == 3
    pdf = page.list_actions.export_pdf(tmp_path / "west.pdf", village="西村")
    assert pdf.stat().st_size > 1000
