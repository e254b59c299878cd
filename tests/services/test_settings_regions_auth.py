from datetime import date
from decimal import Decimal

import pytest

from desktop.services import audit, auth, regions, register, settings, setup
from desktop.services.auth import AuthError
from desktop.services.regions import RegionError
from desktop.services.settings import SettingsError


def test_year_settings_default_period_and_time_point(ctx):
    ys = ctx.run(settings.set_year, 2025, monitoring_line="7,300元")
    assert ys.monitoring_line == Decimal("7300.00")
    assert (ys.period_start, ys.period_end, ys.status_time_point) == (date(2024, 10, 1), date(2025, 9, 30),
                                                                     date(2025, 9, 30))
    assert ys.rural_average is None


def test_year_settings_only_change_what_is_given_and_are_audited(ctx):
    ctx.run(settings.set_year, 2024, rural_average="15000")
    ys = ctx.read(settings.get_year, 2024)
    assert ys.monitoring_line == Decimal("7100.00") and ys.rural_average == Decimal("15000.00")
    rows = ctx.read(audit.recent)
    assert any(r.field.startswith("当地农村人均纯收入") and r.new == "15000.00" and r.user == "管理员" for r in rows)


@pytest.mark.parametrize("value,fragment", [("-1", "必须大于 0"), ("abc", "不是有效的金额"), ("0", "必须大于 0"),
                                            ("NaN", "不是有效的金额")])
def test_bad_monitoring_line_is_refused(ctx, value, fragment):
    with pytest.raises(SettingsError, match=fragment):
        ctx.run(settings.set_year, 2024, monitoring_line=value)
    assert ctx.read(settings.get_year, 2024).monitoring_line == Decimal("7100.00")


def test_period_must_run_forward(ctx):
    with pytest.raises(SettingsError, match="应早于"):
        ctx.run(settings.set_year, 2024, period_start=date(2024, 10, 1))


def test_township_cannot_be_initialized_twice(db, township, admin):
    with db.session(admin) as s:
        with pytest.raises(RegionError, match="不能重复初始化"):
            regions.init_township(s, "另一个镇")
        t = regions.township(s)
    assert (t.name, t.county, t.city, t.province) == ("稷下街道", "临淄区", "淄博市", "山东省")


def test_village_tree_with_groups_and_clerk_restriction(db, township, admin):
    with db.session(admin) as s:
        tree = regions.tree(s)
        assert [v.name for v in tree] == ["东村", "西村"]
        assert [g.name for g in tree[0].groups] == ["一组", "二组"]
        assert tree[0].rural_population == 1200
        only = regions.tree(s, frozenset({township["villages"]["西村"]}))
        assert [v.name for v in only] == ["西村"]


def test_village_tree_counts_working_households_per_village_and_group_or_leaves_them_uncounted(ctx, township):
    from tests.conftest import TODAY, family
    east = township["villages"]["东村"]
    one, two = (g.id for g in ctx.read(regions.tree)[0].groups)
    for serial, no, group in ((1, "H1", one), (4, "H2", two), (7, "H3", two)):
        data, members = family(east, group, no=no, serial=serial)
        ctx.run(register.save_household, data, members, TODAY, ctx.user)
    tree = ctx.read(regions.tree)
    assert [(v.name, v.households) for v in tree] == [("东村", 3), ("西村", 0)]
    assert [(g.name, g.households) for g in tree[0].groups] == [("一组", 1), ("二组", 2)]
    names_only = ctx.read(regions.tree, counts=False)
    assert [v.name for v in names_only] == ["东村", "西村"]
    assert {v.households for v in names_only} == {None}  # not counted: unknown, never a made-up 0
    assert {g.households for v in names_only for g in v.groups} == {None}


@pytest.mark.parametrize("call,fragment", [
    (lambda s, t: regions.add_village(s, "东村"), "已存在"),
    (lambda s, t: regions.add_village(s, " "), "不能为空"),
    (lambda s, t: regions.add_village(s, "南村", code="123"), "12 位数字"),
    (lambda s, t: regions.add_village(s, "南村", rural_population=-1), "不能为负数"),
    (lambda s, t: regions.add_group(s, t["villages"]["东村"], "一组"), "已有"),
    (lambda s, t: regions.add_group(s, t["groups"][("东村", "一组")], "三组"), "不存在"),
])
def test_region_mistakes_are_refused(db, township, call, fragment, admin):
    with db.session(admin) as s:
        with pytest.raises(RegionError, match=fragment):
            call(s, township)


def test_password_is_hashed_with_scrypt_and_verified(db, township, admin):
    from desktop.models import User
    with db.session(admin) as s:
        stored = s.query(User).filter_by(username="admin").one().password_hash
        assert stored.startswith("scrypt$") and "Jx-adm-2024" not in stored
        assert auth.verify_password("Jx-adm-2024", stored)
        assert not auth.verify_password("admin124", stored)


def test_login_roles_and_villages(db, township, admin):
    with db.session(admin) as s:
        admin = auth.authenticate(s, "admin", "Jx-adm-2024")
        clerk = auth.authenticate(s, "clerk", "Xc-cun-2024")
        s.commit()
    assert admin.is_admin and admin.village_ids is None and admin.role_name == "管理员"
    assert clerk.role_name == "村级录入员" and clerk.village_ids == {township["villages"]["西村"]}
    assert not clerk.may_edit_village(township["villages"]["东村"])


def test_login_failure_and_disabled_user(db, township, admin):
    with db.session(admin) as s:
        with pytest.raises(AuthError, match="用户名或密码不正确"):
            auth.authenticate(s, "admin", "wrong")
        clerk_id = [u.id for u in auth.list_users(s) if u.username == "clerk"][0]
        auth.set_user_active(s, clerk_id, False)
        with pytest.raises(AuthError):
            auth.authenticate(s, "clerk", "Xc-cun-2024")


def test_last_admin_cannot_be_disabled_and_clerk_needs_villages(db, township, admin):
    with db.session(admin) as s:
        admin_id = [u.id for u in auth.list_users(s) if u.username == "admin"][0]
        with pytest.raises(AuthError, match="至少要保留"):
            auth.set_user_active(s, admin_id, False)
        with pytest.raises(AuthError, match="至少要指定一个行政村"):
            auth.create_user(s, "c2", "c2", "clerk", "Shen-he-2024")
        with pytest.raises(AuthError, match="至少 8 位"):
            auth.create_user(s, "c3", "c3", "auditor", "123")
        with pytest.raises(AuthError, match="已存在"):
            auth.create_user(s, "admin", "x", "auditor", "Shen-he-2024")


def test_first_run_creates_township_year_and_admin(db):
    with db.session(bootstrap="tester") as s:
        assert setup.needs_first_run(s)
        fr = setup.FirstRun("稷下街道", "临淄区", None, "山东省", 2024, "7100", "boss", "王主任", "Wang-zr-2024")
        setup.complete_first_run(s, fr)
        s.commit()
        assert not setup.needs_first_run(s)
        assert settings.current_year(s) == 2024
        assert settings.get_year(s, 2024).monitoring_line == Decimal("7100.00")
        assert auth.authenticate(s, "boss", "Wang-zr-2024").is_admin


def test_first_run_requires_a_monitoring_line(db):
    with db.session(bootstrap="tester") as s:
        fr = setup.FirstRun("稷下街道", None, None, None, 2024, "", "boss", "王主任", "Wang-zr-2024")
        with pytest.raises(SettingsError, match="监测线"):
            setup.complete_first_run(s, fr)


def test_a_new_password_typed_twice_must_be_allowed_by_the_rule_and_the_same():
    assert auth.check_password_pair("Qiu-shou-9", "Qiu-shou-9") is None
    assert auth.check_password_pair("123", "123") == "密码至少 8 位"
    assert auth.check_password_pair("Qiu-shou-9", "Qiu-shou-8") == "两次输入的密码不一致"


@pytest.mark.parametrize("password, reason", [
    ("abc1234", "至少 8 位"), ("20241120", "全是数字"), ("13800000000", "全是数字"), ("aaaaaaaa", "重复"),
    ("abababab", "重复"), ("zhangsan2024", "用户名"), ("ZhangSan!", "用户名"), ("password", "最常见"),
    ("Admin123", "最常见"), ("woaini1314", "最常见"), ("1qaz2wsx", "最常见")])
def test_the_password_rule_refuses_the_obvious(password, reason):
    assert reason in auth.check_new_password(password, "zhangsan")


def test_the_password_rule_holds_in_the_services_too(db, township, admin):
    with db.session(admin) as s:
        with pytest.raises(AuthError, match="用户名"):
            auth.create_user(s, "wangwu", "王五", "auditor", "wangwu-2024")
        with pytest.raises(AuthError, match="最常见"):
            auth.reset_password(s, admin.id, "password1")
        with pytest.raises(AuthError, match="全是数字"):
            auth.change_password(s, admin.id, "Jx-adm-2024", "12345678901")
