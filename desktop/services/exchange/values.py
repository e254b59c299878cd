"""Cell values of a village's workbook → stored values, or a Chinese reason why not.

Each converter takes a non-blank cell as python-calamine (or openpyxl) gives it — str, float,
int, bool, date, datetime — and returns the value to store or raises Bad(reason). They run
once per cell of a county's file (millions), so lookups are cached per distinct raw value.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from ..codes import codes, income_items, measure_catalog
from ..idnumber import check_digit, parse_id
from .layout import Column, norm_value, raw

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(10) ** 10  # as services.income: larger is a typing error
EXCEL_EPOCH = date(1899, 12, 30)
EXACT_DIGITS = 15  # Excel keeps 15 significant digits of a number


SHARED_TEXT = frozenset({"line", "item", "responsible_unit", "a55_contact_person", "a2_site_address"})


class Bad(ValueError):
    """A cell that cannot be read; the message is the reason shown to the user."""


ECHO_CHARS = 60  # characters of a value shown back in a message, the error list or the wizard
CELL_CHARS = 32_767  # Excel's own limit for the text of one cell


def clip(text: str, limit: int = ECHO_CHARS) -> str:
    """A value as it is echoed back: cut to a readable length, saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…（共 {len(text):,} 个字符）"


# Characters that are never part of what a person typed: C0/C1 controls (tab, line feed and carriage return
# are kept in free text), bidirectional overrides and isolates (U+202E turns “张三” into what it is not on
# screen), zero-width and other invisible format characters, and non-characters.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u115f\u1160\u180e"
                        "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
                        "\ufff0-\ufffb\ufffe\uffff]")
_INVISIBLE_STRICT = re.compile(_INVISIBLE.pattern[:-1] + "\t\n\r]")


def invisible(text: str, strict: bool = False) -> list[str]:
    """The control, bidirectional and invisible characters in text, as U+XXXX (none when text is printable
    Chinese, Latin and punctuation: str.isprintable() is the quick answer)."""
    if text.isprintable():
        return []
    found = (_INVISIBLE_STRICT if strict else _INVISIBLE).findall(text)
    return sorted({f"U+{ord(c):04X}" for c in found})


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


def _number_text(value: float | int) -> str | None:
    """A whole number as its digits ("4.0" → "4"), None when it has a fraction."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return None
    if value.is_integer():
        return str(int(value))
    return None


def show(value: object) -> str:
    """A cell as the error list shows it."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = _number_text(value)
        return text if text is not None else repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") if value.time() != time(0) else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


# ---------------------------------------------------------------- text and keys

def text_converter(max_length: int | None, what: str, shared: bool = False, strict: bool = False,
                   stripped=None):
    """Text as written; `shared` for columns whose few distinct values repeat on many rows (village,
    detail line names): one string object per value instead of one per row. Control, bidirectional and
    invisible characters are refused when `strict` (names, phone numbers), else removed and
    `stripped(found)` is told."""
    cache: dict[str, str] = {}
    removed: dict[str, list[str]] = {}  # value → characters removed from it: told again on every cell

    def convert_shared(value):
        if value.__class__ is str:
            got = cache.get(value)
            if got is not None:
                if removed and value in removed:
                    stripped(removed[value])
                return got
            got = convert(value)
            if len(cache) < 100_000:
                cache[value] = got
            return got
        return convert(value)

    def convert(value):
        if isinstance(value, str):
            s = value.strip()
            if s[:1] == "'":  # Excel's mark for "text": not part of the value
                s = s[1:].strip()
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            s = _number_text(value)
            if s is None:
                s = repr(value)
        elif isinstance(value, datetime):
            s = show(value)
        elif isinstance(value, date):
            s = value.isoformat()
        else:
            s = str(value).strip()
        if len(s) > CELL_CHARS:
            raise Bad(f"超过 Excel 单元格的上限 {CELL_CHARS:,} 个字符（现为 {len(s):,} 个），不是正常的{what}")
        if not s.isprintable():
            found = invisible(s, strict)
            if found:
                if strict:
                    raise Bad(f"{what}中有控制字符或不可见字符（{'、'.join(found[:5])}），"
                              "可能从别处复制时带入，也可能是有意伪装：请重新输入")
                s = strip_invisible(s).strip()
                if stripped is not None:
                    stripped(found)
                    if shared and len(removed) < 1000:
                        removed[value] = found
        if max_length is not None and len(s) > max_length:
            raise Bad(f"{what}过长：最多 {max_length} 个字符，现为 {len(s):,} 个")
        return s
    return convert_shared if shared else convert


def key_converter(max_length: int, what: str):
    """户编号: text, full-width digits folded, spaces dropped. A number longer than Excel's 15 digits
    cannot be trusted (the last digits may already be lost)."""
    def convert(value):
        if value.__class__ is str and value.isascii() and value.isalnum() and len(value) <= max_length:
            return value  # the common case, as written by our export
        if isinstance(value, str):
            s = "".join(unicodedata.normalize("NFKC", value).split()).lstrip("'")
            found = invisible(s, strict=True)
            if found:
                raise Bad(f"{what}中有控制字符或不可见字符（{'、'.join(found[:5])}）：请重新输入")
            if _SCIENTIFIC.match(s):
                raise Bad(f"{what}已被 Excel 改成科学计数法（{clip(s)}），末几位已丢失："
                          "请从原始数据重新复制，并把该列设为“文本”格式")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            s = _number_text(value)
            if s is None:
                raise Bad(f"{what}不能是小数")
            if len(s.lstrip("-")) > EXACT_DIGITS:
                raise Bad(f"{what}被存成了数字且超过 {EXACT_DIGITS} 位，Excel 只保留 {EXACT_DIGITS} 位有效数字，"
                          f"末几位可能已被改动：请把该列设为“文本”格式后重新填写")
        else:
            raise Bad(f"{what}应为文本")
        if not s:
            raise Bad(f"{what}为空")
        if len(s) > max_length:
            raise Bad(f"{what}过长：最多 {max_length} 个字符，现为 {len(s):,} 个")
        return s
    return convert


_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:\.\d*)?E[+-]?\d+$", re.IGNORECASE)


def excel_shows(value: float | int) -> str:
    """A large number as Excel's General format shows it in a cell: 4.30726E+17."""
    if abs(value) >= 1e11:
        return f"{value:.6G}".replace("E+0", "E+")
    return _number_text(value) or repr(value)


def id_converter(value):
    """证件号码: 18-digit ID with a valid check digit, or a 20/22-character 残疾人证 number on one.

    Excel's damage is named as such (SPEC §9.1): a number cell (only 15 digits kept), text in
    scientific notation, an ID whose last digits became 000; a leading apostrophe is dropped."""
    if value.__class__ is str and len(value) == 18 and value.isascii() and value[:17].isdigit():
        number = value.upper()  # the common case, an ID as it should be: the checks below, without the detours
        if number[17] == check_digit(number[:17]) and _real_day(number):
            return number
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        digits = _number_text(value) or show(value)
        if len(digits) > EXACT_DIGITS or "E" in digits.upper():
            raise Bad(f"证件号码被存成了数字，Excel 显示为“{excel_shows(value)}”，只保留 15 位有效数字，后几位已丢失："
                      "请从原始数据重新复制，并把该列设为“文本”格式")
        value = digits
    elif not isinstance(value, str):
        raise Bad("证件号码应为文本")
    text = "".join(unicodedata.normalize("NFKC", value).split()).lstrip("'")
    found = invisible(text, strict=True)
    if found:
        raise Bad(f"证件号码中有控制字符或不可见字符（{'、'.join(found[:5])}）：请重新输入证件号码")
    if len(text) > 40:
        raise Bad(f"证件号码过长（{len(text):,} 个字符）：应为 18 位身份证号或 20、22 位残疾人证号")
    if _SCIENTIFIC.match(text):
        raise Bad(f"证件号码已被 Excel 改成科学计数法（“{text}”），后几位已丢失："
                  "请从原始数据重新复制，并把该列设为“文本”格式")
    info = parse_id(text)
    if not info.valid:
        if info.error_kind == "checksum" and info.number[:18].endswith("000"):
            raise Bad(f"{info.error}；末三位为 000，可能被 Excel 截断，请核对原始证件号")
        raise Bad(info.error)
    return info.number


_DAYS: dict[str, bool] = {}  # an ID's eight digits of birth → whether they are a day (a county has some 30,000)


def _real_day(number: str) -> bool:
    digits = number[6:14]
    got = _DAYS.get(digits)
    if got is None:
        try:
            date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
            got = True
        except ValueError:
            got = False
        if len(_DAYS) < 100_000:
            _DAYS[digits] = got
    return got


# ---------------------------------------------------------------- yes / no

@lru_cache(maxsize=1)
def _bool_words() -> dict[str, bool]:
    words = {}
    for flag, key in ((True, "true"), (False, "false")):
        for w in raw()["bool"][key]:
            words[norm_value(w)] = flag
    return words


_BOOL_CACHE: dict = {}


def bool_converter(value):
    try:
        return _BOOL_CACHE[value]
    except (KeyError, TypeError):
        pass
    found = _bool(value)
    if len(_BOOL_CACHE) < 10000:
        _BOOL_CACHE[value] = found
    return found


def _bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if value == 1:
            return True
        if value == 0:
            return False
        raise Bad("应填“是”或“否”（也可用 √/×、1/0、Y/N）")
    if isinstance(value, str):
        found = _bool_words().get(norm_value(value))
        if found is not None:
            return found
    raise Bad("应填“是”或“否”（也可用 √/×、1/0、Y/N）")


def not_converter(value):
    """A yes/no whose question is the opposite of ours (是否解决安全饮用水 → A25 饮水出现安全问题)."""
    return not bool_converter(value)


@lru_cache(maxsize=1)
def _household_types() -> dict[str, bool]:
    words = raw()["national"]["household_type"]
    return {**{norm_value(w): False for w in words["false"]}, **{norm_value(w): True for w in words["true"]}}


def household_type_converter(value):
    """户类型 → 是否脱贫户: 脱贫户 is 是, 一般农户 and the like are 否."""
    text = value if isinstance(value, str) else show(value)
    found = _household_types().get(norm_value(text))
    if found is None:
        words = raw()["national"]["household_type"]
        raise Bad(f"“{clip(text.strip())}”不是户类型，应为：{'、'.join(words['true'][:1] + words['false'][:1])}等")
    return found


_MEASURE_SPLIT = re.compile(r"[,，、;；\n]+")


def measure_items_converter(category: str):
    """A national measure cell: the category's items joined by commas → list of item names. A plain
    是/有 (a category with no items on the form, e.g. 饮水安全保障) is the category without an item (None)."""
    def convert(value):
        text = value if isinstance(value, str) else show(value)
        out: list[str | None] = []
        for part in _MEASURE_SPLIT.split(unicodedata.normalize("NFKC", text)):
            part = part.strip()
            if not part:
                continue
            flag = _bool_words().get(norm_value(part))
            if flag is False:
                continue
            item = None if flag is True else part
            if item not in out:
                out.append(item)
        return out
    return convert


# ---------------------------------------------------------------- numbers

_MONEY_JUNK = re.compile(r"[,\s元¥￥]|RMB|CNY", re.IGNORECASE)


def _decimal(value, what: str) -> Decimal:
    if isinstance(value, bool):
        raise Bad(f"{what}应为数字")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Bad(f"{what}不是有效的数字")
        return Decimal(repr(value))
    if isinstance(value, str):
        text = _MONEY_JUNK.sub("", unicodedata.normalize("NFKC", value))
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise Bad(f"{what}不是有效的数字") from None
        if not amount.is_finite():
            raise Bad(f"{what}不是有效的数字")
        return amount
    raise Bad(f"{what}应为数字")


def money_converter(value) -> Decimal:
    if value.__class__ is float and 0 <= value < 1e10:
        return Decimal(repr(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    amount = _decimal(value, "金额")
    if amount < 0:
        raise Bad("金额不能为负数")
    if amount >= MAX_AMOUNT:
        raise Bad("金额过大，不是有效的金额")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _shared_money():
    """money_converter with one Decimal per distinct amount of the column (a county's file repeats its amounts:
    100,000 households hold about half as many distinct ones), for the time the column is read."""
    cache: dict = {}

    def convert(value) -> Decimal:
        if value.__class__ is float or value.__class__ is str:  # (a bool would equal 1.0 as a key)
            got = cache.get(value)
            if got is None:
                got = money_converter(value)  # Bad is raised, never kept
                if len(cache) < 200_000:
                    cache[value] = got
            return got
        return money_converter(value)
    return convert


def months_converter(value) -> int:
    if isinstance(value, str):
        value = unicodedata.normalize("NFKC", value).strip()
        for unit in ("个月", "月"):
            if value.endswith(unit):
                value = value[:-len(unit)].strip()
    amount = _decimal(value, "务工时间")
    if amount < 0:
        raise Bad("务工时间不能为负数")
    if amount != amount.to_integral_value():
        raise Bad("务工时间应为整数个月")
    if amount > 1000:
        raise Bad("务工时间不是有效的月数")
    return int(amount)


# ---------------------------------------------------------------- dates

_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2})\s*日?)?\s*月?"
                        r"(?:[T\s]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")


def _checked(y: int, m: int, d: int) -> date:
    if not 1900 <= y <= 2100:
        raise Bad("日期的年份不合理（应在 1900–2100 之间）")
    try:
        return date(y, m, d)
    except ValueError:
        raise Bad("日期不存在") from None


def date_converter(value) -> date:
    """Real dates; text 2023-05-01, 2023/5/1, 2023.5.1, 2023年5月1日, 20230501; a month 202305 or
    2023-05 is its first day; a plain number in the serial range is an Excel date."""
    if isinstance(value, datetime):
        return _checked(value.year, value.month, value.day)
    if isinstance(value, date):
        return _checked(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise Bad("不是有效的日期")
    if isinstance(value, (int, float)):
        digits = _number_text(value)
        if digits is None:
            raise Bad("不是有效的日期")
        return _date_digits(digits, serial=True)
    if isinstance(value, (time, timedelta)):
        raise Bad("不是有效的日期（只有时间）")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if text.isdigit():
        return _date_digits(text, serial=False)
    m = _DATE_TEXT.match(text)
    if not m:
        raise Bad("不是有效的日期，应如 2023-05-01、2023/5/1、2023.5.1 或 20230501")
    return _checked(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))


def _date_digits(digits: str, serial: bool) -> date:
    if len(digits) == 8:
        return _checked(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    if len(digits) == 6:
        return _checked(int(digits[:4]), int(digits[4:]), 1)
    if serial and 0 < int(digits) < 100000:
        return _checked(*(EXCEL_EPOCH + timedelta(days=int(digits))).timetuple()[:3])
    raise Bad("不是有效的日期，应如 2023-05-01、2023/5/1、2023.5.1 或 20230501")


class Month(date):
    """A date known only to the month (YYYYMM in a national file): stored as its first day; an
    update does not move a stored day of the same month."""


def yyyymm_converter(value) -> date:
    """The national layout's dates: YYYYMM (a month) or YYYYMMDD, as text or digits; a real date cell
    is taken as it is. Anything else is refused, not guessed (SPEC §9.1)."""
    if isinstance(value, datetime):
        return _checked(value.year, value.month, value.day)
    if isinstance(value, date):
        return _checked(value.year, value.month, value.day)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        digits = _number_text(value)
    elif isinstance(value, str):
        digits = unicodedata.normalize("NFKC", value).strip().lstrip("'")
    else:
        digits = None
    if digits and digits.isdigit() and len(digits) in (6, 8):
        d = _date_digits(digits, serial=False)
        return Month(d.year, d.month, 1) if len(digits) == 6 else d
    raise Bad("应为年月 YYYYMM（如 202305）或年月日 YYYYMMDD（如 20230517）")


def excel_serial(d: date) -> int:
    return (d - EXCEL_EPOCH).days


# ---------------------------------------------------------------- code lists

def _allowed(names: list[str]) -> str:
    if len(names) <= 12:
        return "，应为：" + "、".join(names)
    return "，请从下拉列表中选择"


@lru_cache(maxsize=None)
def _code_lookup(key: str) -> dict[str, str]:
    """Normalised name or alias → code, with the extra words of exchange.json."""
    cl = codes(key)
    table = {}
    for c in cl:
        table[norm_value(c.name)] = c.code
        for alias in c.extra.get("aliases", []):
            if alias:
                table[norm_value(alias)] = c.code
    for word, name in raw()["values"].get(key, {}).items():
        code = cl.code_of(name)
        if code is not None:
            table.setdefault(norm_value(word), code)
    if key == "ethnicity":  # 土家 for 土家族
        for c in cl:
            if c.name.endswith("族") and len(c.name) > 2:
                table.setdefault(norm_value(c.name[:-1]), c.code)
    return table


def code_converter(key: str, what: str):
    table = _code_lookup(key)
    names = codes(key).names()
    cache: dict = {}

    def convert(value):
        try:
            return cache[value]
        except (KeyError, TypeError):
            pass
        text = show(value) if not isinstance(value, str) else value
        code = table.get(norm_value(text))
        if code is None:
            raise Bad(f"“{clip(text.strip())}”不在{what}的代码表中{_allowed(names)}")
        cache[value] = code
        return code
    return convert


_SEPARATORS = re.compile(r"[、,;|/\n]+|\s+")


def codes_converter(key: str, what: str):
    one = code_converter(key, what)
    cache: dict[str, list[str]] = {}

    def convert(value):
        text = value if isinstance(value, str) else show(value)
        got = cache.get(text)
        if got is not None:
            return list(got)
        out: list[str] = []
        for part in _SEPARATORS.split(unicodedata.normalize("NFKC", text)):
            if part:
                code = one(part)
                if code not in out:
                    out.append(code)
        cache[text] = out
        return list(out)
    return convert


@lru_cache(maxsize=1)
def measure_categories() -> dict[str, str]:
    """"产业帮扶", "A39", "A39 产业帮扶" → A39."""
    table = {}
    for c in measure_catalog():
        for word in (c["name"], c["code"], c["code"] + c["name"]):
            table[norm_value(word)] = c["code"]
    return table


@lru_cache(maxsize=1)
def measure_items() -> dict[str, dict[str, str]]:
    """category code → normalised item name → the item as the form writes it."""
    return {c["code"]: {norm_value(i["name"]): i["name"] for i in c["items"]} for c in measure_catalog()}


def measure_category_converter(value):
    text = value if isinstance(value, str) else show(value)
    code = measure_categories().get(norm_value(text))
    if code is None:
        names = [c["name"] for c in measure_catalog()]
        raise Bad(f"“{clip(text.strip())}”不是帮扶措施类别{_allowed(names)}")
    return code


@lru_cache(maxsize=1)
def _income_items() -> dict[str, str]:
    table = {}
    for it in income_items():
        for word in (it["name"], it["code"], it["code"] + it["name"]):
            table[norm_value(word)] = it["code"]
    return table


def income_item_converter(value):
    text = value if isinstance(value, str) else show(value)
    code = _income_items().get(norm_value(text))
    if code is None:
        names = [it["name"] for it in income_items()]
        raise Bad(f"“{clip(text.strip())}”不是收入项{_allowed(names)}")
    return code


# ---------------------------------------------------------------- per column

STRICT_TEXT = frozenset({"name", "phone", "contact_phone", "a55_contact_person"})  # names and phone numbers


def converter(col: Column, max_length: int | None, convert: str | None = None, stripped=None):
    """The converter of one column (read by a header whose values need `convert`), or None for
    columns that are not read (computed, 省/市/县, known national columns without a place).
    `stripped(found)`: told when invisible characters were removed from a free-text cell."""
    kind = col.kind
    if kind in ("computed", "region", "skip"):
        return None
    if convert == "not":
        return not_converter
    if convert == "household_type":
        return household_type_converter
    if convert == "yyyymm":
        return yyyymm_converter
    if kind == "measure_items":
        return measure_items_converter(col.list)
    if kind == "key":
        return key_converter(max_length or 32, col.header)
    if kind in ("township", "village", "group"):
        return text_converter(max_length, col.header, shared=True, strict=True)
    if kind == "text":
        key = col.key.rpartition(".")[2]
        return text_converter(max_length, col.header, shared=col.key in SHARED_TEXT, strict=key in STRICT_TEXT,
                              stripped=stripped)
    if kind == "bool":
        return bool_converter
    if kind == "code":
        return code_converter(col.list, col.header)
    if kind == "codes":
        return codes_converter(col.list, col.header)
    if kind == "date":
        return date_converter
    if kind == "money":
        return _shared_money()
    if kind == "int":
        return months_converter
    if kind == "id":
        return id_converter
    if kind == "measure_category":
        return measure_category_converter
    if kind == "income_item":
        return income_item_converter
    raise ValueError(f"unknown column kind {kind!r}")
