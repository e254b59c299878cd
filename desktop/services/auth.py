"""Users, roles and log-in. Passwords are hashed with scrypt (a slow, memory-hard KDF).

Log-in (SPEC §12): after a failed log-in the next attempt under that name is not checked before a growing delay
(1, 2, 4, 8 s); the 5th failure in a row locks the name for 15 minutes (a 管理员 can lift it in 用户管理). A name
that does not exist is delayed and locked exactly like one that does, and its password is checked against a
dummy hash of the same cost, so neither the answer nor its time tells which names exist. Every attempt, refused
or not, is written to the audit log; a failed one is committed even though the log-in is refused."""

from __future__ import annotations

import hashlib
import hmac
import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from ..models import LoginGuard, Region, User, UserVillage
from ..models.base import utcnow
from ..paths import resource_path
from . import access, audit, keys
from .codes import codes
from .errors import ServiceError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 8
LOCK_AFTER = 5  # failed log-ins in a row that lock the name
LOCK_MINUTES = 15
MAX_DELAY_SECONDS = 30
PASSWORD_HINT = f"至少 {MIN_PASSWORD} 位，不能全是数字，不能含用户名"


class AuthError(ServiceError):
    pass


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    display_name: str
    role: str
    village_ids: frozenset[int] | None  # None: every village (管理员, 乡镇审核员)

    @property
    def role_name(self) -> str:
        return codes("role").name(self.role)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def village_scoped(self) -> bool:
        """Sees only the villages assigned (村级录入员): the window says 本村 where others see the township."""
        return self.village_ids is not None

    def may_edit_village(self, village_id: int) -> bool:
        return self.village_ids is None or village_id in self.village_ids


def hash_password(password: str, *, n: int | None = None) -> str:
    n = n or SCRYPT_N
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                         dklen=len(digest) // 2)
    return hmac.compare_digest(got.hex(), digest)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = resource_path("common_passwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(ln.strip().lower() for ln in lines if ln.strip() and not ln.startswith("#"))


def check_new_password(password: str, username: str | None = None) -> str | None:
    """The password rule: refuses the obvious (short, all digits, one character repeated, the user name, one of
    the most common passwords). Returns the reason in Chinese, or None when the password may be used."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 位"
    if password.isdigit():
        return "密码不能全是数字"
    if len(set(password)) < 3:
        return "密码不能只由一两个字符重复组成"
    name = (username or "").strip().lower()
    if len(name) >= 3 and (name in password.lower() or password.lower() in name):
        return "密码不能包含用户名"
    if password.lower() in common_passwords():
        return "这是最常见的密码之一，容易被猜中：请换一个"
    return None


def check_password_pair(password: str, confirmation: str, username: str | None = None) -> str | None:
    """A new password typed twice: allowed by the rule, and the same both times."""
    if (msg := check_new_password(password, username)):
        return msg
    if password != confirmation:
        return "两次输入的密码不一致"
    return None


def create_user(session: Session, username: str, display_name: str, role: str, password: str,
                village_ids: list[int] | None = None, *, exempt_from_rule: bool = False) -> int:
    """A new user. `exempt_from_rule` is only for the demo's admin / admin123 on a new database (said on screen)."""
    access.admin(session, "新增用户")
    username = username.strip()
    if not username:
        raise AuthError("用户名不能为空")
    if role not in codes("role"):
        raise AuthError(f"未知角色：{role}")
    if not exempt_from_rule and (msg := check_new_password(password, username)):
        raise AuthError(msg)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AuthError(f"用户名“{username}”已存在")
    if role == "clerk" and not village_ids:
        raise AuthError("村级录入员至少要指定一个行政村")
    user = User(username=username, display_name=display_name.strip() or username, role=role,
                password_hash=hash_password(password))
    session.add(user)
    session.flush()
    keys.stage(session, "set_password", username, password)  # their slot of the data key, written at commit
    for vid in village_ids or []:
        session.add(UserVillage(user_id=user.id, village_id=vid))
    session.flush()
    return user.id


def load_user(session: Session, user_id: int) -> CurrentUser | None:
    """The user as they are now in the database (None when removed or disabled)."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return _current(session, user)


def _current(session: Session, user: User) -> CurrentUser:
    villages = None
    if user.role == "clerk":
        villages = frozenset(session.scalars(select(UserVillage.village_id).where(UserVillage.user_id == user.id)))
    return CurrentUser(user.id, user.username, user.display_name, user.role, villages)


def dummy_hash() -> str:
    """A stored-hash of the production cost that matches no password: checked for a name that does not exist,
    so that the answer takes as long as for one that does."""
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${'00' * 16}${'00' * 32}"


def delay_after(failures: int) -> timedelta:
    """How long the next attempt waits after `failures` failed log-ins in a row (1, 2, 4, 8 … s)."""
    if failures <= 0:
        return timedelta(0)
    return timedelta(seconds=min(2 ** (failures - 1), MAX_DELAY_SECONDS))


@dataclass(frozen=True)
class GuardState:
    failures: int
    retry_at: datetime | None
    locked_until: datetime | None

    def wait(self, now: datetime) -> timedelta:
        """How long until an attempt is checked again (zero when it may be tried now)."""
        until = max((t for t in (self.retry_at, self.locked_until) if t is not None), default=None)
        return max(until - now, timedelta(0)) if until else timedelta(0)

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def _guard(session: Session, name: str) -> GuardState:
    row = session.execute(select(LoginGuard.failures, LoginGuard.retry_at, LoginGuard.locked_until)
                          .where(LoginGuard.username == name)).first()
    return GuardState(*row) if row else GuardState(0, None, None)


def _seconds(d: timedelta) -> int:
    return max(1, math.ceil(d.total_seconds()))


def _refuse(session: Session, name: str, user_id: int | None, reason: str, message: str) -> None:
    """Write the failed attempt to the audit log, keep it (the caller rolls back what a refusal leaves), refuse."""
    _audit_as(session, name or "（空）", "login_failed", user_id, reason)
    session.commit()
    raise AuthError(message)


def _audit_as(session: Session, name: str, action: str, user_id: int | None, note: str | None = None) -> None:
    """An audit entry written in the name of the one logging in (the session's own name is kept)."""
    before = session.info.get("user")
    session.info["user"] = name
    try:
        audit.record(session, action, "user_", record_id=user_id, new=note)
    finally:
        session.info["user"] = before if before is not None else "system"


def guard_refusal(state: GuardState, now: datetime) -> tuple[str, str] | None:
    """(audit reason, message) when the name may not be tried now: locked, or its delay not yet over."""
    if state.locked(now):
        minutes = math.ceil((state.locked_until - now).total_seconds() / 60)
        return "已锁定", (f"连续 {LOCK_AFTER} 次登录失败，该账号已锁定：请 {minutes} 分钟后再试，"
                       "或请管理员在“用户管理”中解除锁定")
    if (wait := state.wait(now)) > timedelta(0):
        return "未到重试时间", f"登录失败次数较多：请 {_seconds(wait)} 秒后再试"
    return None


def after_failure(state: GuardState, now: datetime, reason: str) -> tuple[GuardState, str, str]:
    """The name's state after one more failed log-in, the audit reason and the message (the same for a known and
    an unknown name)."""
    failures = state.failures + 1
    locked_until = now + timedelta(minutes=LOCK_MINUTES) if failures >= LOCK_AFTER else None
    new = GuardState(0 if locked_until else failures, now + delay_after(failures), locked_until)
    if locked_until:
        return new, f"{reason}，已锁定", (f"用户名或密码不正确。连续 {LOCK_AFTER} 次登录失败，"
                                        f"该账号已锁定 {LOCK_MINUTES} 分钟")
    return new, reason, f"用户名或密码不正确（再错 {LOCK_AFTER - failures} 次将锁定 {LOCK_MINUTES} 分钟）"


def authenticate(session: Session, username: str, password: str, *, now: datetime | None = None,
                 password_checked: bool = False) -> CurrentUser:
    """The user, when the name and password match an active user and the name is neither locked nor waiting its
    delay. Known and unknown names take the same path: one scrypt of the same cost either way.

    `password_checked`: the password has just unwrapped this user's slot of the data key (services.opening), which
    is the check on an encrypted database; it is not hashed a second time."""
    now = now or utcnow()
    name = username.strip()[:64]
    state = _guard(session, name)
    user = session.scalar(select(User).where(User.username == name))
    uid = user.id if user is not None else None
    if (refusal := guard_refusal(state, now)) is not None:
        _refuse(session, name, uid, *refusal)
    ok = password_checked or verify_password(password, user.password_hash if user is not None else dummy_hash())
    if user is None or not user.active or not ok:
        reason = "用户不存在" if user is None else ("账号已停用" if not user.active else "密码不正确")
        new, reason, message = after_failure(state, now, reason)
        values = dict(failures=new.failures, last_failed_at=now, retry_at=new.retry_at,
                      locked_until=new.locked_until)
        if session.scalar(select(LoginGuard.username).where(LoginGuard.username == name)) is None:
            session.execute(insert(LoginGuard).values(username=name, **values))
        else:
            session.execute(update(LoginGuard).where(LoginGuard.username == name).values(**values))
        _refuse(session, name, uid, reason, message)
    session.execute(delete(LoginGuard).where(LoginGuard.username == name))
    user.last_login = now
    _audit_as(session, user.username, "login", user.id)
    return _current(session, user)


def log_out(session: Session) -> None:
    """注销/切换用户: written to the audit log."""
    user = access.actor(session)
    _audit_as(session, user.username, "logout", user.id)


def unlock_user(session: Session, user_id: int) -> None:
    """Lift a lockout (and the delay) of a user's name: 管理员 only."""
    access.admin(session, "解除账号锁定")
    user = session.get(User, user_id)
    if user is None:
        raise AuthError("用户不存在")
    gone = session.execute(delete(LoginGuard).where(LoginGuard.username == user.username)).rowcount
    vault = session.info.get("vault")
    if vault is not None and vault.clear_guard(user.username):  # the state kept before the database opens
        gone = True
    if gone:
        audit.record(session, "unlock", "user_", record_id=user.id, new=f"解除“{user.username}”的登录锁定")


def lock_state(session: Session, now: datetime | None = None) -> dict[str, datetime]:
    """Locked user names and until when (UTC): for 用户管理."""
    access.admin(session, "查看用户")
    now = now or utcnow()
    locked = dict(session.execute(select(LoginGuard.username, LoginGuard.locked_until)
                                  .where(LoginGuard.locked_until > now)).all())
    vault = session.info.get("vault")
    if vault is not None:  # failed log-ins before the database could be opened
        for name, until in vault.locked(list(session.scalars(select(User.username))), now).items():
            locked[name] = max(until, locked.get(name, until))
    return locked


def change_password(session: Session, user_id: int, old: str, new: str) -> None:
    if access.actor(session).id != user_id:
        raise access.AccessDenied("只能修改自己的密码；他人的密码由管理员重置")
    user = session.get(User, user_id)
    if user is None or not _password_ok(session, user, old):
        raise AuthError("原密码不正确")
    if (msg := check_new_password(new, user.username)):
        raise AuthError(msg)
    user.password_hash = hash_password(new)
    keys.stage(session, "set_password", user.username, new)  # the slot rewrapped under the new password


def _password_ok(session: Session, user: User, password: str) -> bool:
    """On an encrypted database the user's slot of the data key is the password's check (it stays right after a
    backup with an older hash is restored); elsewhere the stored hash."""
    vault = session.info.get("vault")
    if vault is not None and vault.has(user.username):
        return vault.check(user.username, password)
    return verify_password(password, user.password_hash)


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    display_name: str
    role: str
    role_name: str
    active: bool
    village_ids: tuple[int, ...]
    locked_minutes: int = 0  # minutes the lockout still lasts (0: not locked)
    # enabled again after being disabled: no password opens the encrypted database for them until one is reset
    needs_password: bool = False


def list_users(session: Session, now: datetime | None = None) -> list[UserRow]:
    access.admin(session, "查看用户")
    now = now or utcnow()
    links: dict[int, list[int]] = {}
    for uid, vid in session.execute(select(UserVillage.user_id, UserVillage.village_id)):
        links.setdefault(uid, []).append(vid)
    locked = lock_state(session, now)
    vault = session.info.get("vault")
    return [UserRow(u.id, u.username, u.display_name, u.role, codes("role").name(u.role), u.active,
                    tuple(links.get(u.id, ())),
                    math.ceil((locked[u.username] - now).total_seconds() / 60) if u.username in locked else 0,
                    needs_password=bool(u.active and vault is not None and not vault.has(u.username)))
            for u in session.scalars(select(User).order_by(User.id))]


def set_user_active(session: Session, user_id: int, active: bool) -> None:
    access.admin(session, "停用或启用用户")
    user = session.get(User, user_id)
    if user is None:
        raise AuthError("用户不存在")
    if not active and user.role == "admin":
        admins = session.scalars(select(User).where(User.role == "admin", User.active.is_(True))).all()
        if len(admins) <= 1:
            raise AuthError("至少要保留一个启用的管理员")
    if not active and user.active:
        # Their password no longer opens the data key; enabling the account again needs a new password (重置密码).
        keys.stage(session, "remove", user.username)
    user.active = active


def reset_password(session: Session, user_id: int, new: str) -> None:
    access.admin(session, "重置密码")
    user = session.get(User, user_id)
    if user is None:
        raise AuthError("用户不存在")
    if (msg := check_new_password(new, user.username)):
        raise AuthError(msg)
    user.password_hash = hash_password(new)
    keys.stage(session, "set_password", user.username, new)
    keys.stage(session, "clear_guard", user.username)
    session.execute(delete(LoginGuard).where(LoginGuard.username == user.username))  # a fresh start


def recover_admin(session: Session, username: str, password: str) -> int:
    """Every password lost (services.opening.recover, after the recovery key opened the data key): `username`, an
    administrator (or a new one by that name), gets this password, enabled and unlocked. Returns the user's id."""
    if not session.info.get("recovery_key_checked"):
        raise access.AccessDenied("未登录：需要恢复密钥")
    if (msg := check_new_password(password, username)):
        raise AuthError(msg)
    user = session.scalar(select(User).where(User.username == username))
    session.info["user"] = username
    if user is None:
        user = User(username=username, display_name=username, role="admin", password_hash=hash_password(password))
        session.add(user)
    elif user.role != "admin":
        raise AuthError(f"“{username}”不是管理员：恢复密钥只能重设管理员的密码，或输入一个新的用户名建立管理员")
    else:
        user.password_hash = hash_password(password)
        user.active = True
    session.flush()
    keys.stage(session, "set_password", username, password)
    keys.stage(session, "clear_guard", username)
    session.execute(delete(LoginGuard).where(LoginGuard.username == username))
    audit.record(session, "recover", "user_", record_id=user.id, new=f"用恢复密钥重设管理员“{username}”的密码")
    return user.id


def user_count(session: Session) -> int:
    return len(session.scalars(select(User.id)).all())


def set_user_villages(session: Session, user_id: int, village_ids: list[int]) -> None:
    """Replace the villages a 村级录入员 may work on (at least one)."""
    access.admin(session, "分配行政村")
    user = session.get(User, user_id)
    if user is None:
        raise AuthError("用户不存在")
    if user.role != "clerk":
        raise AuthError("只有村级录入员需要指定行政村")
    wanted = set(village_ids)
    if not wanted:
        raise AuthError("村级录入员至少要指定一个行政村")
    links = {link.village_id: link for link in
             session.scalars(select(UserVillage).where(UserVillage.user_id == user_id))}
    if wanted == set(links):
        return
    names = dict(session.execute(select(Region.id, Region.name).where(Region.id.in_(wanted | set(links)),
                                                                      Region.level == "village")).all())
    if set(names) != wanted | set(links):
        raise AuthError("所选行政村不存在")
    for vid, link in links.items():
        if vid not in wanted:
            session.delete(link)
    for vid in wanted - set(links):
        session.add(UserVillage(user_id=user_id, village_id=vid))
    session.flush()
    # Deletions are not seen by the audit hook: one summary entry, old → new, in names.
    audit.record(session, "update", "user_village", record_id=user_id,
                 old="、".join(sorted(names[v] for v in links)), new="、".join(sorted(names[v] for v in wanted)))


def limited_to_villages(role: str | None) -> bool:
    """A role that works only in the villages given to the user (村级录入员)."""
    return role == "clerk"
