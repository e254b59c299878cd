"""Household (户), member (家庭成员) and member events (自然变更)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Optional

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Money, Timestamps, Versioned


class Household(Versioned, Timestamps, Base):
    __tablename__ = "household"
    # Covering index: as-you-type search on numbers reads the index, not the table.
    __table_args__ = (Index("ix_household_no_phone", "household_no", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_no: Mapped[str] = mapped_column(String(32), unique=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    group_id: Mapped[Optional[int]] = mapped_column(ForeignKey("region.id"), index=True)
    address: Mapped[Optional[str]] = mapped_column(String(200))  # house number, street below the group
    phone: Mapped[Optional[str]] = mapped_column(String(32), index=True)
    # Denormalised for as-you-type search at county scale: head name, kept by services.register.
    head_name: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer, default=0)  # members of status 正常, kept by services.register

    a1_relocation_site: Mapped[Optional[bool]] = mapped_column(Boolean)
    a2_site_address: Mapped[Optional[str]] = mapped_column(String(200))
    a3_category: Mapped[Optional[str]] = mapped_column(String(8), index=True)  # code list "category"
    # 是否脱贫户: None when no source says (a national list without 户类型); never guessed as 否.
    a4_poverty_alleviated: Mapped[Optional[bool]] = mapped_column(Boolean, index=True)
    a23_housing_unsafe: Mapped[Optional[bool]] = mapped_column(Boolean)
    a24_school_dropout: Mapped[Optional[bool]] = mapped_column(Boolean)
    a25_water_unsafe: Mapped[Optional[bool]] = mapped_column(Boolean)
    a27_risk_types: Mapped[list] = mapped_column(JSON, default=list)  # codes of "risk_type"
    a27_other_note: Mapped[Optional[str]] = mapped_column(String(200))
    a27a_disaster_types: Mapped[list] = mapped_column(JSON, default=list)  # codes of "disaster_type"

    monitoring_status: Mapped[str] = mapped_column(String(16), default="none", index=True)
    # 整户无劳动能力兜底保障户 (None: unknown)
    whole_no_labor_guarantee: Mapped[Optional[bool]] = mapped_column(Boolean)
    dibao_tier: Mapped[Optional[str]] = mapped_column(String(8))
    identified_on: Mapped[Optional[date]] = mapped_column(Date)  # 识别监测时间
    a53_removal_way: Mapped[Optional[str]] = mapped_column(String(8))
    a54_removed_on: Mapped[Optional[date]] = mapped_column(Date)
    a55_contact_person: Mapped[Optional[str]] = mapped_column(String(64))
    contact_phone: Mapped[Optional[str]] = mapped_column(String(32))
    note: Mapped[Optional[str]] = mapped_column(Text)
    petition: Mapped[Optional[bool]] = mapped_column(Boolean)  # 舆情信访户 [003 四个必到] (unknown: NULL)

    # 脱贫不享受政策 (seed 004 annex 2): the yes/no facts of criteria 2–8 and of exceptions 2 and 4
    # (NULL: not known; exceptions 2 and 4 are then derived), and the day it was decided.
    policy_c2_cause_gone: Mapped[Optional[bool]] = mapped_column(Boolean)
    policy_c3_luxury_car: Mapped[Optional[bool]] = mapped_column(Boolean)
    policy_c4_urban_home: Mapped[Optional[bool]] = mapped_column(Boolean)
    policy_c5_business: Mapped[Optional[bool]] = mapped_column(Boolean)
    policy_c6_public_servant: Mapped[Optional[bool]] = mapped_column(Boolean)
    policy_c7_child_business: Mapped[Optional[bool]] = mapped_column(Boolean)
    policy_c8_child_support: Mapped[Optional[bool]] = mapped_column(Boolean)
    policy_e2_medical_burden: Mapped[Optional[bool]] = mapped_column(Boolean)
    policy_e4_disaster: Mapped[Optional[bool]] = mapped_column(Boolean)
    policy_excluded_on: Mapped[Optional[date]] = mapped_column(Date)  # 不再享受政策, as approved

    # 风险消除后情况: the household's state when its risk was removed, as the national system records it
    # (SPEC §9.1). Facts as given, never computed here; None where unknown.
    after_dropout: Mapped[Optional[bool]] = mapped_column(Boolean)  # 义务教育阶段适龄儿童少年失学辍学
    after_housing_damaged: Mapped[Optional[bool]] = mapped_column(Boolean)  # 住房损毁
    after_medical_missing: Mapped[Optional[bool]] = mapped_column(Boolean)  # 有家庭成员未参加基本医疗保险
    after_water_damaged: Mapped[Optional[bool]] = mapped_column(Boolean)  # 饮水设施损毁
    after_a28: Mapped[Optional[Decimal]] = mapped_column(Money)  # 工资性收入
    after_a29: Mapped[Optional[Decimal]] = mapped_column(Money)  # 生产经营性收入
    after_a30: Mapped[Optional[Decimal]] = mapped_column(Money)  # 财产性收入
    after_a31: Mapped[Optional[Decimal]] = mapped_column(Money)  # 转移性收入
    after_a32: Mapped[Optional[Decimal]] = mapped_column(Money)  # 生产经营性支出
    after_a33: Mapped[Optional[Decimal]] = mapped_column(Money)  # 家庭纯收入
    after_a34: Mapped[Optional[Decimal]] = mapped_column(Money)  # 家庭人均纯收入
    after_a35: Mapped[Optional[Decimal]] = mapped_column(Money)  # 理赔收入
    after_a36: Mapped[Optional[Decimal]] = mapped_column(Money)  # 合规自付支出

    # Nothing is hard-deleted: a household leaves the register with a reason.
    closed_on: Mapped[Optional[date]] = mapped_column(Date)
    closed_reason: Mapped[Optional[str]] = mapped_column(String(200))


class Member(Versioned, Timestamps, Base):
    __tablename__ = "member"
    # Covering indexes for the register search (name or ID → household) at county scale, and for assess (a
    # household's members with the facts it reads of them: status at the time point, birth date, labor, A17,
    # A20, A21; also every lookup of a household's members).
    __table_args__ = (Index("ix_member_name_household", "name", "household_id"),
                      Index("ix_member_id_number_household", "id_number", "household_id"),
                      Index("ix_member_phone_household", "phone", "household_id"),
                      Index("ix_member_household_facts", "household_id", "status", "status_date", "id_number",
                            "labor", "a17_medical", "a20_dibao", "a21_tekun"))

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))  # indexed by ix_member_household_facts
    seq: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(64))  # A5
    sex: Mapped[Optional[str]] = mapped_column(String(2))  # A6
    id_number: Mapped[str] = mapped_column(String(22))  # A7 (居民身份证 or 残疾人证)
    relation: Mapped[str] = mapped_column(String(4))  # A8
    ethnicity: Mapped[Optional[str]] = mapped_column(String(4))  # A9
    political: Mapped[Optional[str]] = mapped_column(String(4))  # A10
    education: Mapped[Optional[str]] = mapped_column(String(4))  # A11
    school: Mapped[Optional[str]] = mapped_column(String(4))  # A12
    health: Mapped[Optional[str]] = mapped_column(String(4))  # A13
    disability_grade: Mapped[Optional[str]] = mapped_column(String(4))
    labor: Mapped[Optional[str]] = mapped_column(String(4))  # A14
    work_region: Mapped[Optional[str]] = mapped_column(String(4))  # A15
    work_place: Mapped[Optional[str]] = mapped_column(String(100))  # 务工所在地: a place, as the national list has it
    work_months: Mapped[Optional[int]] = mapped_column(Integer)  # A16
    a17_medical: Mapped[Optional[bool]] = mapped_column(Boolean)
    # The national system's two 医保 flags (A17 is either of them): None where unknown.
    a17_resident_medical: Mapped[Optional[bool]] = mapped_column(Boolean)  # 城乡居民基本医疗保险
    a17_employee_medical: Mapped[Optional[bool]] = mapped_column(Boolean)  # 城镇职工基本医疗保险
    a18_serious_illness: Mapped[Optional[bool]] = mapped_column(Boolean)
    a19_pension: Mapped[Optional[bool]] = mapped_column(Boolean)
    a19_employee_pension: Mapped[Optional[bool]] = mapped_column(Boolean)  # 城镇职工基本养老保险
    public_post_months: Mapped[Optional[int]] = mapped_column(Integer)  # 公益性岗位（月数）
    school_absence_reason: Mapped[Optional[str]] = mapped_column(String(100))  # 义务教育阶段未上学原因
    a20_dibao: Mapped[Optional[str]] = mapped_column(String(4))
    a21_tekun: Mapped[Optional[str]] = mapped_column(String(4))
    a20_dibao_since: Mapped[Optional[date]] = mapped_column(Date)  # 享受低保起始时间 (unknown: NULL)
    a21_tekun_since: Mapped[Optional[date]] = mapped_column(Date)  # 享受特困供养起始时间 (unknown: NULL)
    a22_relocated: Mapped[Optional[bool]] = mapped_column(Boolean)
    # Facts the key groups of a screening need [003 四个必到 / 六个必核] (unknown: NULL).
    unemployed: Mapped[Optional[bool]] = mapped_column(Boolean)  # 失业
    incapacitated: Mapped[Optional[bool]] = mapped_column(Boolean)  # 失能 (cannot look after oneself)
    studying_away: Mapped[Optional[bool]] = mapped_column(Boolean)  # 在外就读
    health_since: Mapped[Optional[date]] = mapped_column(Date)  # when the A13 state (大病, 残疾…) began
    phone: Mapped[Optional[str]] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="normal", index=True)
    status_date: Mapped[Optional[date]] = mapped_column(Date)
    # A member who moved here from another household of the register: the row left behind there.
    moved_from_member_id: Mapped[Optional[int]] = mapped_column(ForeignKey("member.id"))
    note: Mapped[Optional[str]] = mapped_column(Text)


class MemberEvent(Timestamps, Base):
    """A natural change (新生儿, 嫁入, 嫁出, 死亡, 迁出…): dated, never a deletion."""

    __tablename__ = "member_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # code list "member_event"
    event_date: Mapped[date] = mapped_column(Date)
    other_household_id: Mapped[Optional[int]] = mapped_column(ForeignKey("household.id"))
    note: Mapped[Optional[str]] = mapped_column(String(200))
    recorded_by: Mapped[Optional[str]] = mapped_column(String(64))
