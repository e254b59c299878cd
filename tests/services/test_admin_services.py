"""Service functions added for the administration windows: division codes and a clerk's villages (SPEC §12)."""

from __future__ import annotations

import pytest

from desktop.services import audit, auth, regions


def test_code_problem_accepts_twelve_digits_or_nothing():
    assert regions.code_problem("370305001001") is None
    assert regions.code_problem("") is None
    assert regions.code_problem(None) is None
    assert "12 位数字" in regions.code_problem("37030500100")
    assert "12 位数字" in regions.code_problem("37030500100x")


def _clerk_id(session) -> int:
    return next(u.id for u in auth.list_users(session) if u.username == "clerk")


def test_set_user_villages_replaces_the_list_and_is_audited(db, township, admin):
    east = township["villages"]["东村"]
    with db.session(admin) as s:
        auth.set_user_villages(s, _clerk_id(s), [east])
        s.commit()
    with db.session(admin) as s:
        row = next(u for u in auth.list_users(s) if u.username == "clerk")
        assert row.village_ids == (east,)
        user = auth.authenticate(s, "clerk", "Xc-cun-2024")
        assert user.village_ids == frozenset({east})
        entry = next(e for e in audit.recent(s) if e.what.startswith("用户村"))
        assert (entry.user, entry.old, entry.new) == ("管理员", "西村", "东村")


def test_set_user_villages_refuses_empty_list_and_non_clerks(db, township, admin):
    with db.session(admin) as s:
        with pytest.raises(auth.AuthError, match="至少要指定一个行政村"):
            auth.set_user_villages(s, _clerk_id(s), [])
        admin_id = next(u.id for u in auth.list_users(s) if u.username == "admin")
        with pytest.raises(auth.AuthError, match="只有村级录入员"):
            auth.set_user_villages(s, admin_id, [township["villages"]["东村"]])
        group = township["groups"][("东村", "一组")]
        with pytest.raises(auth.AuthError, match="不存在"):
            auth.set_user_villages(s, _clerk_id(s), [group])
