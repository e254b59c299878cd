"""预警中心 (SPEC §6.2, §7): counts per kind and colour, villages over 2 %, the rows, and a
double-click that opens the case (or the household)."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt

from desktop.services import regions, register, warnings, workflow
from desktop.views.models.warning_table import (
    COL_DAYS,
    COL_DUE,
    COL_KIND,
    COL_NO,
    V_FLAGGED,
    V_NAME,
    V_RATIO,
    VillageTableModel,
    WarningTableModel,
)
from desktop.views.operations import operations
from desktop.views.warnings_page import WarningsPage

from ..conftest import TODAY, YEAR, family
from .test_cases_page import walk_identify_by_services

RED = "#c62828"


@pytest.fixture
def setup(ctx, township):
    """东村: H1 monitored since 2024-04-08 (黄: 6–12 months; no measures: plan overdue), population shrunk to 100 (3 %);
    西村: H2 with an identification opened on 2024-11-10 whose 入户核实 was due 11-13."""
    data, members = family(township["villages"]["东村"], no="H1")
    data.a27_risk_types = ["01"]
    h1 = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    walk_identify_by_services(ctx, h1, date(2024, 4, 1))
    ctx.run(regions.update_region, township["villages"]["东村"], rural_population=100)
    data, members = family(township["villages"]["西村"], no="H2", serial=11)
    h2 = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    clue = ctx.run(workflow.record_clue, "01", date(2024, 11, 10), household_id=h2, as_of=TODAY)
    case = ctx.run(workflow.open_identification, clue, user=ctx.user, as_of=TODAY)
    return {"h1": h1, "h2": h2, "case": case}


@pytest.fixture
def page(qtbot, ctx, setup):
    p = WarningsPage(ctx)
    qtbot.addWidget(p)
    p.resize(1300, 800)
    p.show()  # shown for the first time: the dashboard is computed (off the GUI thread)
    qtbot.waitExposed(p)
    assert operations().wait()
    return p


def test_counts_tiles_and_colours(page, ctx, setup):
    assert page.dashboard is not None and page.dashboard.as_of == TODAY
    counts = ctx.read(warnings.dashboard, YEAR, TODAY).counts
    assert counts["overdue"] == 1 and counts["plan_overdue"] == 1 and counts["colour"] == 1
    for kind, tile in page.tiles.items():
        assert f">{counts.get(kind, 0)}<" in tile.count.text(), kind
    assert RED in page.tiles["overdue"].count.text()
    assert ">1<" in page.colour_tiles["黄"].count.text() and ">0<" in page.colour_tiles["红"].count.text()
    assert ">0<" in page.colour_tiles["蓝"].count.text()
    assert "2024 年度，截至 2024-11-20" in page.title.text()
    assert page.summary.text() == f"共 {sum(counts.values())} 条预警"


def test_overdue_step_is_listed_in_red_with_its_days(page, setup):
    page.set_kind("overdue")
    assert page.proxy.rowCount() == 1
    index = page.proxy.index(0, COL_KIND)
    row = index.data(Qt.ItemDataRole.UserRole)
    assert row.case_id == setup["case"] and row.household_no == "H2"
    assert page.proxy.index(0, COL_KIND).data() == "逾期步骤"
    assert page.proxy.index(0, COL_DUE).data() == "2024-11-13"
    assert page.proxy.index(0, COL_DAYS).data() == "逾期 7 天"
    assert page.proxy.index(0, COL_DAYS).data(Qt.ItemDataRole.ForegroundRole).color().name() == RED
    assert page.shown_label.text() == "显示 1 条，1 户"
    assert page.kind_combo.currentText() == "逾期步骤（1）"


def test_village_over_two_percent_is_flagged(page, setup):
    rows = {page.villages.index(r, V_NAME).data(): r for r in range(page.villages.rowCount())}
    east = rows["东村"]
    assert page.villages.index(east, V_RATIO).data() == "3.00%"
    assert page.villages.index(east, V_FLAGGED).data() == "是"
    assert page.villages.index(east, V_RATIO).data(Qt.ItemDataRole.ForegroundRole).color().name() == RED
    assert page.villages.index(rows["西村"], V_RATIO).data() == "0.00%"
    assert "1 个村超过 2%" in page.flagged.text() and "东村 3.00%" in page.flagged.toolTip()
    # Flagged villages sort first (ratio, descending).
    assert page.village_proxy.index(0, V_NAME).data() == "东村"


def double_click(qtbot, table, index) -> None:
    """Press, then double-click (a view emits doubleClicked for the index it saw pressed)."""
    qtbot.waitUntil(lambda: not table.visualRect(index).isEmpty(), timeout=3000)
    pos = table.visualRect(index).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_double_click_opens_the_case_or_the_household(qtbot, page, setup):
    page.set_kind("overdue")
    with qtbot.waitSignal(page.open_case, timeout=3000) as blocker:
        double_click(qtbot, page.table, page.proxy.index(0, COL_NO))
    assert blocker.args == [setup["case"]]
    page.set_kind("plan_overdue")  # no case: the household opens
    with qtbot.waitSignal(page.open_household, timeout=3000) as blocker:
        double_click(qtbot, page.table, page.proxy.index(0, COL_NO))
    assert blocker.args == [setup["h1"]]


def test_refresh_follows_changes(qtbot, page, ctx, setup):
    ctx.run(workflow.complete_step, setup["case"], "verify", date(2024, 11, 12), data={"authorized": True},
            user=ctx.user, as_of=TODAY)
    qtbot.mouseClick(page.refresh_button, Qt.MouseButton.LeftButton)  # F5 in the window: tests/views/test_window.py
    assert operations().wait()
    assert page.dashboard.counts.get("overdue", 0) == 0
    assert ">0<" in page.tiles["overdue"].count.text()


def test_clerk_sees_only_their_villages(qtbot, db, setup):
    from desktop.services import auth
    from desktop.services.context import AppContext
    with db.session() as s:
        clerk = auth.authenticate(s, "clerk", "Xc-cun-2024")  # 西村
        s.commit()
    p = WarningsPage(AppContext(db=db, user=clerk, year=YEAR, today=lambda: TODAY))
    qtbot.addWidget(p)
    p.refresh()
    assert operations().wait()
    d = p.dashboard
    assert {r.household_no for r in d.rows} == {"H2"}
    assert [p.villages.index(r, V_NAME).data() for r in range(p.villages.rowCount())] == ["西村"]


def test_warning_models_pass_the_model_tester(qtmodeltester, ctx, setup):
    d = ctx.read(warnings.dashboard, YEAR, TODAY)
    model = WarningTableModel()
    model.set_rows(d.rows)
    qtmodeltester.check(model)
    villages = VillageTableModel()
    villages.set_rows(d.villages)
    qtmodeltester.check(villages)
    colour = next(r for r in range(model.rowCount()) if model.index(r, COL_KIND).data() == "三色预警")
    assert model.index(colour, COL_DUE).data() == "" and model.index(colour, COL_DAYS).data() == ""


def test_open_findings_of_the_ledger_by_village_and_rule(qtbot, page, ctx, setup):
    """预警中心 shows the 整改台账's findings still 待整改 by village and rule; a double-click asks for them in
    数据质量 (rule key, village id)."""
    from desktop.services import rectification
    from desktop.views.models.ledger_table import Q_OPEN, Q_TITLE, Q_VILLAGE
    assert page.quality.rowCount() == 0 and "没有待整改" in page.quality_label.text()  # nothing recorded yet
    ctx.run(rectification.check, YEAR, TODAY)
    page.refresh()
    assert operations().wait()
    entries = [e for e in ctx.read(rectification.entries, YEAR) if e.is_open]
    rows = {(page.quality.index(r, Q_VILLAGE).data(), page.quality.index(r, Q_TITLE).data()):
            int(page.quality.index(r, Q_OPEN).data()) for r in range(page.quality.rowCount())}
    expected = {}
    for e in entries:
        expected[(e.village, e.title)] = expected.get((e.village, e.title), 0) + 1
    # the blank A23–A25 of 东村 (GUARANTEE_MISSING) is shown under the national rule that fits it, when one does
    blank = next(e for e in entries if e.code == "GUARANTEE_MISSING" and e.village == "东村")
    assert rows == expected and ("东村", blank.title) in rows
    assert f"待整改 {len(entries)} 条" in page.quality_label.text()
    asked = []
    page.open_quality.connect(lambda rule, village: asked.append((rule, village)))
    row = next(r for r in range(page.quality_proxy.rowCount())
               if page.quality_proxy.index(r, Q_VILLAGE).data() == "西村")
    page.quality_table.doubleClicked.emit(page.quality_proxy.index(row, Q_TITLE))
    count = page.quality_proxy.index(row, Q_TITLE).data(Qt.ItemDataRole.UserRole)
    assert asked == [(count.rule_key, count.village_id)] and count.village == "西村"
