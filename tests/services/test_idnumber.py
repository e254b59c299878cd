from datetime import date

import pytest

from desktop.services.idnumber import age_on, birth_date_error, check_digit, make_id, parse_id


def test_check_digit_of_the_standard_example():
    # GB 11643-1999 worked example.
    assert check_digit("11010519491231002") == "X"


def test_valid_id_gives_birth_date_and_sex():
    info = parse_id("11010519491231002X")
    assert info.valid
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "2"  # 17th digit 2 is even: female


def test_lower_case_x_and_full_width_digits_are_normalized():
    assert parse_id("11010519491231002x").number == "11010519491231002X"
    assert parse_id("１１０１０５１９４９１２３１００２Ｘ").valid


def test_wrong_check_digit_names_expected_digit():
    info = parse_id("110105194912310021")
    assert not info.valid
    assert "末位应为 X" in info.error


@pytest.mark.parametrize("raw,fragment", [
    ("", "为空"), ("12345", "5 位"), ("1101051949123100AX", "前 17 位"), ("110105194902300021", "19490230"),
])
def test_invalid_numbers_say_why(raw, fragment):
    info = parse_id(raw)
    assert not info.valid and fragment in info.error


def test_disability_card_of_20_and_22_characters():
    base = make_id("370305", date(1985, 2, 3), 7, "1")
    assert parse_id(base + "42").valid and parse_id(base + "42").disability_card
    assert parse_id(base + "4201").valid
    assert not parse_id(base + "4A").valid
    broken = base[:17] + ("0" if base[17] != "0" else "1") + "42"
    assert not parse_id(broken).valid


def test_make_id_respects_sex_and_is_valid():
    for serial in range(30):
        for sex in ("1", "2"):
            info = parse_id(make_id("110105", date(2001, 7, 8), serial, sex))
            assert info.valid and info.sex == sex


def test_birth_date_in_the_future_is_impossible():
    info = parse_id(make_id("110105", date(2030, 1, 1), 1, "1"))
    assert info.valid
    assert birth_date_error(info, date(2024, 6, 1)) is not None
    assert birth_date_error(info, date(2030, 1, 1)) is None


def test_age_on_counts_whole_years():
    assert age_on(date(2010, 10, 1), date(2024, 9, 30)) == 13
    assert age_on(date(2010, 9, 30), date(2024, 9, 30)) == 14
