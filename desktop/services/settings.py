"""Settings per year (SPEC §5) and settings of the installation. Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AppSetting, YearSettings
from . import access
from .errors import ServiceError

# Key-check thresholds of §6.3 (used by the rules issue); a township may change them.
DEFAULT_THRESHOLDS = {
    "income_drop_ratio": "0.10",       # per-capita income fell by more than 10 % versus last year
    "quarter_drop_ratio": "0.20",      # income fell by more than 20 % between quarterly collections
    "unstable_work_months": 6,         # work months below this is unstable work
    "wage_share": "0.70",              # wage income above this share of income
    "rigid_expense_ratio": "0.50",     # A36 above this share of A33
    "new_identified_income_bound": "30000",  # INCOME_IMPLAUSIBLE: per-capita above this when newly identified
}


class SettingsError(ServiceError):
    pass


@dataclass(frozen=True)
class YearSettingsData:
    year: int
    monitoring_line: Decimal | None
    rural_average: Decimal | None
    county_income: Decimal | None
    period_start: date
    period_end: date
    status_time_point: date
    thresholds: dict = field(default_factory=dict)


def default_period(year: int) -> tuple[date, date, date]:
    """Statistical period 10-01 of the previous year to 09-30; status time point 09-30 24:00."""
    return date(year - 1, 10, 1), date(year, 9, 30), date(year, 9, 30)


def parse_amount(value, what: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).replace(",", "").replace("元", "").strip())
    except InvalidOperation:
        raise SettingsError(f"{what}“{value}”不是有效的金额") from None
    if not amount.is_finite() or amount >= Decimal(10) ** 10:
        raise SettingsError(f"{what}“{value}”不是有效的金额")
    if amount <= 0:
        raise SettingsError(f"{what}必须大于 0，现为 {value}")
    return amount.quantize(Decimal("0.01"))


def _check_year(year: int) -> None:
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise SettingsError(f"年度“{year}”无效，应为 2000–2100 之间的年份")


def get_year(session: Session, year: int) -> YearSettingsData | None:
    access.logged_in(session)
    row = session.get(YearSettings, year)
    if row is None:
        return None
    return YearSettingsData(row.year, row.monitoring_line, row.rural_average, row.county_income,
                            row.period_start, row.period_end, row.status_time_point,
                            {**DEFAULT_THRESHOLDS, **(row.thresholds or {})})


def set_year(session: Session, year: int, *, monitoring_line=None, rural_average=None, county_income=None,
             period_start: date | None = None, period_end: date | None = None,
             status_time_point: date | None = None, thresholds: dict | None = None) -> YearSettingsData:
    """Create or change the settings of a year. Only the given values change."""
    access.manager(session, "修改年度设置")
    _check_year(year)
    line = parse_amount(monitoring_line, "监测线")
    avg = parse_amount(rural_average, "当地农村人均纯收入")
    county = parse_amount(county_income, "县农村居民人均可支配收入")
    row = session.get(YearSettings, year)
    if row is None:
        start, end, point = default_period(year)
        row = YearSettings(year=year, period_start=start, period_end=end, status_time_point=point,
                           thresholds={})
        session.add(row)
    if line is not None:
        row.monitoring_line = line
    if avg is not None:
        row.rural_average = avg
    if county is not None:
        row.county_income = county
    if period_start is not None:
        row.period_start = period_start
    if period_end is not None:
        row.period_end = period_end
    if status_time_point is not None:
        row.status_time_point = status_time_point
    if row.period_start >= row.period_end:
        raise SettingsError(f"统计期起 {row.period_start} 应早于统计期止 {row.period_end}")
    if thresholds is not None:
        row.thresholds = {**(row.thresholds or {}), **thresholds}
    session.flush()
    return get_year(session, year)


def years(session: Session) -> list[int]:
    access.logged_in(session)
    return list(session.scalars(select(YearSettings.year).order_by(YearSettings.year)))


def get_app(session: Session, key: str, default: str | None = None) -> str | None:
    access.logged_in(session)
    row = session.get(AppSetting, key)
    return row.value if row is not None and row.value is not None else default


def set_app(session: Session, key: str, value: str | None) -> None:
    access.manager(session, "修改设置")
    row = session.get(AppSetting, key)
    if row is None:
        session.add(AppSetting(key=key, value=value))
    else:
        row.value = value
    session.flush()


def current_year(session: Session) -> int | None:
    access.logged_in(session)
    value = get_app(session, "current_year")
    return int(value) if value else None


def set_current_year(session: Session, year: int) -> None:
    access.manager(session, "修改当前工作年度")
    _check_year(year)
    set_app(session, "current_year", str(year))
