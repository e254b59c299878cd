"""The case workflow of SPEC §7: identification, green channel, risk removal, rollback,
clear-out and the revisit after removal.

Procedures are data (resources/procedures.json), read as typed definitions (services.procedures)
and checked whole when loaded. A case is a log of steps: the step to do
next is a pending row (done_on empty, due_on computed), so deadlines are plain SQL for the
warnings and checks. Completing it records date, person, result, notes, the data of the
step and, for decisions, a frozen copy of the assessment it was based on. A failed step ends
the case; a step can be sent back to the previous one with comments. The household's
monitoring status changes only here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from ..models import Case, CaseStep, Clue, Household, Measure, Member, Region
from . import access, concurrency, income, procedures, rules
from . import assess as assess_mod
from .auth import CurrentUser
from .codes import codes
from .dates import add_months
from .db import among, take_write_lock
from .errors import ServiceError
from .procedures import Procedure, StepDef

OPEN, DONE, FAILED, VOID = "open", "done", "failed", "void"
PLAN_KINDS = frozenset({"identify", "green"})  # procedures whose household gets an assistance plan
STATES = {OPEN: "进行中", DONE: "已完成", FAILED: "已终止", VOID: "已作废"}  # 作废: services.corrections
RESULTS = {"passed": "通过", "failed": "未通过", "sent_back": "退回修改"}


class WorkflowError(ServiceError):
    pass


def procedure(kind: str) -> Procedure:
    p = procedures.get(kind)
    if p is None:
        raise WorkflowError(f"未知的流程类型：{kind}")
    return p


def kind_names() -> dict[str, str]:
    return {k: p.name for k, p in procedures.definitions().procedures.items()}


def meeting_forms() -> list[str]:
    return list(procedures.definitions().meeting_forms)


def step_def(kind: str, key: str) -> StepDef:
    step = procedure(kind).step(key)
    if step is None:
        raise WorkflowError(f"流程“{procedure(kind).name}”没有步骤 {key}")
    return step


def step_name(kind: str, key: str) -> str:
    """The step's name, or its key when this version no longer knows the procedure or the step."""
    p = procedures.get(kind)
    step = p.step(key) if p is not None else None
    return step.name if step is not None else key


# ---------------------------------------------------------------- views of a case

@dataclass(frozen=True)
class StepView:
    seq: int
    key: str
    name: str
    due_on: date | None
    done_on: date | None
    actor: str | None
    result: str | None  # passed, failed, sent_back; None while pending
    notes: str | None
    data: dict
    snapshot: dict | None
    overdue: bool  # pending past its due date, or done after it
    version: int | None = None  # the step's version as read: a correction names it (services.concurrency)

    @property
    def result_name(self) -> str:
        return RESULTS.get(self.result, "待办") if self.result else "待办"


@dataclass(frozen=True)
class CaseView:
    id: int
    kind: str
    kind_name: str
    state: str
    state_name: str
    household_id: int
    household_no: str
    head_name: str
    village: str
    opened_on: date
    closed_on: date | None
    end_reason: str | None
    data: dict
    steps: list[StepView] = field(default_factory=list)
    version: int | None = None  # the case's as read (a step done, a date corrected make it newer)

    @property
    def pending(self) -> StepView | None:
        return next((s for s in self.steps if s.done_on is None), None)

    @property
    def is_open(self) -> bool:
        return self.state == OPEN

    @property
    def failed(self) -> bool:
        """Ended without its decision (终止)."""
        return self.state == FAILED

    @property
    def voided(self) -> bool:
        """Opened by mistake and voided (作废): kept, out of every list, count and deadline."""
        return self.state == VOID

    @property
    def plans_assistance(self) -> bool:
        """认定 and 绿色通道 make a household monitored: its assistance plan is linked to the case."""
        return self.kind in PLAN_KINDS


def _due(step: StepDef, case: Case, approved_on: date | None) -> date | None:
    return step.due.date_from(case.opened_on, approved_on) if step.due is not None else None


def _steps(session: Session, case_id: int) -> list[CaseStep]:
    return list(session.scalars(select(CaseStep).where(CaseStep.case_id == case_id).order_by(CaseStep.seq)))


def view(session: Session, case_id: int, as_of: date) -> CaseView:
    access.owned(session, Case, case_id)
    case = session.get(Case, case_id)
    if case is None:
        raise WorkflowError(f"流程 #{case_id} 不存在")
    hh = session.get(Household, case.household_id)
    village = session.get(Region, hh.village_id)
    steps = []
    rows = _steps(session, case.id)
    from .audit import user_names  # the user's name, not the log-in name, in the timeline
    who = user_names(session, {s.actor for s in rows})
    for s in rows:
        late = s.due_on is not None and ((s.done_on is None and as_of > s.due_on)
                                         or (s.done_on is not None and s.done_on > s.due_on))
        name = step_name(case.kind, s.step)
        steps.append(StepView(s.seq, s.step, name, s.due_on, s.done_on, who.get(s.actor, s.actor), s.result, s.notes,
                              dict(s.data or {}), s.snapshot, late, s.version))
    return CaseView(case.id, case.kind, procedure(case.kind).name, case.state, STATES[case.state], hh.id,
                    hh.household_no, hh.head_name or "", village.name if village else "", case.opened_on,
                    case.closed_on, case.end_reason, dict(case.data or {}), steps, case.version)


# ---------------------------------------------------------------- opening

def _check_role(session: Session, user: CurrentUser | None, roles, hh: Household, what: str) -> None:
    user = access.actor(session)  # the session's user decides, whatever a caller passes
    if user.role not in roles:
        names = "、".join(codes("role").name(r) for r in roles)
        raise WorkflowError(f"“{what}”须由{names}办理，您的角色是{user.role_name}")
    if not user.may_edit_village(hh.village_id):
        raise WorkflowError(f"您没有户 {hh.household_no} 所在村的办理权限")


def _open_case(session: Session, household_id: int, kind: str, opened_on: date, data: dict,
               user: CurrentUser | None, as_of: date | None) -> Case:
    proc = procedure(kind)
    hh = concurrency.lock_household(session, household_id)  # two seats opening a case at once: one at a time
    if hh is None:
        raise WorkflowError(f"户 #{household_id} 不存在")
    if opened_on is None:
        raise WorkflowError("请填写日期")
    if as_of is not None and opened_on > as_of:
        raise WorkflowError(f"日期 {opened_on} 晚于今天 {as_of}")
    _refuse_closed(hh)
    status_name = codes("monitoring_status").name(hh.monitoring_status)
    if hh.monitoring_status not in proc.allowed_from:
        raise WorkflowError(f"户 {hh.household_no} 当前为“{status_name}”，不能发起{proc.name}")
    if kind != "revisit":
        busy = session.scalar(select(Case.id).where(Case.household_id == household_id, Case.state == OPEN,
                                                    Case.kind != "revisit"))
        if busy is not None:
            raise WorkflowError(f"户 {hh.household_no} 已有进行中的流程 #{busy}，请先办结")
    _check_role(session, user, proc.steps[0].roles, hh, proc.name)
    case = Case(household_id=household_id, kind=kind, state=OPEN, opened_on=opened_on,
                data={**data, "previous_status": hh.monitoring_status},
                opened_by=session.info.get("user"))
    session.add(case)
    session.flush()
    if proc.status_open and hh.monitoring_status != proc.status_open and not (
            kind == "identify" and hh.monitoring_status == "green"):
        hh.monitoring_status = proc.status_open
    _add_pending(session, case, 0, None)
    return case


def _refuse_closed(hh: Household | None) -> None:
    """A household closed (户注销, services.corrections) takes no new clue or case until it is reopened."""
    if hh is not None and hh.closed_on is not None:
        raise WorkflowError(f"户 {hh.household_no} 已于 {hh.closed_on} 注销（{hh.closed_reason or ''}），"
                            "不能再登记线索或发起流程")


def _add_pending(session: Session, case: Case, index: int, approved_on: date | None) -> None:
    step = procedure(case.kind).steps[index]
    seq = (max((s.seq for s in _steps(session, case.id)), default=0)) + 1
    session.add(CaseStep(case_id=case.id, seq=seq, step=step.key, due_on=_due(step, case, approved_on), data={}))
    session.flush()


def record_clue(session: Session, source: str, reported_on: date, *, household_id: int | None = None,
                description: str | None = None, reporter: str | None = None, as_of: date | None = None) -> int:
    access.household(session, household_id, write=True)
    if source not in codes("clue_source"):
        raise WorkflowError(f"未知的线索来源：{source}")
    if reported_on is None or (as_of is not None and reported_on > as_of):
        raise WorkflowError("线索日期无效或晚于今天")
    _refuse_closed(session.get(Household, household_id) if household_id is not None else None)
    clue = Clue(source=source, reported_on=reported_on, household_id=household_id,
                description=(description or "").strip() or None, reporter=(reporter or "").strip() or None)
    session.add(clue)
    session.flush()
    return clue.id


def close_clue(session: Session, clue_id: int, outcome: str, *, user: CurrentUser | None = None) -> None:
    """A clue checked and found not to need an identification (不予认定) keeps its outcome."""
    access.owned(session, Clue, clue_id, write=True)
    clue = session.get(Clue, clue_id)
    if clue is None:
        raise WorkflowError("线索不存在")
    if clue.case_id is not None:
        raise WorkflowError(f"该线索已发起流程 #{clue.case_id}")
    if not (outcome or "").strip():
        raise WorkflowError("请填写核实结果（例如：经核实无返贫致贫风险）")
    if clue.household_id is not None and user is not None:
        hh = session.get(Household, clue.household_id)
        if not user.may_edit_village(hh.village_id):
            raise WorkflowError(f"您没有户 {hh.household_no} 所在村的办理权限")
    clue.outcome = outcome.strip()


def open_identification(session: Session, clue_id: int, *, user: CurrentUser | None = None,
                        as_of: date | None = None) -> int:
    """A clue opens an identification case; the clue date is D of the deadlines."""
    access.owned(session, Clue, clue_id, write=True)
    clue = session.get(Clue, clue_id)
    if clue is None:
        raise WorkflowError("线索不存在")
    if clue.household_id is None:
        raise WorkflowError("线索尚未对应到登记户：请先在户籍登记中登记该户")
    if clue.case_id is not None:
        raise WorkflowError(f"该线索已发起流程 #{clue.case_id}")
    case = _open_case(session, clue.household_id, "identify", clue.reported_on, {"clue_id": clue.id}, user, as_of)
    clue.case_id = case.id
    clue.outcome = "已发起认定"
    return case.id


def open_green_channel(session: Session, household_id: int, entry_on: date, *, confirmed: bool, reason: str,
                       user: CurrentUser | None = None, as_of: date | None = None) -> int:
    """[001 §24] sudden, clear, urgent: assistance at once, verification within one month."""
    access.household(session, household_id, write=True)
    if not confirmed:
        raise WorkflowError("绿色通道须经镇村两级确认")
    if not (reason or "").strip():
        raise WorkflowError("请说明纳入绿色通道的原因")
    return _open_case(session, household_id, "green", entry_on, {"reason": reason.strip()}, user, as_of).id


def open_removal(session: Session, household_id: int, opened_on: date, way: str, year: int, *,
                 user: CurrentUser | None = None, as_of: date | None = None) -> int:
    access.household(session, household_id, write=True)
    if way not in codes("removal_way"):
        raise WorkflowError("请选择风险消除方式（帮扶消除或自然消除）")
    e = removal_eligibility(session, household_id, year, as_of or opened_on, way)
    if not e.eligible:
        raise WorkflowError("不符合风险消除条件：" + "；".join(e.problems))
    return _open_case(session, household_id, "removal", opened_on, {"way": way}, user, as_of).id


def apply_for(session: Session, household_id: int, kind: str, applied_on: date, reason: str, *,
              user: CurrentUser | None = None, as_of: date | None = None) -> int:
    """风险消除回退 or 清退: an application with a reason, then an approval from above."""
    access.household(session, household_id, write=True)
    if kind not in ("rollback", "clearout"):
        raise WorkflowError(f"{kind} 不是申请类流程")
    if not (reason or "").strip():
        raise WorkflowError("请填写申请理由")
    return _open_case(session, household_id, kind, applied_on, {"reason": reason.strip()}, user, as_of).id


def open_policy_exclusion(session: Session, household_id: int, opened_on: date, year: int, *,
                          user: CurrentUser | None = None, as_of: date | None = None) -> int:
    """脱贫不享受政策 (seed 004 §一(三), annex 2): a 脱贫户 for which services.policy proposes 不再享受政策
    goes through 民主评议 → 乡镇审核 → 村级公示 (5 days) → 乡镇汇总审定."""
    access.household(session, household_id, write=True)
    from . import policy
    hh = session.get(Household, household_id)
    if hh is None:
        raise WorkflowError(f"户 #{household_id} 不存在")
    if hh.policy_excluded_on is not None:
        raise WorkflowError(f"户 {hh.household_no} 已于 {hh.policy_excluded_on} 认定为脱贫不享受政策")
    found = policy.proposals(session, year, as_of or opened_on, household_ids=[household_id])
    if not found:
        raise WorkflowError(f"户 {hh.household_no} 不是脱贫户，不适用脱贫不享受政策认定")
    p = found[0]
    if not p.proposed:
        why = "；".join(p.reasons) or "不符合 8 条认定标准中的任何一条"
        raise WorkflowError(f"户 {hh.household_no} 不符合脱贫不享受政策的认定条件：{why}")
    return _open_case(session, household_id, "policy_exclusion", opened_on,
                      {"year": year, "criteria": sorted(p.met)}, user, as_of).id


# ---------------------------------------------------------------- 登记线索: the window's use case

@dataclass(frozen=True)
class FoundHousehold:
    id: int
    household_no: str
    head_name: str
    village_id: int | None
    village: str
    status: str
    problem: str | None  # why this user may not act on it


def find_household(session: Session, household_no: str, user: CurrentUser | None = None) -> FoundHousehold | None:
    """A household by its number, for a dialog that starts a procedure, with why the user may not act on it.
    Another village's household is refused to a 村级录入员 (AccessDenied): not even its head's name is shown."""
    user = access.actor(session)  # the session's user decides, whatever a caller passes
    from . import register
    hid = register.household_id_by_no(session, (household_no or "").strip())
    if hid is None:
        return None
    [row] = register.household_rows(session, [hid])
    hh = session.get(Household, hid)
    problem = None
    if user is not None and not user.may_edit_village(hh.village_id):
        problem = f"{row.village}不在您负责的村，不能办理"
    return FoundHousehold(hid, row.household_no, row.head_name, hh.village_id, row.village, row.status, problem)


@dataclass
class ClueRequest:
    source: str | None
    reported_on: date | None
    household_no: str = ""
    description: str = ""
    reporter: str = ""
    open_case: bool = True


def validate_clue(session: Session, req: ClueRequest, user: CurrentUser | None = None,
                  as_of: date | None = None) -> list[str]:
    """Everything wrong with a clue before it is registered (the dialog shows this list)."""
    access.household_no(session, req.household_no)
    problems = []
    if req.source not in codes("clue_source"):
        problems.append("请选择线索来源")
    if req.reported_on is None:
        problems.append("请填写线索日期")
    elif as_of is not None and req.reported_on > as_of:
        problems.append(f"线索日期 {req.reported_on} 晚于今天 {as_of}")
    number = (req.household_no or "").strip()
    found = find_household(session, number, user) if number else None
    if number and found is None:
        problems.append("户编号无效：请核对，或清空后只登记线索")
    elif found is not None and found.problem:
        problems.append(found.problem)
    if req.open_case and found is None and not number:
        problems.append("发起认定须填写已登记的户编号")
    return problems


def record_clue_and_open(session: Session, req: ClueRequest, *, user: CurrentUser | None = None,
                         as_of: date | None = None) -> tuple[int, int | None]:
    """One user action: the clue, and the identification it opens (both or neither)."""
    access.household_no(session, req.household_no, write=True)
    problems = validate_clue(session, req, user, as_of)
    if problems:
        raise WorkflowError("；".join(problems))
    number = (req.household_no or "").strip()
    found = find_household(session, number, user) if number else None
    clue_id = record_clue(session, req.source, req.reported_on, household_id=found.id if found else None,
                          description=req.description, reporter=req.reporter, as_of=as_of)
    case_id = open_identification(session, clue_id, user=user, as_of=as_of) if req.open_case else None
    return clue_id, case_id


# ---------------------------------------------------------------- steps

def _pending(session: Session, case: Case) -> CaseStep:
    if case.state != OPEN:
        raise WorkflowError(f"流程 #{case.id} 已{STATES[case.state]}")
    row = session.scalar(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.done_on.is_(None)))
    if row is None:
        raise WorkflowError(f"流程 #{case.id} 没有待办步骤")
    return row


def _last_done_on(session: Session, case: Case) -> date:
    dates = [s.done_on for s in _steps(session, case.id) if s.done_on is not None]
    return max(dates, default=case.opened_on)


def _lock_case(session: Session, case_id: int) -> Case | None:
    """The case as stored now, locked until the commit (PostgreSQL: its row; SQLite: the write lock), so that a
    step is completed or a correction made by one seat at a time. What the caller then writes changes the case as
    a whole: its version goes up with the commit (even when only its steps change), so a seat that read the case
    before (a 作废 or a correction dialog open) is refused instead of acting on what it no longer shows."""
    q = select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    else:
        take_write_lock(session)
    case = session.scalar(q)
    if case is not None:
        flag_modified(case, "updated_at")  # an UPDATE … SET version = version + 1 at the flush (not audited)
    return case


def _already_done(session: Session, case: Case, step_key: str) -> None:
    """The step was completed by someone else since this seat read the case: say who and when."""
    pending = session.scalar(select(CaseStep.step).where(CaseStep.case_id == case.id, CaseStep.done_on.is_(None)))
    if pending == step_key:
        return
    done = session.scalars(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.step == step_key,
                                                  CaseStep.done_on.is_not(None)).order_by(CaseStep.seq.desc())).first()
    if done is not None:
        who = done.actor or "其他用户"
        raise concurrency.Conflict(f"流程 #{case.id} 的“{step_name(case.kind, step_key)}”已由“{who}”办理"
                                   f"（办理日期 {done.done_on}），本次没有重复办理；请重新载入流程查看")


def complete_step(session: Session, case_id: int, step_key: str, done_on: date, *, passed: bool = True,
                  notes: str | None = None, data: dict | None = None, year: int | None = None,
                  user: CurrentUser | None = None, as_of: date | None = None) -> None:
    """Record the pending step. A failed step ends the case with the notes as its reason."""
    access.owned(session, Case, case_id, write=True)
    case = _lock_case(session, case_id)  # one guarded transition: of two seats completing a step, one wins
    if case is None:
        raise WorkflowError(f"流程 #{case_id} 不存在")
    _already_done(session, case, step_key)
    row = _pending(session, case)
    sdef = step_def(case.kind, row.step)
    if step_key != row.step:
        raise WorkflowError(f"当前应办理“{sdef.name}”，不能跳到“{step_name(case.kind, step_key)}”")
    hh = session.get(Household, case.household_id)
    _check_role(session, user, sdef.roles, hh, sdef.name)
    data = {k: v for k, v in (data or {}).items() if v not in (None, "")}
    notes = (notes or "").strip() or None
    if done_on is None:
        raise WorkflowError("请填写办理日期")
    if as_of is not None and done_on > as_of:
        raise WorkflowError(f"办理日期 {done_on} 晚于今天 {as_of}")
    if done_on < _last_done_on(session, case):
        raise WorkflowError(f"办理日期 {done_on} 早于上一步骤的日期 {_last_done_on(session, case)}")
    if not passed and not notes:
        raise WorkflowError("未通过须填写原因")
    if passed:
        problems = validate_step_data(session, case, sdef, done_on, data, row)
        if problems:
            raise WorkflowError("；".join(problems))
    row.done_on, row.actor, row.result, row.notes = done_on, session.info.get("user"), \
        ("passed" if passed else "failed"), notes
    row.data = {**(row.data or {}), **(data if passed else _kept_when_failed(data))}
    if sdef.snapshot or sdef.decision:
        row.snapshot = _snapshot(session, case, year or done_on.year, done_on)
    if not passed:
        _fail(session, case, hh, done_on, f"{sdef.name}未通过：{notes}")
        return
    if sdef.decision:
        _decide(session, case, hh, done_on, row.data)
    index = procedure(case.kind).index(row.step)
    steps = procedure(case.kind).steps
    if index + 1 < len(steps):
        approved = done_on if sdef.decision else _approved_on(session, case)
        _add_pending(session, case, index + 1, approved)
    else:
        _finish(session, case, hh, done_on, year)


def _kept_when_failed(data: dict) -> dict:
    """A failed step keeps what the form held except a publicity period that was never accepted: the period is
    recorded by start_publicity or validated on passing, so a date in the form is not written into the record
    (nor into the termination shown) of a step that did not pass."""
    return {k: v for k, v in data.items() if k not in ("publicity_start", "publicity_end")}


def start_publicity(session: Session, case_id: int, start: date, *, user: CurrentUser | None = None) -> date:
    """Record the first day of the village publicity; returns the first day the step may be completed."""
    access.owned(session, Case, case_id, write=True)
    case = session.get(Case, case_id)
    row = _pending(session, case)
    sdef = step_def(case.kind, row.step)
    if not sdef.publicity_days:
        raise WorkflowError(f"当前步骤“{sdef.name}”不是公示")
    _check_role(session, user, sdef.roles, session.get(Household, case.household_id), sdef.name)
    if start < _last_done_on(session, case):
        raise WorkflowError(f"公示开始日期 {start} 早于上一步骤的日期")
    end = start + timedelta(days=sdef.publicity_days - 1)
    row.data = {**(row.data or {}), "publicity_start": start.isoformat(), "publicity_end": end.isoformat()}
    row.due_on = end + timedelta(days=1) if row.due_on is None else row.due_on
    return end + timedelta(days=1)


def publicity_period(start: date, days: int | None = None) -> tuple[date, date]:
    days = days or procedures.definitions().publicity_days
    return start, start + timedelta(days=days - 1)


def validate_step_data(session: Session, case: Case, sdef: StepDef, done_on: date, data: dict,
                       row: CaseStep) -> list[str]:
    """What the step's fields require before it may pass, from their definitions (never from the
    step's key); the publicity's period is filled into `data`."""
    access.household(session, case.household_id)
    problems = []
    hh = session.get(Household, case.household_id)
    for f in sdef.fields:
        value = data.get(f.key)
        given = value not in (None, "", False)
        if f.kind == "text" and isinstance(value, str):
            given = bool(value.strip())
        if f.required and not given:
            problems.append(f.missing_message)
        elif given and f.kind == "choice" and value not in f.options:
            problems.append(f.missing_message)
        elif given and f.kind == "code" and value not in codes(f.code_list):
            problems.append(f.missing_message)
        elif given and f.kind == "compare_exemption":
            problem = compare_exemption_problem(session, hh, value, f.options)
            if problem:
                problems.append(problem)
    if sdef.publicity_days:
        start_text = data.get("publicity_start") or (row.data or {}).get("publicity_start")
        if not start_text:
            problems.append("请填写公示开始日期")
        else:
            start = date.fromisoformat(start_text) if isinstance(start_text, str) else start_text
            _, end = publicity_period(start, sdef.publicity_days)
            data["publicity_start"], data["publicity_end"] = start.isoformat(), end.isoformat()
            if done_on <= end:
                problems.append(f"公示期 {start} 至 {end}（{sdef.publicity_days} 天）未满，"
                                f"{end + timedelta(days=1)} 起方可办结")
    return problems


def compare_exemption_problem(session: Session, hh: Household, reason: str, options: tuple[str, ...]) -> str | None:
    """[001 §34] "对存在返贫风险的脱贫享受政策户，以及已开展过信息比对的低保对象和分散供养特困人员等，可不重复
    比对": the first reason needs a 脱贫户 that still enjoys the policies, the second a member on 低保 or 特困."""
    access.household(session, hh.id)
    if reason not in options:
        return f"可不重复比对的原因应为：{'、'.join(options)}"
    if reason == options[0]:
        if not hh.a4_poverty_alleviated or hh.policy_excluded_on is not None:
            return f"户 {hh.household_no} 不是脱贫享受政策户，不能以此为由不重复比对"
        return None
    on_guarantee = session.scalar(select(Member.id).where(
        Member.household_id == hh.id, Member.status == "normal",
        ((Member.a20_dibao.is_not(None)) & (Member.a20_dibao != "00"))
        | ((Member.a21_tekun.is_not(None)) & (Member.a21_tekun != "00"))).limit(1))
    if on_guarantee is None:
        return f"户 {hh.household_no} 没有享受低保或特困供养的成员，不能以此为由不重复比对"
    return None


def send_back(session: Session, case_id: int, done_on: date, comments: str, *, user: CurrentUser | None = None,
              as_of: date | None = None) -> None:
    """退回修改: the pending step goes back to the previous one, with comments."""
    access.owned(session, Case, case_id, write=True)
    case = session.get(Case, case_id)
    if case is None:
        raise WorkflowError(f"流程 #{case_id} 不存在")
    row = _pending(session, case)
    proc = procedure(case.kind)
    index = proc.index(row.step)
    sdef = step_def(case.kind, row.step)
    problem = send_back_problem(case.kind, row.step)
    if problem:
        raise WorkflowError(problem)
    if not (comments or "").strip():
        raise WorkflowError("退回须填写修改意见")
    _check_role(session, user, sdef.roles, session.get(Household, case.household_id), sdef.name)
    if as_of is not None and done_on > as_of:
        raise WorkflowError(f"日期 {done_on} 晚于今天 {as_of}")
    row.done_on, row.actor, row.result, row.notes = done_on, session.info.get("user"), "sent_back", comments.strip()
    _add_pending(session, case, index - 1, _approved_on(session, case))


def send_back_problem(kind: str, step_key: str) -> str | None:
    """Why the step cannot be sent back to the one before (None when it can)."""
    proc = procedure(kind)
    index = proc.index(step_key)
    if index == 0:
        return "第一步不能退回"
    previous = proc.steps[index - 1]
    if previous.decision:
        return f"“{previous.name}”已作出决定，不能退回"
    return None


def _approved_on(session: Session, case: Case) -> date | None:
    proc = procedure(case.kind)
    for s in _steps(session, case.id):
        step = proc.step(s.step)
        if s.result == "passed" and step is not None and step.decision:
            return s.done_on
    return None


def _snapshot(session: Session, case: Case, year: int, as_of: date) -> dict:
    """The facts as they stood when the decision was taken (codes and a version, see
    assess.read_snapshot); later edits never rewrite it."""
    try:
        [a] = assess_mod.assess(session, year, as_of, household_ids=[case.household_id])
    except assess_mod.AssessError as e:
        return {"version": assess_mod.SNAPSHOT_VERSION, "error": str(e), "year": year}
    snap = a.snapshot()
    if procedure(case.kind).snapshot_of == "policy":
        from . import policy
        [p] = policy.proposals(session, year, as_of, household_ids=[case.household_id]) or [None]
        snap["policy"] = ({"criteria": dict(p.met), "exceptions": dict(p.exceptions), "undecided": dict(p.undecided)}
                          if p is not None else {"criteria": {}, "exceptions": {}, "undecided": {}})
    return snap


# ---------------------------------------------------------------- effects on the household

def _decide(session: Session, case: Case, hh: Household, on: date, data: dict) -> None:
    if case.kind == "identify":
        entry = (case.data or {}).get("green_entry")
        hh.monitoring_status = "monitoring"
        hh.identified_on = date.fromisoformat(entry) if entry else on
        hh.a3_category = data["category"]
        hh.a53_removal_way, hh.a54_removed_on = None, None
    elif case.kind == "removal":
        hh.monitoring_status = "removed"
        hh.a53_removal_way = (case.data or {}).get("way")
        hh.a54_removed_on = on
        # The revisit half a year after removal [003] is scheduled at once.
        _open_case(session, hh.id, "revisit", on, {"removal_case_id": case.id}, None, None)
    elif case.kind == "policy_exclusion":
        hh.policy_excluded_on = on


def _finish(session: Session, case: Case, hh: Household, on: date, year: int | None) -> None:
    case.state, case.closed_on = DONE, on
    if case.kind == "green":
        # Verified: the identification procedure follows; its date will be the entry date.
        clue = Clue(source="03", reported_on=on, household_id=hh.id, description="绿色通道核实后补充认定程序",
                    outcome="已发起认定")
        session.add(clue)
        session.flush()
        new = _open_case(session, hh.id, "identify", on, {"clue_id": clue.id, "green_entry": case.opened_on.isoformat(),
                                                          "green_case_id": case.id}, None, None)
        clue.case_id = new.id
    elif case.kind == "rollback":
        hh.monitoring_status = "monitoring"
        hh.a53_removal_way, hh.a54_removed_on = None, None
    elif case.kind == "clearout":
        hh.monitoring_status = "cleared"


def _fail(session: Session, case: Case, hh: Household, on: date, reason: str) -> None:
    case.state, case.closed_on, case.end_reason = FAILED, on, reason
    data = case.data or {}
    if case.kind == "identify" and data.get("green_case_id"):
        # The identification after a green channel failed: the household leaves the green channel.
        green = session.get(Case, data["green_case_id"])
        hh.monitoring_status = (green.data or {}).get("previous_status", "none")
        _end_measures(session, hh, green, on)
    elif case.kind in ("identify", "green", "removal") and data.get("previous_status"):
        hh.monitoring_status = data["previous_status"]
        if case.kind == "green":
            _end_measures(session, hh, case, on)


def _end_measures(session: Session, hh: Household, green: Case, on: date) -> None:
    """Exit from the green channel ends its measures [001 §24]."""
    q = select(Measure).where(Measure.household_id == hh.id, Measure.ended_on.is_(None),
                              (Measure.case_id == green.id) | (Measure.start_date >= green.opened_on))
    for m in session.scalars(q):
        m.ended_on, m.ended_reason = on, "退出绿色通道，中止帮扶"


# ---------------------------------------------------------------- removal eligibility

@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    problems: list[str]
    facts: list[str]
    warnings: list[str] = field(default_factory=list)  # named, never deciding (a quarterly fall)


def removal_eligibility(session: Session, household_id: int, year: int, as_of: date, way: str = "01", *,
                        assessed: assess_mod.Assessment | None = None) -> Eligibility:
    """[001 §25–28], SPEC §7. Both ways: the year's annual record above the line — A34 (income, 001 §12)
    and A38 (the monitoring reference, so the household would not be suggested again) — at the size of
    the status time point, exactly as `assess` computes them; 三保障 and water secure; no new risk; not
    整户无劳动能力兜底保障户. 帮扶消除 also: at least 6 months after identification (rules.removal_too_soon,
    the same rule as the check REMOVED_TOO_SOON). A quarterly collection in the half-year before that
    shows a clear fall is named as a warning, never decides.

    `assessed`: this household's assessment for the same year and date when the caller has it already (预警中心
    assesses the whole register, then asks this of each candidate: assessing each one again cost 7 of the
    dashboard's 9 s of CPU on 20,000 households, ~50 ms a household, most of it reading every household's
    measures)."""
    access.household(session, household_id)
    problems, facts = [], []
    hh = session.get(Household, household_id)
    if hh is None:
        raise WorkflowError(f"户 #{household_id} 不存在")
    if assessed is not None and (assessed.household_id, assessed.year) != (household_id, year):
        raise ValueError(f"household #{assessed.household_id}'s {assessed.year} assessment given for "
                         f"#{household_id} in {year}")
    try:
        ys = assess_mod.year_settings(session, year)
        [a] = [assessed] if assessed is not None else assess_mod.assess(session, year, as_of,
                                                                         household_ids=[household_id])
    except assess_mod.AssessError as e:
        return Eligibility(False, [str(e)], [])
    line, lt, r = a.line, rules.line_text(a.line), a.income
    if r is None:
        problems.append(f"没有 {year} 年度收入记录（季度收入不能代替年度收入），无法判断收入是否稳定超过监测线")
    else:
        low = [f"{name} {r.shown(code, line)}" for code, name in (("A34", "家庭人均纯收入"),
                                                                    ("A38", "人均收入参考值")) if r.below(line, code)]
        if low:
            problems.append(f"{year} 年度{'、'.join(low)}低于监测线 {lt} 元，收入未稳定超过监测线")
        else:
            facts.append(f"{year} 年度家庭人均纯收入 {r.shown('A34', line)}、人均收入参考值 "
                         f"{r.shown('A38', line)}，均不低于监测线 {lt} 元"
                         f"（{a.size} 人，{ys.status_time_point} 状态时点）")
    if way == rules.NATURAL:
        facts.append("自然消除：不受识别满 6 个月的限制，收入仍须稳定超过监测线")
    elif hh.identified_on is None:
        problems.append("未登记识别时间，无法判断帮扶消除是否已满 6 个月")
    else:
        too_soon = rules.removal_too_soon(way, hh.identified_on, as_of)
        if too_soon:
            problems.append(too_soon)
        else:
            facts.append(f"{hh.identified_on} 识别，已满 {rules.REMOVAL_STABLE_MONTHS} 个月")
    warnings = []
    since = add_months(as_of, -rules.REMOVAL_STABLE_MONTHS)
    fall = income.clear_falls(session, Decimal(str(ys.thresholds["quarter_drop_ratio"])), since, as_of,
                              [household_id]).get(household_id)
    if fall is not None:
        warnings.append(f"近半年的季度收入明显下降：{fall.text}，请核实收入是否稳定")
    if a.guarantee_problems:
        problems.append(f"“三保障”和饮水安全仍有问题：{'、'.join(a.guarantee_problems)}")
    else:
        facts.append("“三保障”和饮水安全有保障")
    if hh.whole_no_labor_guarantee or a.whole_no_labor_candidate:
        problems.append("整户无劳动能力兜底保障户暂不消除风险")
    if hh.monitoring_status != "monitoring":
        name = codes("monitoring_status").name(hh.monitoring_status)
        problems.append(f"当前为“{name}”，只有“监测中”的户可以启动风险消除")
    newer = session.scalar(select(Clue.id).where(Clue.household_id == household_id, Clue.case_id.is_(None),
                                                 Clue.outcome.is_(None),
                                                 Clue.reported_on > (hh.identified_on or date.min)))
    if newer is not None:
        problems.append("识别后登记了新的风险线索，尚未处理")
    return Eligibility(not problems, problems, facts, warnings)


# ---------------------------------------------------------------- lists

@dataclass(frozen=True)
class CaseRow:
    id: int
    kind: str
    kind_name: str
    state: str
    state_name: str
    household_id: int
    household_no: str
    head_name: str
    village_id: int
    village: str
    opened_on: date
    step: str  # pending step name, or the end
    due_on: date | None
    overdue: bool

    @property
    def failed(self) -> bool:
        return self.state == FAILED


def cases(session: Session, as_of: date, *, kind: str | None = None, state: str | None = None,
          village_id: int | None = None, overdue_only: bool = False, household_id: int | None = None,
          village_ids: frozenset[int] | None = None, include_void: bool = False) -> list[CaseRow]:
    """Cases, newest first. Voided cases (作废) are out of the lists unless asked for by state or for one
    household's history (include_void)."""
    village_ids = access.narrow(session, village_ids)
    q = (select(Case, Household.household_no, Household.head_name, Household.village_id, Region.name)
         .join(Household, Household.id == Case.household_id).join(Region, Region.id == Household.village_id))
    if kind:
        q = q.where(Case.kind == kind)
    if state:
        q = q.where(Case.state == state)
    elif not include_void:
        q = q.where(Case.state != VOID)
    if village_id is not None:
        q = q.where(Household.village_id == village_id)
    if village_ids is not None:
        q = q.where(Household.village_id.in_(village_ids))
    if household_id is not None:
        q = q.where(Case.household_id == household_id)
    rows = session.execute(q.order_by(Case.opened_on.desc(), Case.id.desc())).all()
    pending = {s.case_id: s for s in session.scalars(select(CaseStep).where(
        CaseStep.done_on.is_(None), among(CaseStep.case_id, [r[0].id for r in rows])))} if rows else {}
    names = kind_names()
    out = []
    for case, no, head, vid, vname in rows:
        p = pending.get(case.id)
        step = step_name(case.kind, p.step) if p else (case.end_reason or STATES[case.state])
        overdue = p is not None and p.due_on is not None and as_of > p.due_on
        if overdue_only and not overdue:
            continue
        out.append(CaseRow(case.id, case.kind, names[case.kind], case.state, STATES[case.state], case.household_id,
                           no, head or "", vid, vname, case.opened_on, step, p.due_on if p else None, overdue))
    return out


@dataclass(frozen=True)
class ClueRow:
    id: int
    source: str
    source_name: str
    reported_on: date
    household_id: int | None
    household_no: str
    head_name: str
    village: str
    description: str
    reporter: str
    outcome: str
    case_id: int | None


def clues(session: Session, *, pending_only: bool = False, household_id: int | None = None,
          village_ids: frozenset[int] | None = None) -> list[ClueRow]:
    """Clues, newest first; pending = not yet turned into a case. A clerk sees the clues of their villages
    (clues not yet matched to a household are seen by everyone)."""
    village_ids = access.narrow(session, village_ids)
    q = (select(Clue, Household.household_no, Household.head_name, Household.village_id)
         .outerjoin(Household, Household.id == Clue.household_id))
    if pending_only:
        q = q.where(Clue.case_id.is_(None), Clue.outcome.is_(None))
    if household_id is not None:
        q = q.where(Clue.household_id == household_id)
    if village_ids is not None:
        q = q.where(Clue.household_id.is_(None) | Household.village_id.in_(village_ids))
    names = dict(session.execute(select(Region.id, Region.name).where(Region.level == "village")).all())
    sources = codes("clue_source")
    return [ClueRow(c.id, c.source, sources.name(c.source, c.source), c.reported_on, c.household_id, no or "",
                    head or "", names.get(vid, ""), c.description or "", c.reporter or "", c.outcome or "", c.case_id)
            for c, no, head, vid in session.execute(q.order_by(Clue.reported_on.desc(), Clue.id.desc()))]


def upcoming(session: Session, case_id: int) -> list[StepView]:
    """The steps still to come after the pending one (seq 0), with the deadlines already known: those
    anchored on the opening date from the start, those anchored on the approval once it is given."""
    access.owned(session, Case, case_id)
    case = session.get(Case, case_id)
    if case is None:
        raise WorkflowError(f"流程 #{case_id} 不存在")
    if case.state != OPEN:
        return []
    pending = session.scalar(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.done_on.is_(None)))
    if pending is None:
        return []
    approved = _approved_on(session, case)
    proc = procedure(case.kind)
    return [StepView(0, s.key, s.name, _due(s, case, approved), None, None, None, None, {}, None, False)
            for s in proc.steps[proc.index(pending.step) + 1:]]
