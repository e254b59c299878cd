"""Every change writes an audit entry: one session hook sees every ORM insert and update.

Services never write audit rows by hand for ORM changes; bulk (Core) writes such as the demo
and imports call `record()` with a summary. Nothing is hard-deleted: deleting a register row
is refused here, so history stays true whatever a caller does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from ..models import AuditEntry, Household, Member, MemberEvent, Region, User
from . import access
from .errors import ServiceError
from .labels import field_label, format_value, table_label

SKIP = {"created_at", "updated_at", "head_name", "size", "last_login"}
PROTECTED = (Household, Member, MemberEvent)


class DeletionRefused(ServiceError):
    pass


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _household_of(obj) -> int | None:
    if isinstance(obj, Household):
        return obj.id
    return getattr(obj, "household_id", None)


def _pk(obj):
    # After the flush the key is on the instance even though the identity map is not updated yet.
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    return key[0] if len(key) == 1 and isinstance(key[0], int) else None


def _rows(session: Session) -> list[dict]:
    user = session.info.get("user", "system")
    rows = []
    for obj in session.new:
        if isinstance(obj, AuditEntry):
            continue
        rows.append(dict(user=user, action="insert", table_name=obj.__tablename__, record_id=_pk(obj),
                         household_id=_household_of(obj), field=None, old=None, new=None))
    for obj in session.dirty:
        if isinstance(obj, AuditEntry) or not session.is_modified(obj):
            continue
        state = inspect(obj)
        for attr in state.mapper.column_attrs:
            if attr.key in SKIP:
                continue
            hist = state.attrs[attr.key].history
            if not hist.has_changes():
                continue
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if _text(old) == _text(new):
                continue
            rows.append(dict(user=user, action="update", table_name=obj.__tablename__, record_id=_pk(obj),
                             household_id=_household_of(obj), field=attr.key, old=_text(old), new=_text(new)))
    return rows


@event.listens_for(Session, "before_flush")
def _refuse_deletes(session: Session, _ctx, _instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, PROTECTED):
            raise DeletionRefused(f"{table_label(obj.__tablename__)}不能删除：请改为登记状态变更")
    session.info["_audit_rows"] = None


@event.listens_for(Session, "after_flush")
def _write_audit(session: Session, _ctx) -> None:
    rows = _rows(session)
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def record(session: Session, action: str, table: str, *, record_id: int | None = None,
           household_id: int | None = None, field: str | None = None, old=None, new=None) -> None:
    """An audit entry for a change made outside the ORM unit of work (bulk writes, log-in)."""
    session.execute(insert(AuditEntry), [dict(
        user=session.info.get("user", "system"), action=action, table_name=table, record_id=record_id,
        household_id=household_id, field=field, old=_text(old), new=_text(new))])


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    user: str
    action: str
    what: str
    field: str
    old: str
    new: str


ACTIONS = {"insert": "新增", "update": "修改", "event": "变更登记", "import": "导入", "login": "登录",
           "login_failed": "登录失败", "logout": "注销", "unlock": "解除锁定",
           "demo": "生成演示数据", "init": "初始化", "move": "成员迁移"}


def history(session: Session, household_id: int, limit: int = 2000) -> list[HistoryRow]:
    """A household's own change history, newest first, in Chinese."""
    access.household(session, household_id)
    q = (select(AuditEntry).where(AuditEntry.household_id == household_id)
         .order_by(AuditEntry.id.desc()).limit(limit))  # the order of writing: a clock set back cannot reorder it
    return _rows_named(session, list(session.scalars(q)))


def recent(session: Session, limit: int = 500, offset: int = 0) -> list[HistoryRow]:
    """The newest entries. A 村级录入员 sees those of their villages' households and their own actions."""
    villages = access.scope(session)
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    if villages is not None:
        mine = select(Household.id).where(Household.village_id.in_(villages))
        q = q.where(AuditEntry.household_id.in_(mine) | (AuditEntry.household_id.is_(None)
                                                         & (AuditEntry.user == access.actor(session).username)))
    return _rows_named(session, list(session.scalars(q)))


# What names a record in a history: a member or user by name, a household by its number, a village by its name
# ("家庭成员 张三", "用户 王会计"), never "#4". Records of other tables keep their number.
_NAMED = {
    "member": (Member, Member.name),
    "household": (Household, Household.household_no),
    "user_": (User, User.display_name),
    "region": (Region, Region.name),
}


SYSTEM_NAMES = {"system": "系统", "first-run": "首次运行向导", "test": "系统"}


def user_names(session: Session, usernames) -> dict[str, str]:
    """Who acted, as people read it: a user's name (用户管理's 姓名) for each user name stored with a record
    (audit entries, steps, events, corrections); names of no user (the first-run wizard, the system) in Chinese."""
    access.logged_in(session)
    wanted = {u for u in usernames if u}
    found = dict(session.execute(select(User.username, User.display_name).where(User.username.in_(wanted))).all()) \
        if wanted else {}
    return {u: found.get(u) or SYSTEM_NAMES.get(u, u) for u in wanted}


def _rows_named(session: Session, entries: list[AuditEntry]) -> list[HistoryRow]:
    who = user_names(session, {e.user for e in entries})
    names: dict[tuple[str, int], str] = {}
    for table, (model, column) in _NAMED.items():
        ids = {e.record_id for e in entries if e.table_name == table and e.record_id is not None}
        if ids:
            for rid, name in session.execute(select(model.id, column).where(model.id.in_(ids))):
                names[(table, rid)] = name
    names.update(_step_and_clue_names(session, entries))
    return [to_row(e, names.get((e.table_name, e.record_id)), who.get(e.user)) for e in entries]


def _step_and_clue_names(session: Session, entries: list[AuditEntry]) -> dict[tuple[str, int], str]:
    """A step by its case and name ("#12 入户核实和农户授权承诺"), a clue by its date and source, a case by its
    number and kind, a member change by the member and the change: what the window shows, never a row number."""
    from ..models import Case, CaseStep, Clue, IncomeRecord, Measure
    from . import workflow  # late: workflow reads this module's names too
    from .codes import codes

    def ids(table):
        return {e.record_id for e in entries if e.table_name == table and e.record_id is not None}

    out: dict[tuple[str, int], str] = {}
    if wanted := ids("case_step"):
        q = select(CaseStep.id, CaseStep.case_id, CaseStep.step, Case.kind).join(Case, Case.id == CaseStep.case_id)
        for sid, cid, key, kind in session.execute(q.where(CaseStep.id.in_(wanted))):
            out[("case_step", sid)] = f"#{cid} {workflow.step_name(kind, key)}"
    if wanted := ids("case_"):
        names = workflow.kind_names()
        for cid, kind in session.execute(select(Case.id, Case.kind).where(Case.id.in_(wanted))):
            out[("case_", cid)] = f"#{cid} {names.get(kind, kind)}"
    if wanted := ids("clue"):
        sources = codes("clue_source")
        for cid, on, source in session.execute(select(Clue.id, Clue.reported_on, Clue.source)
                                               .where(Clue.id.in_(wanted))):
            out[("clue", cid)] = f"{on}（{sources.name(source, source)}）"
    if wanted := ids("member_event"):
        kinds = codes("member_event")
        q = select(MemberEvent.id, MemberEvent.kind, Member.name).join(Member, Member.id == MemberEvent.member_id)
        for eid, kind, name in session.execute(q.where(MemberEvent.id.in_(wanted))):
            out[("member_event", eid)] = f"{name} {kinds.name(kind, kind)}"
    for year in ids("year_settings"):
        out[("year_settings", year)] = f"{year} 年"
    if wanted := ids("income_record"):
        q = select(IncomeRecord.id, IncomeRecord.year, IncomeRecord.quarter, IncomeRecord.collected_on)
        for rid, year, quarter, on in session.execute(q.where(IncomeRecord.id.in_(wanted))):
            period = f"第 {quarter} 季度" if quarter else "全年"
            out[("income_record", rid)] = f"{year} 年{period}" + (f"（{on} 采集）" if on else "")
    if wanted := ids("correction"):
        from ..models import Correction
        from .corrections import FIELD_NAMES, KIND_NAMES
        for cid, kind, fld in session.execute(select(Correction.id, Correction.kind, Correction.field)
                                              .where(Correction.id.in_(wanted))):
            what = FIELD_NAMES.get(fld or "", "") if kind in ("step", "opened", "clue") else ""
            out[("correction", cid)] = f"{KIND_NAMES.get(kind, kind)} {what}".strip()
    if wanted := ids("measure"):
        for mid, item, start in session.execute(select(Measure.id, Measure.item, Measure.start_date)
                                                .where(Measure.id.in_(wanted))):
            out[("measure", mid)] = f"{item or ''}" + (f"（{start} 起）" if start else "")
    return out


def to_row(e: AuditEntry, name: str | None = None, user: str | None = None) -> HistoryRow:
    what = table_label(e.table_name)
    if name:
        what = f"{what} {name}"
    elif e.record_id is not None:
        what = f"{what} #{e.record_id}"
    return HistoryRow(e.at, user or e.user, ACTIONS.get(e.action, e.action), what,
                      field_label(e.table_name, e.field) if e.field else "",
                      format_value(e.table_name, e.field, e.old), format_value(e.table_name, e.field, e.new))
