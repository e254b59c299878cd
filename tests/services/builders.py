"""Shared builders for the rule tests (checks, screening, policy).

Households go through services.register.save_household like a user's; the fields that only the
procedures change (monitoring status, identified_on, A53/A54) are then set on the row, as the
procedures do. Income goes through services.income.save_record. Measures, cases, clues and
messy legacy member rows (that the register refuses) are added as ORM rows.

The `b` fixture (tests/services/conftest.py) gives a Builder in an open session.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from desktop.models import Case, CaseStep, Clue, Household, Measure, Member
from desktop.services import income, register
from desktop.services.idnumber import check_digit, make_id
from desktop.services.income import LineData, RecordData
from desktop.services.register import HouseholdData, MemberData
from tests.conftest import TODAY, YEAR

AREA = "370305"
ROW_FIELDS = set(register.READ_ONLY_HOUSEHOLD) - {"id"}
FIRST_LINE = {"A28": "务工收入", "A29": "种植业", "A30": "土地流转", "A31": "养老保险金", "A32": "种植业",
              "A35": "商业保险理赔", "A36": "医疗自付"}


def bad_checksum(number: str) -> str:
    """The same number with a wrong GB 11643 check digit."""
    right = check_digit(number[:17])
    wrong = "0" if right != "0" else "1"
    return number[:17] + wrong


def id_with(born_digits: str, serial: int = 1, sex: str = "1") -> str:
    """An 18-digit number with any 8 birth digits (even impossible ones) and a correct check digit."""
    sex_digit = (serial * 2 + (1 if sex == "1" else 0)) % 10
    first17 = f"{AREA}{born_digits}{serial % 100:02d}{sex_digit}"
    return first17 + check_digit(first17)


class Builder:
    def __init__(self, session, township):
        self.s = session
        self.township = township
        self.village = township["villages"]["东村"]
        self._serial = 0
        self._no = 0

    # ------------------------------------------------------------------ people
    def serial(self) -> int:
        self._serial += 1
        return self._serial

    def person(self, name: str, born: date, sex: str, relation: str, **kw) -> MemberData:
        """A member with a valid ID number of its own (unique within the test), the form's fields filled as a
        careful collector fills them (民族, 健康, 大病保险, 养老保险, and 文化程度 unless a school is given), so
        that only what a test changes is a finding of the national rules."""
        kw.setdefault("ethnicity", "01")
        kw.setdefault("health", "01")
        kw.setdefault("a18_serious_illness", True)
        kw.setdefault("a19_pension", True)
        if kw.get("school") is None:
            kw.setdefault("education", "03")
        return MemberData(name=name, sex=sex, id_number=make_id(AREA, born, self.serial(), sex), relation=relation,
                          labor=kw.pop("labor", "02"), a17_medical=kw.pop("a17_medical", True), **kw)

    def couple(self, head_labor: str = "02", spouse_labor: str = "02") -> list[MemberData]:
        return [self.person("张三", date(1970, 3, 5), "1", "01", labor=head_labor),
                self.person("李四", date(1972, 8, 9), "2", "02", labor=spouse_labor)]

    # ------------------------------------------------------------------ households
    def household(self, members: list[MemberData] | None = None, no: str | None = None, **fields) -> int:
        """A household saved through the register; three guarantees answered 否 unless given."""
        self._no += 1
        no = no or f"H{self._no:03d}"
        data = HouseholdData(household_no=no, village_id=self.village, a23_housing_unsafe=False,
                             a24_school_dropout=False, a25_water_unsafe=False, phone="13800000000")
        row_fields = {k: fields.pop(k) for k in list(fields) if k in ROW_FIELDS}
        for k, v in fields.items():
            if not hasattr(data, k):
                raise AttributeError(k)
            setattr(data, k, v)
        hid = register.save_household(self.s, data, members if members is not None else self.couple(), TODAY)
        self.set(hid, **row_fields)
        return hid

    def set(self, hid: int, **fields) -> Household:
        """Change columns directly on the row (procedures do this for status, dates, A53/A54)."""
        row = self.s.get(Household, hid)
        for k, v in fields.items():
            if not hasattr(row, k):
                raise AttributeError(k)
            setattr(row, k, v)
        self.s.flush()
        return row

    def no(self, hid: int) -> str:
        return self.s.get(Household, hid).household_no

    def members(self, hid: int) -> dict[str, Member]:
        rows = self.s.query(Member).filter(Member.household_id == hid).order_by(Member.id).all()
        return {m.name: m for m in rows}

    def member(self, hid: int, name: str) -> Member:
        return self.members(hid)[name]

    def raw_member(self, hid: int, name: str, id_number: str, relation: str, sex: str | None = None,
                   **kw) -> Member:
        """A member row as a messy legacy import would leave it: no validation at all."""
        kw.setdefault("a17_medical", True)
        kw.setdefault("labor", "02")
        row = Member(household_id=hid, seq=99, name=name, id_number=id_number, relation=relation, sex=sex, **kw)
        self.s.add(row)
        self.s.flush()
        return row

    def update_member(self, hid: int, name: str, **fields) -> Member:
        row = self.member(hid, name)
        for k, v in fields.items():
            setattr(row, k, v)
        self.s.flush()
        return row

    def event(self, hid: int, name: str, kind: str, on: date) -> None:
        register.record_event(self.s, hid, kind, on, member_id=self.member(hid, name).id, as_of=TODAY)

    # ------------------------------------------------------------------ income, measures, cases
    def income(self, hid: int, year: int = YEAR, collected_on: date | None = None, quarter: int | None = None,
               signatures: bool | None = True, **amounts) -> int:
        """An income record entered by a collector (signed unless told); amounts per item (A28=…), a list
        gives several detail lines."""
        lines = []
        for item, value in amounts.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            for i, v in enumerate(values):
                name = FIRST_LINE[item] if i == 0 else income.line_catalog()[item][i]
                lines.append(LineData(item, name, Decimal(str(v))))
        return income.save_record(self.s, RecordData(hid, year, quarter=quarter,
                                                     collected_on=collected_on or date(year, 10, 10),
                                                     collected_by="王采集", signatures_collected=signatures,
                                                     lines=lines), TODAY)

    def measure(self, hid: int, category: str = "A39", item: str | None = "种植业",
                start: date | None = date(2024, 1, 15), end: date | None = None, **kw) -> Measure:
        m = Measure(household_id=hid, category=category, item=item, start_date=start, end_date=end, **kw)
        self.s.add(m)
        self.s.flush()
        return m

    def case(self, hid: int, steps: list[tuple[str, date | None, date | None]], kind: str = "identify",
             opened_on: date = date(2024, 11, 1), closed_on: date | None = None) -> Case:
        """A case with its steps as (step, due_on, done_on). The parent is flushed first: there is
        no relationship(), so the unit of work might otherwise insert the steps before it."""
        c = Case(household_id=hid, kind=kind, state="open" if closed_on is None else "closed",
                 opened_on=opened_on, closed_on=closed_on, data={})
        self.s.add(c)
        self.s.flush()
        for seq, (step, due, done) in enumerate(steps, 1):
            self.s.add(CaseStep(case_id=c.id, seq=seq, step=step, due_on=due, done_on=done, data={}))
        self.s.flush()
        return c

    def clue(self, hid: int, source: str, reported_on: date) -> Clue:
        c = Clue(household_id=hid, source=source, reported_on=reported_on, description="测试线索")
        self.s.add(c)
        self.s.flush()
        return c

    def monitored(self, members: list[MemberData] | None = None, *, identified_on: date = date(2024, 1, 10),
                  category: str = "02", a28="10000", measure: bool = True, **fields) -> int:
        """A monitored household with nothing wrong: income below the line with a risk (so the
        category fits), an active developmental measure, identified long enough ago."""
        fields.setdefault("a27_risk_types", ["07"])
        fields.setdefault("monitoring_status", "monitoring")
        hid = self.household(members, identified_on=identified_on, a3_category=category, **fields)
        self.income(hid, collected_on=date(2024, 10, 10), A28=a28)
        if measure:
            self.measure(hid, "A39", "种植业", start=identified_on)
        return hid


