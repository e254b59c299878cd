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
    "income_drop_ratio": "0",          # per-capita income fell versus last year: any fall counts (003 ①)
    "quarter_drop_ratio": "0.20",      # income fell by more than 20 % between quarterly collections
    "unstable_work_months": 6,         # work months below this is unstable work
    "wage_share": "0.70",              # wage income above this share of income
    "rigid_expense_ratio": "0.50",     # A36 above this share of A33
    "new_identified_income_bound": "30000",  # INCOME_IMPLAUSIBLE: per-capita above this when newly identified
    # 疑点规则 3_11_010 "人均纯收入低于4000元": the national checker's figure as the default; a township may change it.
    "national_low_income": "4000",
    # 脱贫不享受政策 exception 2 "个人自付费用支出较大" (004 annex 2): yuan of a year's medical self-pay at or
    # above which it is 较大. The seed names no figure, so none is built in: unset, the exception is undecided.
    "policy_large_self_pay": None,
}
UNIT = "元/人·年"


@dataclass(frozen=True)
class Threshold:
    """How a threshold is typed and checked. kind: percent (stored as a ratio 0 < r < 1, typed as 0–100;
    0 itself when `zero`), months (a whole number 1–12) or money (yuan above 0). `optional`: blank is a
    value (unset, None)."""
    key: str
    label: str
    kind: str
    unit: str
    hint: str
    zero: bool = False
    optional: bool = False


THRESHOLDS = {t.key: t for t in (
    Threshold("income_drop_ratio", "人均纯收入较上年下降超过", "percent", "%",
              "集中排查：收入下降（0 = 任何下降都列入）", zero=True),
    Threshold("quarter_drop_ratio", "两次季度采集间家庭纯收入下降超过", "percent", "%", "集中排查：季度收入明显下降"),
    Threshold("unstable_work_months", "务工时间少于", "months", "个月", "集中排查：视为务工不稳定"),
    Threshold("wage_share", "工资性收入占各项收入的比例高于", "percent", "%", "集中排查：工资性收入占比高"),
    Threshold("rigid_expense_ratio", "合规自付支出超过家庭纯收入的", "percent", "%", "集中排查：刚性支出较大"),
    Threshold("new_identified_income_bound", "新识别监测对象人均纯收入高于", "money", UNIT, "数据质量：收入疑点"),
    Threshold("national_low_income", "家庭人均纯收入低于", "money", UNIT, "数据质量：疑点规则 3_11_010"),
    Threshold("policy_large_self_pay", "大病个人自付费用“较大”：不低于", "money", "元/户·年",
              "脱贫不享受政策例外第 2 条；未填时该例外无法判断", optional=True),
)}
assert set(THRESHOLDS) == set(DEFAULT_THRESHOLDS)


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


def _number(value) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return Decimal("NaN")
    return number


def check_threshold(key: str, value):
    """A threshold as it is stored (percent as a ratio "0.15", months as an int, money as "30000.00");
    SettingsError in Chinese for an unknown key or a value out of its range."""
    spec = THRESHOLDS.get(key)
    if spec is None:
        raise SettingsError(f"没有名为“{key}”的阈值")
    if value is None or str(value).strip() == "":
        if spec.optional:
            return None
        raise SettingsError(f"请填写“{spec.label}”")
    if spec.kind == "money":
        return str(parse_amount(value, spec.label))
    number = _number(value) if not isinstance(value, bool) else Decimal("NaN")
    if spec.kind == "months":
        if not number.is_finite() or number != number.to_integral_value() or not 1 <= number <= 12:
            raise SettingsError(f"“{spec.label}”应为 1–12 之间的整数月数，现为“{value}”")
        return int(number)
    if spec.zero and number == 0:
        return "0"
    if not number.is_finite() or not 0 < number < 1:
        within = " 0 到 1 之间（不含 1）的" if spec.zero else "大于 0、小于 1 的"
        raise SettingsError(f"“{spec.label}”应为{within}比例，现为“{value}”")
    return format(number.normalize(), "f")


def threshold_text(key: str, value) -> str:
    """A stored threshold as a person types it: ratios as percentages ("0.10" → "10"), money in yuan."""
    spec = THRESHOLDS.get(key)
    if value is None or value == "":
        return ""
    if spec is not None and spec.kind == "percent":
        return format((Decimal(str(value)) * 100).normalize(), "f")
    if spec is not None and spec.kind == "money":
        amount = Decimal(str(value))
        return f"{int(amount)}" if amount == amount.to_integral_value() else f"{amount:.2f}"
    return str(value)


def parse_threshold(key: str, text: str):
    """The stored value of a threshold as a person typed it (a percentage may carry %); SettingsError in Chinese."""
    spec = THRESHOLDS.get(key)
    if spec is None:
        raise SettingsError(f"没有名为“{key}”的阈值")
    typed = str(text).strip().replace("%", "").replace("％", "")
    if not typed:
        if spec.optional:
            return None
        raise SettingsError(f"请填写“{spec.label}”")
    if spec.kind != "percent":
        return check_threshold(key, typed)
    number = _number(typed)
    if spec.zero and number == 0:
        return "0"
    if not number.is_finite() or not 0 < number < 100:
        within = " 0 到 100 之间（不含 100）的" if spec.zero else "大于 0、小于 100 的"
        raise SettingsError(f"“{spec.label}”应为{within}百分数，现为“{typed}”")
    return check_threshold(key, format((number / 100).normalize(), "f"))


def changed_thresholds(typed: dict[str, str], stored: dict) -> dict | None:
    """The typed thresholds whose value differs from the stored one (None when none does), as set_year takes
    them. Every typed value must be valid (see validate_year)."""
    changed = {}
    for key, text in typed.items():
        value, before = parse_threshold(key, text), stored.get(key)
        if (value is None) != (before is None) or (value is not None and _number(value) != _number(before)):
            changed[key] = value
    return changed or None


@dataclass(frozen=True)
class YearForm:
    """The settings of a year as a person typed them (amounts and thresholds as text)."""
    year: int
    monitoring_line: str
    rural_average: str
    county_income: str
    period_start: date
    period_end: date
    status_time_point: date
    thresholds: dict[str, str] = field(default_factory=dict)


AMOUNTS = (("monitoring_line", "监测线"), ("rural_average", "当地农村人均纯收入"),
           ("county_income", "县农村居民人均可支配收入"))


def validate_year(form: YearForm, stored: YearSettingsData | None) -> dict[str, str]:
    """Every problem of a typed year, in Chinese, by field (the field names of YearForm; a threshold by its key).
    Empty when set_year will take it."""
    problems: dict[str, str] = {}
    try:
        _check_year(form.year)
    except SettingsError as exc:
        problems["year"] = str(exc)
    for name, what in AMOUNTS:
        text = getattr(form, name).strip()
        was = getattr(stored, name) if stored is not None else None
        if not text:
            if name == "monitoring_line":
                problems[name] = f"请填写监测线（{UNIT}）"
            elif was is not None:
                problems[name] = f"{what}已填写过，不能清空；如有误请改为正确的数值"
            continue
        try:
            parse_amount(text, what)
        except SettingsError as exc:
            problems[name] = str(exc)
    if form.period_start >= form.period_end:
        problems["period_end"] = "统计期起应早于统计期止"
    for key, text in form.thresholds.items():
        try:
            parse_threshold(key, text)
        except SettingsError as exc:
            problems[key] = str(exc)
    return problems


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
    """Create or change the settings of a year. Only the given values change. Amounts and thresholds are checked
    before anything is written (a threshold as it is stored: see check_threshold)."""
    access.manager(session, "修改年度设置")
    _check_year(year)
    line = parse_amount(monitoring_line, "监测线")
    avg = parse_amount(rural_average, "当地农村人均纯收入")
    county = parse_amount(county_income, "县农村居民人均可支配收入")
    checked = _checked_thresholds(thresholds) if thresholds is not None else None
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
    if checked is not None:
        row.thresholds = {**(row.thresholds or {}), **checked}
    session.flush()
    return get_year(session, year)


def _checked_thresholds(thresholds: dict) -> dict:
    """Every given threshold checked (check_threshold); all problems at once."""
    checked, problems = {}, []
    for key, value in thresholds.items():
        try:
            checked[key] = check_threshold(key, value)
        except SettingsError as exc:
            problems.append(str(exc))
    if problems:
        raise SettingsError("；".join(problems))
    return checked


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
