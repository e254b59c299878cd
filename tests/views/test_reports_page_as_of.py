"""The reports page makes a document of a past year as of that year's 12-31 and of the current year as of today
(dates.report_as_of, the same default as the CLI `report`)."""

from datetime import date

from desktop.services import settings
from desktop.views.reports_page import ReportsPage

from ..conftest import TODAY, YEAR


def test_the_document_date_follows_the_chosen_year(qtbot, ctx, tmp_path, monkeypatch):
    ctx.run(settings.set_year, YEAR - 1, monitoring_line="6900")
    page = ReportsPage(ctx)
    qtbot.addWidget(page)
    page.set_kind("summary")
    years = {page.year_combo.itemData(i): i for i in range(page.year_combo.count())}
    page.year_combo.setCurrentIndex(years[YEAR])
    assert page.request().as_of == TODAY
    page.year_combo.setCurrentIndex(years[YEAR - 1])
    assert page.request().as_of == date(YEAR - 1, 12, 31)
