"""The date a printed document is made as of when none is given (README: today for the current year, 12-31 of a
past year): one function, dates.report_as_of, used by the reports page and the CLI `report`."""

from datetime import date

import pytest

from desktop.services.dates import report_as_of


@pytest.mark.parametrize("year, today, expected", [
    (2024, date(2024, 11, 20), date(2024, 11, 20)),   # the current year: today
    (2024, date(2024, 1, 1), date(2024, 1, 1)),
    (2024, date(2024, 12, 31), date(2024, 12, 31)),
    (2023, date(2024, 11, 20), date(2023, 12, 31)),   # a past year: its last day, not facts of the year after
    (2023, date(2024, 1, 1), date(2023, 12, 31)),
    (2020, date(2024, 11, 20), date(2020, 12, 31)),
    (2025, date(2024, 11, 20), date(2024, 11, 20)),   # a year not yet begun: today
])
def test_report_as_of(year, today, expected):
    assert report_as_of(year, today) == expected
