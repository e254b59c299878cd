"""Hypothesis fuzzing of cell values: whatever a village types, the import never crashes, and a file is
either accepted whole or rejected whole — never a partial write."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from desktop.models import Household, Member
from desktop.services import exchange

from ..conftest import TODAY, YEAR
from .test_exchange_book import db_state, family_rows, hh, table, write_book

# Text openpyxl can store (no control characters), numbers, dates and booleans, as a village's cells are.
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12).filter(
    lambda s: not s.startswith("="))
CELL = st.one_of(st.none(), TEXT, st.integers(-10**6, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                 st.dates(date(1800, 1, 1), date(2200, 1, 1)), st.booleans(),
                 st.sampled_from(["是", "否", "√", "×", "因病、因学", "12,000元", "2023/5/1", "户主", "汉族",
                                  "监测中", "-5", "１２３", "x", " "]),
                 st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1)))
HOUSEHOLD_COLUMNS = ["行政村", "自然村", "监测对象类别", "是否脱贫户", "监测状态", "识别监测时间", "风险类型",
                     "工资性收入", "生产经营性支出", "住房出现安全问题", "低保档次", "风险消除时间"]
MEMBER_COLUMNS = ["姓名", "性别", "与户主关系", "民族", "文化程度", "务工时间（月）", "参加基本医疗保险", "享受低保",
                  "成员状态", "状态变化日期", "证件号码"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hh_cells=st.dictionaries(st.sampled_from(HOUSEHOLD_COLUMNS), CELL, max_size=4),
       m_cells=st.dictionaries(st.sampled_from(MEMBER_COLUMNS), CELL, max_size=4),
       line=st.tuples(CELL, CELL))
def test_any_cells_are_accepted_whole_or_rejected_whole(town, tmp_path_factory, hh_cells, m_cells, line):
    path = tmp_path_factory.mktemp("fuzz") / "f.xlsx"
    members = family_rows("H001", 1)
    members[1].update(m_cells)
    lines = table([{"户编号": "H001", "收入项": line[0], "明细": "务工收入", "金额": line[1]}])
    write_book(path, {"户信息": table([hh("H001", **hh_cells), hh("H002")]),
                      "家庭成员": table(members + family_rows("H002", 5)), "收入明细": lines})
    before = db_state(town.db)
    with town.db.session(bootstrap="tester") as s:
        pv = exchange.preview(s, path, YEAR)
        if not pv.ok:
            assert pv.errors and all(e.reason for e in pv.errors)
            with pytest.raises(exchange.ExchangeError):
                exchange.apply(s, pv, as_of=TODAY)
        else:
            result = exchange.apply(s, pv, as_of=TODAY, take_backup=False, check=False)
            assert result.households_new == 2 and result.members_new == 4
            assert s.scalar(select(func.count()).select_from(Household)) == before[0]["household"] + 2
            assert s.scalar(select(func.count()).select_from(Member)) == before[0]["member"] + 4
        s.rollback()
    assert db_state(town.db) == before
