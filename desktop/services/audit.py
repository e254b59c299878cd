"""Every change writes an audit entry: one session hook sees every ORM insert and update.

Services never write audit rows by hand for ORM changes; bulk (Core) writes such as the demo
and imports call `record()` with a summary. Nothing is hard-deleted: deleting a register row
is refused here, so history stays true whatever a caller does.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Callable, Iterable

from sqlalchemy import bindparam, event, func, insert, inspect, select
from sqlalchemy.orm import Session

from ..models import AppSetting, AuditEntry, Household, Member, MemberEvent, Region, User
from ..models.base import utcnow
from . import access, dataversion
from .errors import ServiceError
from .labels import field_label, format_value, table_label

SKIP = {"created_at", "updated_at", "head_name", "size", "last_login", "version"}
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
        append(session, rows)


def record(session: Session, action: str, table: str, *, record_id: int | None = None,
           household_id: int | None = None, field: str | None = None, old=None, new=None,
           at: datetime | None = None) -> None:
    """An audit entry for a change made outside the ORM unit of work (bulk writes, log-in)."""
    row = dict(user=session.info.get("user", "system"), action=action, table_name=table, record_id=record_id,
               household_id=household_id, field=field, old=_text(old), new=_text(new))
    if at is not None:
        row["at"] = at
    append(session, [row])


# ------------------------------------------------------------------ the chain (SPEC §12)
#
# Entry n holds chain_n = HMAC-SHA256(K, chain_{n-1} ‖ content_n), content_n being its number, time, user, action,
# table, record, household, field, old and new value (each length-prefixed); chain_0 is 32 zero bytes. K is a
# random secret in app_setting (created by migration 0020), inside the encrypted database.
#
# Appends are serialised so two seats or a bulk import can never fork the chain:
# - SQLite (one writer anyway): the writer takes the database's write lock (a write in the same transaction), reads
#   the newest entry and numbers its rows after it, at once.
# - PostgreSQL (several seats): the rows wait in the connection until its COMMIT. Just before it (the engine's
#   commit event, after the last flush) the writer takes a transaction-level advisory lock, reads the newest entry,
#   numbers and chains its rows and inserts them. The lock is held for the moment of the commit, not for the whole
#   transaction: one seat's long import does not hold the others' saves, and two transactions open in one thread
#   cannot wait on each other. A rollback (or a rolled-back savepoint) drops its waiting rows with its writes.

CHAIN_SETTING = "audit_chain_key"
CHAIN_COLUMNS = ("id", "at", "user", "action", "table_name", "record_id", "household_id", "field", "old", "new")
_ZERO = bytes(32)
_ADVISORY_LOCK = 0x66616E72  # "fanr": the audit chain on PostgreSQL (migrations hold "fanp", imports "fanq")
_PENDING = "audit.pending"  # connection info: PostgreSQL's rows waiting for the commit
_MARKS = "audit.marks"  # connection info: savepoint name -> how many rows were waiting when it began
_keys: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine -> (inner, outer) HMAC states
_keys_lock = threading.Lock()


def _hmac_states(key: bytes) -> tuple:
    """HMAC-SHA256's padded inner and outer states, computed once: each entry then costs two copies of a hash
    state instead of a new HMAC object (400,000 entries in well under a second)."""
    block = key.ljust(64, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in block)), hashlib.sha256(bytes(b ^ 0x5C for b in block)))


def _f(value) -> str:
    if value is None:
        return "-"
    value = str(value)
    return f"{len(value)}:{value}"


def _at(value) -> str:
    if isinstance(value, datetime):
        return value.isoformat(" ", "microseconds")
    return str(value)  # as stored, when read back raw


def _content(row) -> bytes:
    """What an entry's hash covers, the same when written and when read back."""
    return (f"{row['id']}|{_at(row['at'])}|{_f(row['user'])}|{_f(row['action'])}|{_f(row['table_name'])}|"
            f"{_f(row['record_id'])}|{_f(row['household_id'])}|{_f(row['field'])}|{_f(row['old'])}|"
            f"{_f(row['new'])}").encode("utf-8")


def _link(states: tuple, prev: bytes, content: bytes) -> bytes:
    inner, outer = states[0].copy(), states[1].copy()
    inner.update(prev)
    inner.update(content)
    outer.update(inner.digest())
    return outer.digest()


def _states(engine, read_key: Callable[[], str | None]) -> tuple:
    with _keys_lock:
        states = _keys.get(engine)
    if states is None:
        value = read_key()
        if not value:
            raise ServiceError("操作日志的校验密钥缺失：数据库可能被改动过，请联系技术支持")
        states = _hmac_states(bytes.fromhex(value))
        with _keys_lock:
            _keys[engine] = states
    return states


def _chain_states(connection) -> tuple:
    return _states(connection.engine, lambda: connection.execute(
        select(AppSetting.value).where(AppSetting.key == CHAIN_SETTING)).scalar())


def _number(states: tuple, last: tuple | None, rows: list[dict]) -> list[dict]:
    """Number and chain `rows` after the newest entry `last` (its id and chain, or None for an empty log)."""
    next_id, prev = (last[0] + 1, bytes(last[1] or _ZERO)) if last else (1, _ZERO)
    now = utcnow()
    inner, outer = states
    for row in rows:
        row["id"] = next_id
        if row.get("at") is None:
            row["at"] = now
        for column in ("user", "action", "table_name", "record_id", "household_id", "field", "old", "new"):
            row.setdefault(column, None)
        i = inner.copy()
        i.update(prev)
        i.update(_content(row))
        o = outer.copy()
        o.update(i.digest())
        prev = row["chain"] = o.digest()
        next_id += 1
    return rows


def chain_rows(session: Session, rows: list[dict]) -> list[dict]:
    """SQLite: for a batch of new audit rows (dicts with the columns of AuditEntry; `at` may be left out) in the
    order given, set `id`, `at` and `chain`, continuing from the newest entry, under the database's write lock.
    The caller inserts them in the same transaction. (PostgreSQL numbers at the commit: see append.)"""
    if not rows:
        return rows
    connection = session.connection()
    # Any write statement takes the write lock; this one writes the audit log only (nothing), so a transaction that
    # writes nothing else stays one that wrote only records (dataversion.RECORDS: cached results are kept over it).
    connection.exec_driver_sql("DELETE FROM audit_entry WHERE 1 = 0")  # (1 = 0: PostgreSQL wants a boolean)
    states = _chain_states(connection)
    last = connection.execute(select(AuditEntry.id, AuditEntry.chain).order_by(AuditEntry.id.desc()).limit(1)).first()
    return _number(states, last, rows)


def append(session: Session, rows: list[dict], write: Callable[[list[dict]], None] | None = None) -> None:
    """Write a batch of audit rows, chained: on SQLite now (by `write(rows)` once numbered, if given: the bulk
    import's own fast insert), on PostgreSQL just before this transaction's COMMIT (see above)."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.info.setdefault(_PENDING, []).extend(rows)
        dataversion.written_at_commit(connection)
        return
    chain_rows(session, rows)
    if write is not None:
        write(rows)
    else:
        connection.execute(insert(AuditEntry), rows)


class Count:
    """How many audit rows of one action (None: of any) this transaction adds from here on, whether they are stored
    already (SQLite) or wait for the commit (PostgreSQL): `Count(session, "update")` before the work, `.since()`
    after. `.last` is the newest entry stored before: this transaction's entries come after it. (On SQLite the
    transaction holds the write lock, so every entry after it is its own; on PostgreSQL they wait for the commit,
    where they are numbered together.)"""

    def __init__(self, session: Session, action: str | None):
        self.session, self.action = session, action
        self.last = session.scalar(select(func.max(AuditEntry.id))) or 0
        self.waiting = len(session.connection().info.get(_PENDING, ()))

    def since(self) -> int:
        q = select(func.count()).select_from(AuditEntry).where(AuditEntry.id > self.last)
        if self.action is not None:
            q = q.where(AuditEntry.action == self.action)
        stored = self.session.scalar(q) or 0
        waiting = self.session.connection().info.get(_PENDING, [])[self.waiting:]
        if self.action is None:
            return stored + len(waiting)
        return stored + sum(1 for row in waiting if row.get("action") == self.action)


_INSERT_COLUMNS = (*CHAIN_COLUMNS, "chain")


def _write_pending(conn) -> None:
    """PostgreSQL, just before COMMIT: the waiting rows numbered after the newest entry, under the chain's lock,
    and inserted (on the driver's connection: the SQLAlchemy connection is in the middle of committing)."""
    conn.info.pop(_MARKS, None)
    rows = conn.info.pop(_PENDING, None)
    if not rows:
        return
    dbapi = conn.connection.dbapi_connection
    cur = dbapi.cursor()
    try:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK,))

        def read_key():
            cur.execute("SELECT value FROM app_setting WHERE key = %s", (CHAIN_SETTING,))
            found = cur.fetchone()
            return found[0] if found else None
        states = _states(conn.engine, read_key)
        cur.execute("SELECT id, chain FROM audit_entry ORDER BY id DESC LIMIT 1")
        _number(states, cur.fetchone(), rows)
        columns = ", ".join(f'"{c}"' for c in _INSERT_COLUMNS)
        with cur.copy(f"COPY audit_entry ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row[c] for c in _INSERT_COLUMNS))
    finally:
        cur.close()


def _forget(conn, *_args) -> None:
    conn.info.pop(_PENDING, None)
    conn.info.pop(_MARKS, None)


def _savepoint(conn, name) -> None:
    if conn.dialect.name == "postgresql":
        conn.info.setdefault(_MARKS, {})[name] = len(conn.info.get(_PENDING, ()))


def _rollback_savepoint(conn, name, _context) -> None:
    mark = conn.info.get(_MARKS, {}).pop(name, None)
    if mark is not None and conn.info.get(_PENDING):
        del conn.info[_PENDING][mark:]


def install(engine) -> None:
    """PostgreSQL: write each transaction's audit rows, chained, at its commit (SQLite writes them at once)."""
    if engine.dialect.name != "postgresql":
        return
    event.listen(engine, "commit", _write_pending)
    event.listen(engine, "rollback", _forget)
    event.listen(engine, "savepoint", _savepoint)
    event.listen(engine, "rollback_savepoint", _rollback_savepoint)
    event.listen(engine.pool, "reset", lambda _c, record, _s: record.info.pop(_PENDING, None))
    event.listen(engine.pool, "checkin", lambda _c, record: record.info.pop(_PENDING, None))


def chain_existing(connection, key: bytes) -> int:
    """Chain the entries already written (migration 0020): in the order of writing. Returns how many."""
    states = _hmac_states(key)
    prev, count, batch = _ZERO, 0, []
    table = AuditEntry.__table__
    cols = [table.c[c] for c in CHAIN_COLUMNS]
    for row in connection.execute(select(*cols).order_by(table.c.id)).mappings().all():
        prev = _link(states, prev, _content(row))
        batch.append({"i": row["id"], "c": prev})
        count += 1
    if batch:
        connection.execute(table.update().where(table.c.id == bindparam("i")).values(chain=bindparam("c")), batch)
    return count


@dataclass(frozen=True)
class ChainReport:
    """What the verification found: `entries` checked; `problems` in Chinese, each naming the entry and its time."""
    entries: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


MAX_PROBLEMS = 20


def verify_chain(session: Session, progress: Callable[[int], None] | None = None) -> ChainReport:
    """Check the whole audit log against its chain (start-up, in the background; the self-test). Every entry
    edited, deleted, added or reordered outside the program is reported with its number and time."""
    access.logged_in(session)
    connection = session.connection()
    states = _chain_states(connection)
    table = AuditEntry.__table__
    cols = [table.c[c] for c in CHAIN_COLUMNS] + [table.c.chain]
    result = connection.execution_options(yield_per=20000).execute(select(*cols).order_by(table.c.id))
    problems: list[str] = []
    expected_id, prev, count = 1, _ZERO, 0
    for row in _iter_rows(result):
        count += 1
        if progress is not None and count % 50000 == 0:
            progress(count)
        where = f"第 {row['id']} 条（{_local(row['at'])}，{row['user']}）"
        if row["id"] != expected_id:
            gone = row["id"] - expected_id
            problems.append(f"操作日志第 {expected_id} 条至第 {row['id'] - 1} 条（{gone} 条）被删除：断在{where}之前"
                            if gone > 0 else f"操作日志的顺序被改动：{where}")
        chain = row["chain"]
        if chain is None:
            problems.append(f"操作日志{where}没有校验值：不是本程序写入的（在程序之外添加或改动）")
        elif bytes(chain) != _link(states, prev, _content(row)):
            problems.append(f"操作日志{where}与校验值不符：该条在程序之外被修改、伪造，或其前的记录被删除")
        prev = bytes(chain) if chain is not None else _ZERO
        expected_id = row["id"] + 1
        if len(problems) >= MAX_PROBLEMS:
            problems.append("……问题较多，只列出前 20 处")
            break
    return ChainReport(count, problems)


def _iter_rows(result) -> Iterable[dict]:
    for part in result.mappings().partitions():
        yield from part


def _local(at) -> str:
    if isinstance(at, datetime):
        from datetime import timezone
        return at.replace(tzinfo=timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return str(at)


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
           "demo": "生成演示数据", "init": "初始化", "move": "成员迁移", "recover": "用恢复密钥重设密码",
           "encrypt": "加密数据库"}


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
