from dataclasses import replace
from datetime import date

import pytest

from desktop.services import audit, register
from desktop.services.access import AccessDenied
from desktop.services.audit import DeletionRefused
from desktop.services.register import HouseholdFilter, RegisterError, ValidationError
from tests.conftest import TODAY, family, person


def save(ctx, data, members):
    return ctx.run(register.save_household, data, members, TODAY, ctx.user)


def test_save_new_household_sets_size_and_head(ctx, township):
    data, members = family(township["villages"]["东村"], township["groups"][("东村", "一组")])
    hid = save(ctx, data, members)
    got, got_members = ctx.read(register.get_household, hid)
    assert got.household_no == data.household_no
    assert [m.name for m in got_members] == ["张三", "李四", "张小堃"]
    rows = ctx.read(register.household_rows, [hid])
    assert rows[0].head_name == "张三" and rows[0].size == 3
    assert rows[0].village == "东村" and rows[0].group == "一组"


def test_sex_is_taken_from_the_id_when_blank(ctx, township):
    data, members = family(township["villages"]["东村"])
    members[1] = replace(members[1], sex=None)
    hid = save(ctx, data, members)
    assert ctx.read(register.get_household, hid)[1][1].sex == "2"


@pytest.mark.parametrize("change,fragment", [
    (lambda ms: ms.__setitem__(0, replace(ms[0], id_number=ms[0].id_number[:-1] + "0"
                                          if ms[0].id_number[-1] != "0" else ms[0].id_number[:-1] + "1")),
     "校验位错误"),
    (lambda ms: ms.__setitem__(1, replace(ms[1], sex="1")), "性别“男”与身份证号"),
    (lambda ms: ms.__setitem__(1, replace(ms[1], relation="01")), "一户只能有一名户主"),
    (lambda ms: ms.__setitem__(0, replace(ms[0], relation="03")), "没有户主"),
    (lambda ms: ms.__setitem__(2, replace(ms[2], id_number=ms[1].id_number, sex="2")), "证件号码相同"),
    (lambda ms: ms.__setitem__(0, replace(ms[0], work_months=13)), "0–12 个月"),
    (lambda ms: ms.__setitem__(0, replace(ms[0], name=" ")), "姓名不能为空"),
])
def test_invalid_members_are_refused_with_chinese_reason(ctx, township, change, fragment):
    data, members = family(township["villages"]["东村"])
    change(members)
    with pytest.raises(ValidationError) as e:
        save(ctx, data, members)
    assert fragment in str(e.value)
    assert ctx.read(register.household_ids, HouseholdFilter()) == []  # nothing stored


def test_birth_date_after_today_is_refused(ctx, township):
    data, members = family(township["villages"]["东村"])
    members.append(person("未来", date(2025, 1, 1), "1", "07", 9))
    problems = register.validate(data, members, TODAY)
    assert any("晚于" in p.message for p in problems)


def test_household_no_must_be_unique(ctx, township):
    v = township["villages"]["东村"]
    save(ctx, *family(v, no="A1", serial=1))
    with pytest.raises(ValidationError, match="已被其他户使用"):
        save(ctx, *family(v, no="A1", serial=10))


def test_id_living_in_another_household_is_refused(ctx, township):
    v = township["villages"]["东村"]
    save(ctx, *family(v, no="A1", serial=1))
    with pytest.raises(ValidationError, match="已登记在户 A1"):
        save(ctx, *family(v, no="A2", serial=1))


def test_group_must_belong_to_the_village(ctx, township):
    data, members = family(township["villages"]["西村"], township["groups"][("东村", "一组")])
    with pytest.raises(ValidationError, match="不属于所选行政村"):
        save(ctx, data, members)


def test_update_is_audited_with_old_and_new(ctx, township):
    hid = save(ctx, *family(township["villages"]["东村"]))
    data, members = ctx.read(register.get_household, hid)
    data.phone = "13900000000"
    members[2].school = "06"
    save(ctx, data, members)
    hist = ctx.read(audit.history, hid)
    phone = [h for h in hist if h.field == "联系电话" and h.what.startswith("户信息")]
    assert phone and phone[0].old == "13800000000" and phone[0].new == "13900000000"
    assert phone[0].user == "管理员"
    school = [h for h in hist if h.field == "A12 在校生状况"]
    assert school and school[0].old == "八年级" and school[0].new == "九年级"


def test_members_of_a_saved_household_change_only_by_events(ctx, township):
    hid = save(ctx, *family(township["villages"]["东村"]))
    data, members = ctx.read(register.get_household, hid)
    with pytest.raises(RegisterError, match="成员变更"):
        save(ctx, data, members[:2])


def test_death_is_a_dated_event_not_a_deletion(ctx, township):
    hid = save(ctx, *family(township["villages"]["东村"]))
    _, members = ctx.read(register.get_household, hid)
    ctx.run(register.record_event, hid, "death", date(2024, 5, 1), member_id=members[1].id, note="病故")
    _, members = ctx.read(register.get_household, hid)
    assert len(members) == 3
    assert members[1].status == "dead" and members[1].status_date == date(2024, 5, 1)
    assert ctx.read(register.household_rows, [hid])[0].size == 2
    ev = ctx.read(register.events, hid)
    assert ev[0].kind == "死亡" and ev[0].member_name == "李四" and ev[0].note == "病故"
    assert any(h.field == "成员状态" and h.new == "死亡" for h in ctx.read(audit.history, hid))


def test_birth_adds_a_member_with_an_event(ctx, township):
    hid = save(ctx, *family(township["villages"]["东村"]))
    baby = person("张䶮", date(2024, 3, 3), "2", "04", 30, labor="05")
    mid = ctx.run(register.record_event, hid, "birth", date(2024, 3, 3), new_member=baby, as_of=TODAY)
    _, members = ctx.read(register.get_household, hid)
    assert members[-1].id == mid and members[-1].name == "张䶮"
    assert ctx.read(register.household_rows, [hid])[0].size == 4


def test_second_head_by_event_is_refused(ctx, township):
    hid = save(ctx, *family(township["villages"]["东村"]))
    other = person("王五", date(1990, 3, 3), "1", "01", 31)
    with pytest.raises(ValidationError, match="已有户主"):
        ctx.run(register.record_event, hid, "married_in", date(2024, 3, 3), new_member=other)


def test_reduction_twice_is_refused(ctx, township):
    hid = save(ctx, *family(township["villages"]["东村"]))
    _, members = ctx.read(register.get_household, hid)
    ctx.run(register.record_event, hid, "married_out", date(2024, 5, 1), member_id=members[2].id)
    with pytest.raises(RegisterError, match="不能再登记"):
        ctx.run(register.record_event, hid, "death", date(2024, 6, 1), member_id=members[2].id)


def test_event_in_the_future_is_refused(ctx, township):
    hid = save(ctx, *family(township["villages"]["东村"]))
    _, members = ctx.read(register.get_household, hid)
    with pytest.raises(RegisterError, match="晚于今天"):
        ctx.run(register.record_event, hid, "death", date(2025, 1, 1), member_id=members[2].id, as_of=TODAY)


def test_move_member_keeps_both_histories(ctx, township):
    v = township["villages"]["东村"]
    a = save(ctx, *family(v, no="A1", serial=1))
    b = save(ctx, *family(v, no="B1", serial=10))
    _, members = ctx.read(register.get_household, a)
    new_id = ctx.run(register.move_member, members[2].id, b, date(2024, 7, 1), "07", "投靠祖父")
    _, a_members = ctx.read(register.get_household, a)
    _, b_members = ctx.read(register.get_household, b)
    assert a_members[2].status == "moved_out"
    assert b_members[-1].id == new_id and b_members[-1].name == "张小堃" and b_members[-1].relation == "07"
    assert ctx.read(register.events, a)[0].other_household_no == "B1"
    assert ctx.read(register.events, b)[0].other_household_no == "A1"
    assert ctx.read(register.household_rows, [a, b])[0].size == 2
    assert ctx.read(register.household_rows, [a, b])[1].size == 4


def test_deleting_a_member_is_refused(ctx, township):
    hid = save(ctx, *family(township["villages"]["东村"]))
    from desktop.models import Member
    with ctx.db.session(ctx.user) as s:
        m = s.query(Member).filter_by(household_id=hid).first()
        s.delete(m)
        with pytest.raises(DeletionRefused):
            s.flush()


def test_clerk_cannot_edit_another_village(db, township, admin):
    from desktop.services import auth
    from desktop.services.context import AppContext
    with db.session(admin) as s:
        clerk = auth.authenticate(s, "clerk", "Xc-cun-2024")
    cctx = AppContext(db=db, user=clerk, year=2024, today=lambda: TODAY)
    with pytest.raises(AccessDenied, match="没有“东村”的录入权限"):
        save(cctx, *family(township["villages"]["东村"]))
    assert save(cctx, *family(township["villages"]["西村"])) > 0


def test_search_by_name_id_number_household_no_and_phone(ctx, township):
    v1, v2 = township["villages"]["东村"], township["villages"]["西村"]
    a = save(ctx, *family(v1, no="3703050010010001", serial=1))
    data, members = family(v2, no="3703050020010002", serial=10)
    data.phone = "13512345678"
    members[0] = replace(members[0], name="王𠮷")
    b = save(ctx, data, members)

    def find(**kw):
        return ctx.read(register.household_ids, HouseholdFilter(**kw))
    assert find(text="王𠮷") == [b]
    assert find(text="小堃") == [a, b]
    assert find(text=members[0].id_number) == [b]
    assert find(text=members[0].id_number[:10]) == [a, b]
    assert find(text="0020010002") == [b]
    assert find(text="1234 5678") == [b]  # spaces ignored
    assert find(text="小堃", village_id=v1) == [a]
    assert find(text="%") == []
    assert find(text="不存在") == []


def test_filters_by_status_category_and_poverty(ctx, township):
    v = township["villages"]["东村"]
    data, members = family(v, no="A1", serial=1)
    data.a4_poverty_alleviated = True
    data.a3_category = "01"
    a = save(ctx, data, members)
    b = save(ctx, *family(v, no="B1", serial=10))
    assert ctx.read(register.household_ids, HouseholdFilter(poverty_alleviated=True)) == [a]
    assert ctx.read(register.household_ids, HouseholdFilter(poverty_alleviated=False)) == [b]
    assert ctx.read(register.household_ids, HouseholdFilter(category="01")) == [a]
    assert ctx.read(register.household_ids, HouseholdFilter(status="none")) == [a, b]
    assert ctx.read(register.household_ids, HouseholdFilter(status="monitoring")) == []
    assert ctx.read(register.household_ids, HouseholdFilter(), "household_no", True) == [b, a]


def test_an_unknown_poverty_alleviated_stays_unknown_in_the_list(ctx, township):
    data, members = family(township["villages"]["东村"])
    unknown = save(ctx, replace(data, a4_poverty_alleviated=None), members)
    [row] = ctx.read(register.household_rows, [unknown])
    assert row.poverty_alleviated is None  # not 否: nobody said the household was not a 脱贫户
    assert ctx.read(register.household_ids, HouseholdFilter(poverty_alleviated=False)) == []


def test_creation_is_in_the_household_history(ctx, township):
    hid = save(ctx, *family(township["villages"]["东村"]))
    hist = ctx.read(audit.history, hid)
    created = [h for h in hist if h.action == "新增"]
    assert "户信息 3703050010010001" in [h.what for h in created]  # named by its number, not "#id"
    assert len([h for h in created if h.what.startswith("家庭成员")]) == 3


def test_sort_by_village_and_group_uses_their_names(ctx, township):
    # 西村 was created after 东村 (higher id) but 东 sorts before 西 by name either way; use groups too.
    v1, v2 = township["villages"]["东村"], township["villages"]["西村"]
    a = save(ctx, *family(v2, township["groups"][("西村", "一组")], no="A1", serial=1))
    b = save(ctx, *family(v1, township["groups"][("东村", "二组")], no="B1", serial=10))
    c = save(ctx, *family(v1, township["groups"][("东村", "一组")], no="C1", serial=20))
    assert ctx.read(register.household_ids, HouseholdFilter(), "village") == [b, c, a]
    assert ctx.read(register.household_ids, HouseholdFilter(), "village", True) == [a, b, c]
    assert ctx.read(register.household_ids, HouseholdFilter(), "group") == [a, c, b]  # 一组, 一组, 二组


def test_search_long_numbers_by_prefix_and_member_phone(ctx, township):
    v = township["villages"]["东村"]
    data, members = family(v, no="3703050010010001", serial=1)
    members[1] = replace(members[1], phone="13912345678")
    a = save(ctx, data, members)
    b = save(ctx, *family(v, no="3703050010010002", serial=10))
    assert ctx.read(register.household_ids, HouseholdFilter(text="37030500100100")) == [a, b]
    assert ctx.read(register.household_ids, HouseholdFilter(text="3703050010010002")) == [b]
    assert ctx.read(register.household_ids, HouseholdFilter(text="12345678")) == [a]
    full = members[2].id_number
    assert ctx.read(register.household_ids, HouseholdFilter(text=full.lower())) == [a]


def test_id_search_by_prefix_from_ten_digits_and_by_ending_below(ctx, township):
    v = township["villages"]["东村"]
    data, members = family(v, no="A1", serial=1)
    a = save(ctx, data, members)
    number = members[0].id_number
    assert ctx.read(register.household_ids, HouseholdFilter(text=number[:10])) == [a]
    assert ctx.read(register.household_ids, HouseholdFilter(text=number[-6:])) == [a]
    assert ctx.read(register.household_ids, HouseholdFilter(text=number[4:14])) == []  # the middle: not a prefix
