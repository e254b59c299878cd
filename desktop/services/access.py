"""Who may do what: the one place that answers it, asked by every service (SPEC §12).

The acting user travels with the session (`session.info["actor"]`, set by `attach()` when a window or the command
line opens a session for a logged-in user). Each service function starts with one call here; a session without a
user is refused, so no caller — window, command line, import, a script — can skip the check by leaving a user out.

Roles: 管理员 (admin) everything; 乡镇审核员 (auditor) every village's data and the settings and villages;
村级录入员 (clerk) reads and writes only the households of their villages, the audit log of those households, and
never settings, villages, users or backups.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Household, Region, User, UserVillage
from .errors import ServiceError

if TYPE_CHECKING:
    from .auth import CurrentUser

ADMIN, AUDITOR, CLERK = "admin", "auditor", "clerk"
MANAGERS = frozenset({ADMIN, AUDITOR})  # settings, villages, every village's data


class AccessDenied(ServiceError):
    """The acting user may not do this (or nobody is logged in)."""


class AccountDisabled(AccessDenied):
    """The account was disabled (or removed) while its window was open: the window logs out."""


def attach(session: Session, actor: CurrentUser) -> CurrentUser:
    """Make `actor` the acting user of the session, reloaded from the database so that a role, villages or an
    account disabled since the log-in take effect at the next action. Returns the fresh user."""
    from .auth import load_user
    fresh = load_user(session, actor.id)
    if fresh is None:
        raise AccountDisabled(f"账号“{actor.username}”已被停用，本次操作没有执行。请联系管理员")
    session.info["actor"] = fresh
    session.info["user"] = fresh.username
    return fresh


def attach_bootstrap(session: Session, name: str = "system") -> None:
    """The first run (wizard, `init`, `demo` on a new database) acts before any user exists: it may set the
    township up and create the first administrator. Refused once a user exists: from then on, a log-in."""
    if session.scalar(select(User.id).limit(1)) is not None:
        raise AccessDenied("数据库已有用户：请用用户名和密码登录")
    from .auth import CurrentUser
    session.info["actor"] = CurrentUser(0, name, name, ADMIN, None)
    session.info["user"] = name


def actor(session: Session) -> CurrentUser:
    """The logged-in user of the session; refused when there is none."""
    user = session.info.get("actor")
    if user is None:
        raise AccessDenied("未登录：请先用用户名和密码登录")
    return user


def logged_in(session: Session) -> CurrentUser:
    """Any logged-in user. What they then see is narrowed to their villages by the service."""
    return actor(session)


def manager(session: Session, what: str = "修改设置") -> CurrentUser:
    """管理员 or 乡镇审核员: settings per year, villages and groups, the township."""
    user = actor(session)
    if user.role not in MANAGERS:
        raise AccessDenied(f"{_role(user)}不能{what}")
    return user


def admin(session: Session, what: str = "管理用户") -> CurrentUser:
    """管理员 only: users, backups and restore, copies of the whole database."""
    user = actor(session)
    if user.role != ADMIN:
        raise AccessDenied(f"只有管理员可以{what}")
    return user


def whole_township(session: Session, what: str) -> CurrentUser:
    """Work on every village at once (the whole register's export, a synthetic township): 管理员, 乡镇审核员."""
    return manager(session, what)


def scope(session: Session) -> frozenset[int] | None:
    """The villages the acting user may see: None for every village."""
    return actor(session).village_ids


def narrow(session: Session, village_ids: Iterable[int] | None) -> frozenset[int] | None:
    """The villages asked for, cut to those the acting user may see (None asked: all they may see)."""
    allowed = scope(session)
    if village_ids is None:
        return allowed
    asked = frozenset(village_ids)
    return asked if allowed is None else asked & allowed


def village(session: Session, village_id: int | None, *, write: bool = False) -> CurrentUser:
    """May the acting user see (or change) this village's households?"""
    user = actor(session)
    if village_id is not None and user.village_ids is not None and village_id not in user.village_ids:
        raise AccessDenied(f"您没有“{_village_name(session, village_id)}”的{'录入' if write else '查看'}权限")
    return user


def household(session: Session, household_id: int | None, *, write: bool = False) -> CurrentUser:
    """May the acting user see (or change) this household? Unknown households are left to the service."""
    user = actor(session)
    if user.village_ids is not None and household_id is not None:
        vid = session.scalar(select(Household.village_id).where(Household.id == household_id))
        if vid is not None:
            village(session, vid, write=write)
    return user


def owned(session: Session, model, record_id: int | None, *, write: bool = False) -> CurrentUser:
    """A row that belongs to a household (a measure, case, clue, member, income record): the household's village
    decides. Rows without a household (a clue not yet tied to one) are open to every logged-in user."""
    user = actor(session)
    if user.village_ids is not None and record_id is not None:
        hid = session.scalar(select(model.household_id).where(model.id == record_id))
        household(session, hid, write=write)
    return user


def households(session: Session, household_ids: Iterable[int], *, write: bool = False) -> CurrentUser:
    """Every household of a list (e.g. the households a report prints) must be within the user's villages."""
    user = actor(session)
    if user.village_ids is None:
        return user
    ids = list(set(household_ids))
    for chunk in range(0, len(ids), 900):
        rows = session.execute(select(Household.village_id).where(Household.id.in_(ids[chunk:chunk + 900]),
                                                                  Household.village_id.not_in(user.village_ids)))
        vid = rows.scalar()
        if vid is not None:
            village(session, vid, write=write)
    return user


def within(session: Session, household_ids: list[int] | None) -> list[int] | None:
    """For bulk reads over many households: the ids given (each checked), or for a 村级录入员 who gave none, the
    households of their villages (None stays None for users who see every village)."""
    user = actor(session)
    if user.village_ids is None:
        return household_ids
    if household_ids is None:
        return list(session.scalars(select(Household.id).where(Household.village_id.in_(user.village_ids))))
    households(session, household_ids)
    return household_ids


def report_village(session: Session, village_name: str | None, listed: bool = False) -> str | None:
    """The village a document is printed for. A 村级录入员 prints only their villages: with one village and none
    named, theirs; with several, they must name one (or list households, checked by `report_scope`)."""
    user = actor(session)
    if user.village_ids is None or listed:
        return village_name
    if village_name and village_name.strip():
        vid = session.scalar(select(Region.id).where(Region.level == "village", Region.name == village_name.strip()))
        if vid is not None:
            village(session, vid)
        return village_name
    if len(user.village_ids) == 1:
        return _village_name(session, next(iter(user.village_ids)))
    raise AccessDenied("村级录入员只能打印本人负责的村：请选择行政村")


def report_scope(session: Session, sc) -> CurrentUser:
    """A document's scope (reports.common.Scope) must lie within the acting user's villages."""
    user = actor(session)
    if user.village_ids is None:
        return user
    if sc.household_ids is not None:
        return households(session, sc.household_ids)
    if sc.village_id is None:
        raise AccessDenied("村级录入员只能打印本人负责的村：请选择行政村")
    return village(session, sc.village_id)


def household_no(session: Session, household_no: str | None, *, write: bool = False) -> CurrentUser:
    user = actor(session)
    if user.village_ids is not None and household_no:
        vid = session.scalar(select(Household.village_id).where(Household.household_no == household_no.strip()))
        if vid is not None:
            village(session, vid, write=write)
    return user


def visible_village(session: Session, village_id: int) -> bool:
    """For filtering lists: may the acting user see this village?"""
    allowed = scope(session)
    return allowed is None or village_id in allowed


def user_villages(session: Session, user_id: int) -> frozenset[int]:
    return frozenset(session.scalars(select(UserVillage.village_id).where(UserVillage.user_id == user_id)))


def _role(user: CurrentUser) -> str:
    return user.role_name


def _village_name(session: Session, village_id: int) -> str:
    name = session.scalar(select(Region.name).where(Region.id == village_id))
    return name or f"行政村 #{village_id}"
