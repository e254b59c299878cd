"""Several seats on one database (the county edition, or one SQLite file opened by two windows): no lost updates.

- A record a clerk edits carries the `version` it was read at (models.base.Versioned). A save names that version;
  when the stored record is newer, the save is refused (`Conflict`) with who changed what and when, from the audit
  log, and the window offers to reload. `expect_version()` is that check, the one place that words it.
- Two saves of the same read racing each other: the ORM's UPDATE … WHERE version = read fails for the second
  (StaleDataError); `from_stale()` turns that into the same Chinese refusal.
- Line-level edits (income lines, measures, members of one household) first lock the household
  (`lock_household`): their checks and writes then run one seat at a time, so nothing is duplicated.
"""

from __future__ import annotations

import re

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..models import AuditEntry, Case, CaseStep, Household
from .dates import beijing_text
from .db import take_write_lock
from .errors import ServiceError
from .labels import field_label, table_label

RELOAD = "您的保存没有执行，以免覆盖这次修改；请重新载入，在最新的内容上再修改。"


class Conflict(ServiceError):
    """Someone else changed the record since this seat read it; nothing was written. The window offers to
    reload (`reloadable`)."""

    reloadable = True


def describe_change(session: Session, table: str, record_id: int | None, *, household_id: int | None = None,
                    not_by: str | None = None) -> str:
    """“户信息 3703… 已由 王会计 于 2024-11-20 10:31:05（北京时间）修改：联系电话、住址”, from the newest audit
    entries of the record (or of the table's records in the household); "" when the log says nothing. A case
    changes with its steps (a step done raises the case's version): its entries are the case's and its steps'."""
    if table == Case.__tablename__ and record_id is not None:
        steps = select(CaseStep.id).where(CaseStep.case_id == record_id).scalar_subquery()
        q = select(AuditEntry).where(or_(
            and_(AuditEntry.table_name == table, AuditEntry.record_id == record_id),
            and_(AuditEntry.table_name == CaseStep.__tablename__, AuditEntry.record_id.in_(steps))))
    else:
        q = select(AuditEntry).where(AuditEntry.table_name == table)
        if record_id is not None:
            q = q.where(AuditEntry.record_id == record_id)
        elif household_id is not None:
            q = q.where(AuditEntry.household_id == household_id)
    q = q.order_by(AuditEntry.id.desc()).limit(50)
    if not_by is not None:
        q = q.where(AuditEntry.user != not_by)
    entries = list(session.scalars(q))
    if not entries:
        return ""
    last = entries[0]
    same = [e for e in entries if e.user == last.user and abs((last.at - e.at).total_seconds()) < 5]
    fields = []
    for e in same:
        name = field_label(e.table_name, e.field) if e.field else None
        if name and name not in fields:
            fields.append(name)
    what = "修改" if any(e.action == "update" for e in same) else \
        {"insert": "新增", "event": "变更登记"}.get(last.action, "修改")
    detail = f"：{'、'.join(fields)}" if fields else ""
    return f"已由“{last.user}”于 {beijing_text(last.at)}（北京时间）{what}{detail}"


def _name(session: Session, obj) -> str:
    label = table_label(obj.__tablename__)
    if isinstance(obj, Household):
        return f"{label} {obj.household_no}"
    name = getattr(obj, "name", None)
    if name:
        return f"{label} {name}"
    hid = getattr(obj, "household_id", None)
    if hid is not None:
        no = session.scalar(select(Household.household_no).where(Household.id == hid))
        return f"户 {no} 的{label}"
    return label


def expect_version(session: Session, obj, read_version: int | None) -> None:
    """Refuse to save over `obj` when it changed after the seat read it at `read_version` (None: a caller that
    read it in this same transaction, nothing to compare)."""
    if read_version is None or obj.version == read_version:
        return
    with session.no_autoflush:  # what this refused save has pending is not the change it is told about
        who = describe_change(session, obj.__tablename__, obj.id, not_by=None)
    raise Conflict(f"{_name(session, obj)}{who or '已被其他用户修改'}。{RELOAD}")


def lock_household(session: Session, household_id: int) -> Household | None:
    """Line-level edits of one household happen one seat at a time: PostgreSQL locks the household's row until
    the commit; SQLite takes its write lock (one writer for the whole file anyway). Returns the household as
    stored now (None when there is none)."""
    q = select(Household).where(Household.id == household_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    else:
        take_write_lock(session)
    return session.scalar(q)


_STALE_TABLE = re.compile(r"on table '([^']+)'")


def from_stale(session: Session, exc: Exception, user: str | None) -> Conflict:
    """The refusal for a save that lost a race (UPDATE … WHERE version = … matched nothing): read in a new
    session, after the rollback; names the other seat's change when the audit log has it."""
    m = _STALE_TABLE.search(str(exc))
    table = m.group(1) if m else None
    what = table_label(table) if table else "这条记录"
    who = describe_change(session, table, None, not_by=user) if table else ""
    return Conflict(f"{what}刚刚{who or '被其他用户修改'}。{RELOAD}")


# What the database says when a constraint stopped the second of two seats (SQLite names the columns,
# PostgreSQL the index), and what that means to a person.
_UNIQUE = (
    (("uq_case_open_household", "case_.household_id"),
     "该户已有进行中的流程（另一位用户刚刚发起），同一户同时只能有一个进行中的流程；本次没有发起。请刷新“认定流程”查看。"),
    (("uq_case_step_pending", "case_step.case_id"),
     "这一步骤刚刚已由另一位用户办理，本次办理没有保存；请重新载入流程查看。"),
    (("household_no", "household.household_no"),
     "该户编号刚刚已被另一位用户登记，本次没有保存；请重新载入后再保存。"),
)


def translate(db, exc: BaseException, user: str | None) -> ServiceError | None:
    """The Chinese refusal for a save that lost to another seat (stale version, a unique index), else None."""
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm.exc import StaleDataError
    if isinstance(exc, StaleDataError):
        with db.session("system") as s:
            return from_stale(s, exc, user)
    if isinstance(exc, IntegrityError):
        text = str(exc.orig) if exc.orig is not None else str(exc)
        for names, message in _UNIQUE:
            if any(n in text for n in names):
                return Conflict(message)
    return None
