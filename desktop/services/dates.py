"""Calendar arithmetic the procedures and warnings use: calendar days and calendar months."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta, timezone


def add_months(d: date, months: int) -> date:
    """The same day `months` calendar months later, clamped to the month's end (01-31 + 1 → 02-28/29)."""
    total = d.year * 12 + (d.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def months_between(start: date, end: date) -> int:
    """Whole calendar months from start to end (0 when end is before start + 1 month)."""
    if end < start:
        return 0
    n = (end.year - start.year) * 12 + (end.month - start.month)
    while n > 0 and add_months(start, n) > end:
        n -= 1
    return n


def report_as_of(year: int, today: date) -> date:
    """The date a printed document of `year` is made as of, when none is given (the reports page and the CLI
    `report`): today for the current year (or a later one), 12-31 of a past year, so a past year's document
    shows that year's end and not facts of the year after."""
    return date(year, 12, 31) if year < today.year else today


BEIJING = timezone(timedelta(hours=8), "北京时间")


def beijing_text(stored_utc: datetime | None) -> str:
    """An audit time (stored as naive UTC) as people here read it: Beijing time, whatever the PC's
    time zone is set to."""
    if stored_utc is None:
        return ""
    return stored_utc.replace(tzinfo=timezone.utc).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
