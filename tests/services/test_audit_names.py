"""Issue 19 problem 11: histories name what changed ("家庭成员 张三", "用户 王会计"), never "#4"."""

from __future__ import annotations

from desktop.services import audit, auth, register

from ..conftest import TODAY, family


def test_history_names_members_households_and_users(ctx, township):
    data, members = family(township["villages"]["东村"])
    hid = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    data, members = ctx.read(register.get_household, hid)
    members[1].phone = "13911112222"
    ctx.run(register.save_household, data, members, TODAY, ctx.user)
    whats = {r.what for r in ctx.read(audit.history, hid)}
    assert {"家庭成员 张三", "家庭成员 李四", "户信息 3703050010010001"} <= whats
    assert not any("#" in w for w in whats if w.startswith("家庭成员"))
    uid = ctx.run(auth.create_user, "wang", "王会计", "auditor", "Kj8#mq2Lp7")
    assert uid
    recent = {r.what for r in ctx.read(audit.recent, 50)}
    assert any(w.endswith(" 王会计") for w in recent)
    assert not any(w.endswith(f"#{uid}") for w in recent)
