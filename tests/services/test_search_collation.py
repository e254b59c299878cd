"""ID and household-number prefixes are found under any collation (issue 21): a PostgreSQL database created with a
zh-Hans ICU collation sorts "~" before the digits, so the old `< text || '~'` bound found nothing there."""

from __future__ import annotations

import pytest

from desktop.services import register
from desktop.services.context import AppContext
from desktop.services.register import HouseholdFilter, _next_prefix
from tests import dbserver
from tests.conftest import TODAY, YEAR, family, login


def test_the_bound_after_a_prefix():
    assert _next_prefix("3703") == "3704"
    assert _next_prefix("3709") == "371"
    assert _next_prefix("37030519") == "3703052"
    assert _next_prefix("37X") == "37Y" and _next_prefix("37x") == "37Y"
    assert _next_prefix("999") is None


def search(ctx, text):
    return ctx.read(register.household_ids, HouseholdFilter(text=text))


def _township_and_two_households(db):
    from desktop.services import auth, regions, settings
    with db.session(bootstrap="test") as s:
        regions.init_township(s, "稷下街道")
        v = regions.add_village(s, "东村")
        settings.set_year(s, YEAR, monitoring_line="7100")
        auth.create_user(s, "admin", "管理员", "admin", "Jx-adm-2024")
        s.commit()
    ctx = AppContext(db=db, user=login(db, "admin", "Jx-adm-2024"), year=YEAR, today=lambda: TODAY)
    data, members = family(v, no="3703050010019999", serial=1)
    a = ctx.run(register.save_household, data, members, TODAY)
    data, members = family(v, no="3703050010020001", serial=10)
    b = ctx.run(register.save_household, data, members, TODAY)
    return ctx, a, b, members


def check_prefixes(ctx, a, b, members):
    assert search(ctx, "37030500100199") == [a]  # …99 + carry: the bound is 370305001002
    assert search(ctx, "370305001001") == [a]
    assert search(ctx, "370305001002") == [b]
    assert search(ctx, "3703050010") == [a, b]
    assert search(ctx, members[0].id_number[:16]) == [b]  # serial 01x: the other head is 00x


def test_prefix_search_on_the_suite_database(db):
    check_prefixes(*_township_and_two_households(db))


@pytest.mark.skipif(not dbserver.ON_POSTGRES, reason="collations are PostgreSQL's: the suite runs on SQLite")
def test_prefix_search_under_a_zh_hans_icu_collation(tmp_path):
    server = dbserver.server()
    name = server.new_name("icu")
    with server.admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE "zh-Hans" '
                          f"LOCALE 'C.UTF-8'")
    from desktop.services.db import init_db
    db = init_db(server.url_of(name))
    db.test_dbname = name
    try:
        with db.engine.connect() as c:  # the premise: here "~" sorts before the digits
            assert c.exec_driver_sql("SELECT '370305~' < '3703050'").scalar() is True
        check_prefixes(*_township_and_two_households(db))
    finally:
        dbserver.release(db)
