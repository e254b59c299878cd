"""居民身份证 numbers (GB 11643-1999) and 残疾人证 numbers built on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from operator import mul

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ZERO_SUM = 48 * sum(_WEIGHTS)  # the code point of "0" times every weight: digits' bytes less this are their values


@dataclass(frozen=True)
class IdInfo:
    """What an ID number says, or why it is wrong (error is None when valid)."""

    number: str
    birth_date: date | None
    sex: str | None  # "1" 男, "2" 女 (code list "sex")
    disability_card: bool
    error: str | None
    error_kind: str | None = None  # "format", "date" or "checksum"

    @property
    def valid(self) -> bool:
        return self.error is None


def normalize_id(raw: object) -> str:
    """Trim, fold full-width characters, upper-case x. Keeps it text."""
    if raw.__class__ is str and raw.isascii():  # NFKC leaves ASCII as it is: the common case, without the call
        return raw.strip().replace(" ", "").upper()
    import unicodedata
    text = unicodedata.normalize("NFKC", str(raw or "")).strip().replace(" ", "")
    return text.upper()


def check_digit(first17: str) -> str:
    if len(first17) != 17:
        raise ValueError("check_digit needs the first 17 digits")
    if not first17.isascii():  # digits of other scripts: int() reads them, their code points would not do
        return _CHECK[sum(map(mul, map(int, first17), _WEIGHTS)) % 11]
    return _CHECK[(sum(map(mul, first17.encode(), _WEIGHTS)) - _ZERO_SUM) % 11]


def parse_id(raw: object) -> IdInfo:
    number = normalize_id(raw)
    disability = len(number) in (20, 22)
    core = number[:18] if disability else number
    if not number:
        return IdInfo(number, None, None, False, "证件号码为空", "format")
    if len(number) not in (18, 20, 22):
        return IdInfo(number, None, None, False,
                      f"证件号码应为 18 位身份证号，或 20/22 位残疾人证号，现为 {len(number)} 位", "format")
    if not core[:17].isdigit() or not (core[17].isdigit() or core[17] == "X"):
        return IdInfo(number, None, None, disability, "身份证号前 17 位应为数字，末位为数字或 X", "format")
    if disability and not number[18:].isdigit():
        return IdInfo(number, None, None, True, "残疾人证号第 19 位起应为数字（残疾类别与等级）", "format")
    try:
        born = date(int(core[6:10]), int(core[10:12]), int(core[12:14]))
    except ValueError:
        return IdInfo(number, None, None, disability, f"身份证号中的出生日期 {core[6:14]} 不存在", "date")
    sex = "1" if int(core[16]) % 2 else "2"
    expected = check_digit(core[:17])
    if core[17] != expected:
        return IdInfo(number, born, sex, disability,
                      f"身份证号校验位错误：末位应为 {expected}，实为 {core[17]}", "checksum")
    return IdInfo(number, born, sex, disability, None)


def birth_date_error(info: IdInfo, today: date, earliest: date = date(1890, 1, 1)) -> str | None:
    """An impossible birth date: in the future as of `today`, or before `earliest`."""
    if info.birth_date is None:
        return None
    if info.birth_date > today:
        return f"身份证号中的出生日期 {info.birth_date:%Y-%m-%d} 晚于 {today:%Y-%m-%d}"
    if info.birth_date < earliest:
        return f"身份证号中的出生日期 {info.birth_date:%Y-%m-%d} 早于 {earliest.year} 年，不可能"
    return None


def age_on(born: date, when: date) -> int:
    return when.year - born.year - ((when.month, when.day) < (born.month, born.day))


def make_id(area: str, born: date, serial: int, sex: str) -> str:
    """Build a valid number: 6-digit area, birth date, 2-digit serial + sex digit, check digit."""
    sex_digit = (serial * 2 + (1 if sex == "1" else 0)) % 10
    if (sex_digit % 2 == 1) != (sex == "1"):
        sex_digit = (sex_digit + 1) % 10
    first17 = f"{area}{born:%Y%m%d}{serial % 100:02d}{sex_digit}"
    return first17 + check_digit(first17)
