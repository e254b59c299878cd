"""Correcting mistakes with an audit trail (issue 19, problem 9): never a silent overwrite.

- 更正: a recorded step's date, notes or fields, or a case's opening date (for an identification: the clue date,
  D of its deadlines), corrected with a reason. The row changes (the audit log keeps old and new, as for
  every change) and a `Correction` keeps who, when, why and the replaced value, shown in the case's history.
  Deadlines that follow from the corrected date are recomputed; a household date that the corrected decision
  wrote (识别时间, 风险消除时间, 不再享受政策日期) follows it.
- 作废: a case opened by mistake (a duplicate, the wrong household) is voided with a reason before any decision
  was taken: it is kept and shown as 已作废, and is out of every list, count and deadline. A decided case is not
  voided: 清退 and 风险消除回退 are the procedures for that.
- 户注销: a household leaves the register with a date and a reason (never deleted): out of the working lists,
  counts and checks, still found by a search and printable; an administrator can reopen it.

Several seats (issue 21): each correction names the version of the record it was made on, as the seat read it
(StepView.version, CaseView.version, HouseholdData.version); a correction saved over someone else's newer change
is refused like any stale save (services.concurrency), and the case or household is locked while it is written,
so of two corrections made at once one is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Case, CaseStep, Clue, Correction, Household, User
from . import access, concurrency, procedures, rules, workflow
from .auth import CurrentUser
from .codes import codes
from .errors import ServiceError

VOID = workflow.VOID
KIND_NAMES = {"step": "更正", "opened": "更正", "clue": "更正", "void": "作废", "close": "户注销", "reopen": "恢复"}
FIELD_NAMES = {"done_on": "办理日期", "notes": "说明", "opened_on": "发起日期", "reported_on": "线索日期",
               "publicity_start": "公示开始日期", "closed_on": "注销日期", "state": "状态"}


class CorrectionError(ServiceError):
    pass


def _text(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    if value is True:
        return "是"
    if value is False:
        return "否"
    return str(value)


def _record(session: Session, *, household_id: int, kind: str, reason: str, as_of: date, case_id: int | None = None,
            step_id: int | None = None, clue_id: int | None = None, changes: list[tuple[str, object, object]] = ()
            ) -> None:
    user = access.actor(session).username
    for seq, (fld, old, new) in enumerate(changes or [(None, None, None)]):
        session.add(Correction(household_id=household_id, case_id=case_id, step_id=step_id, clue_id=clue_id, kind=kind,
                               field=fld, old=_text(old), new=_text(new), reason=reason.strip(), made_on=as_of,
                               made_by=user, seq=seq))
    session.flush()


def _case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise CorrectionError(f"流程 #{case_id} 不存在")
    return case


def _locked_case(session: Session, case_id: int, read_version: int | None = None) -> Case:
    """The case as stored now, locked until the commit (one correction or step at a time); refused when it changed
    after the seat read it at `read_version`."""
    case = workflow._lock_case(session, case_id)
    if case is None:
        raise CorrectionError(f"流程 #{case_id} 不存在")
    concurrency.expect_version(session, case, read_version)
    return case


def _locked_household(session: Session, household_id: int, read_version: int | None) -> Household:
    hh = concurrency.lock_household(session, household_id)
    if hh is None:
        raise CorrectionError(f"户 #{household_id} 不存在")
    concurrency.expect_version(session, hh, read_version)
    return hh


def _done_dates(session: Session, case: Case) -> list[tuple[int, date]]:
    return [(s.seq, s.done_on) for s in workflow._steps(session, case.id) if s.done_on is not None]


def _recompute_dues(session: Session, case: Case) -> None:
    """Deadlines anchored on the opening or on the approval follow a corrected date."""
    proc = procedures_of(case)
    if proc is None:
        return
    approved = workflow._approved_on(session, case)
    for s in workflow._steps(session, case.id):
        sdef = proc.step(s.step)
        if sdef is not None and sdef.due is not None:
            s.due_on = workflow._due(sdef, case, approved)


def procedures_of(case: Case):
    return procedures_of_kind(case.kind)


def procedures_of_kind(kind: str | None):
    return procedures.get(kind) if kind else None


# ---------------------------------------------------------------- a step's date, notes or fields

@dataclass
class StepCorrection:
    case_id: int
    seq: int
    reason: str = ""
    done_on: date | None = None  # None: unchanged
    notes: str | None = None  # None: unchanged ("" clears)
    data: dict = field(default_factory=dict)  # only the keys given change (publicity_start among them)
    version: int | None = None  # the step's version as read (StepView.version); None: read in this transaction


def _step_row(session: Session, case: Case, seq: int) -> CaseStep:
    row = session.scalar(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.seq == seq))
    if row is None:
        raise CorrectionError(f"流程 #{case.id} 没有第 {seq} 步")
    return row


def _changes(row: CaseStep, req: StepCorrection) -> list[tuple[str, object, object]]:
    out = []
    if req.done_on is not None and req.done_on != row.done_on:
        out.append(("done_on", row.done_on, req.done_on))
    if req.notes is not None and (req.notes.strip() or None) != row.notes:
        out.append(("notes", row.notes, req.notes.strip() or None))
    old_data = row.data or {}
    for key, value in req.data.items():
        value = value.strip() if isinstance(value, str) else value
        if (value or None) != (old_data.get(key) or None):
            out.append((key, old_data.get(key), value or None))
    return out


def validate_step_correction(session: Session, req: StepCorrection, as_of: date) -> list[str]:
    """Everything wrong with a correction of a recorded step (the dialog shows this list)."""
    access.owned(session, Case, req.case_id, write=True)
    case = _case(session, req.case_id)
    row = _step_row(session, case, req.seq)
    problems = []
    if case.state == VOID:
        return [f"流程 #{case.id} 已作废，不能更正"]
    if row.done_on is None:
        return ["该步骤尚未办理，无需更正：请直接办理"]
    proc = procedures_of(case)
    sdef = proc.step(row.step) if proc is not None else None
    if not (req.reason or "").strip():
        problems.append("请填写更正原因")
    changes = _changes(row, req)
    if not changes:
        problems.append("没有更改任何内容")
    allowed = {f.key: f for f in (sdef.fields if sdef is not None else ())}
    for key, _old, new in changes:
        if key in ("done_on", "notes"):
            continue
        if key == "publicity_start":
            if sdef is None or not sdef.publicity_days:
                problems.append("该步骤不是公示，没有公示开始日期")
            continue
        f = allowed.get(key)
        if f is None or f.kind in ("confirm", "compare_exemption"):
            problems.append(f"“{workflow.step_name(case.kind, row.step)}”的“{key}”不能在此更正")
        elif new is None and f.required and row.result == "passed":
            problems.append(f.missing_message)
        elif new is not None and f.kind == "choice" and new not in f.options:
            problems.append(f.missing_message)
        elif new is not None and f.kind == "code" and new not in codes(f.code_list):
            problems.append(f.missing_message)
    new_done = req.done_on or row.done_on
    if new_done > as_of:
        problems.append(f"办理日期 {new_done} 晚于今天 {as_of}")
    before = [d for seq, d in _done_dates(session, case) if seq < row.seq]
    after = [d for seq, d in _done_dates(session, case) if seq > row.seq]
    earliest = max(before, default=case.opened_on)
    if new_done < earliest:
        problems.append(f"办理日期 {new_done} 早于上一步骤的日期 {earliest}")
    if after and new_done > min(after):
        problems.append(f"办理日期 {new_done} 晚于下一步骤的日期 {min(after)}")
    if sdef is not None and sdef.publicity_days and row.result == "passed":
        start_text = req.data.get("publicity_start") or (row.data or {}).get("publicity_start")
        if start_text:
            start = date.fromisoformat(str(start_text))
            _, end = workflow.publicity_period(start, sdef.publicity_days)
            if start < earliest:
                problems.append(f"公示开始日期 {start} 早于上一步骤的日期 {earliest}")
            if new_done <= end:
                problems.append(f"公示期 {start} 至 {end}（{sdef.publicity_days} 天）未满，办结日期应在 {end} 之后")
    if sdef is not None and not problems:
        workflow._check_role(session, None, sdef.roles, session.get(Household, case.household_id),
                             f"更正{sdef.name}")
    return problems


def correct_step(session: Session, req: StepCorrection, *, as_of: date) -> None:
    """Correct a recorded step with a reason; the replaced values stay visible in the case's history."""
    access.owned(session, Case, req.case_id, write=True)
    case = _locked_case(session, req.case_id)
    row = _step_row(session, case, req.seq)
    concurrency.expect_version(session, row, req.version)
    problems = validate_step_correction(session, req, as_of)
    if problems:
        raise CorrectionError("；".join(problems))
    hh = session.get(Household, case.household_id)
    changes = _changes(row, req)
    old_done = row.done_on
    data = dict(row.data or {})
    for key, _old, new in changes:
        if key == "done_on":
            row.done_on = new
        elif key == "notes":
            row.notes = new
        else:
            if new is None:
                data.pop(key, None)
            else:
                data[key] = new
    proc = procedures_of(case)
    sdef = proc.step(row.step) if proc is not None else None
    if "publicity_start" in data and sdef is not None and sdef.publicity_days:
        data["publicity_end"] = workflow.publicity_period(date.fromisoformat(data["publicity_start"]),
                                                          sdef.publicity_days)[1].isoformat()
    row.data = data
    _record(session, household_id=hh.id, kind="step", reason=req.reason, as_of=as_of, case_id=case.id,
            step_id=row.id, changes=changes)
    decided = sdef is not None and sdef.decision and row.result == "passed"
    if row.done_on != old_done:
        if case.closed_on == old_done and case.state != workflow.OPEN and row.seq == max(
                (s for s, _ in _done_dates(session, case)), default=row.seq):
            case.closed_on = row.done_on
        if decided:
            _follow_decision_date(session, case, hh, old_done, row.done_on, req.reason, as_of)
        if case.kind == "green" and row.result == "passed":
            follow = session.scalar(select(Case).where(Case.household_id == hh.id, Case.kind == "identify",
                                                       Case.state != VOID, Case.opened_on == old_done))
            if follow is not None and (follow.data or {}).get("green_case_id") == case.id:
                _move_opened(session, follow, row.done_on, req.reason, as_of)
        _recompute_dues(session, case)
    if decided and case.kind == "identify":
        for key, old, new in changes:
            if key == "category" and hh.a3_category == old and new is not None:
                hh.a3_category = new


def _follow_decision_date(session: Session, case: Case, hh: Household, old: date, new: date, reason: str,
                          as_of: date) -> None:
    """The household date the decision wrote follows its corrected date (when nothing later changed it)."""
    if case.kind == "identify" and not (case.data or {}).get("green_entry") and hh.identified_on == old:
        hh.identified_on = new
    elif case.kind == "removal":
        if hh.a54_removed_on == old:
            hh.a54_removed_on = new
        revisit = session.scalar(select(Case).where(Case.household_id == hh.id, Case.kind == "revisit",
                                                    Case.state == workflow.OPEN, Case.opened_on == old))
        if revisit is not None and (revisit.data or {}).get("removal_case_id") == case.id:
            _move_opened(session, revisit, new, reason, as_of)
    elif case.kind == "policy_exclusion" and hh.policy_excluded_on == old:
        hh.policy_excluded_on = new


def _move_opened(session: Session, case: Case, new: date, reason: str, as_of: date) -> None:
    """A case opened by another's step (the revisit after removal, the identification after a green channel)
    moves with it, recorded as a correction of its own."""
    done = [d for _, d in _done_dates(session, case)]
    if done and new > min(done):
        raise CorrectionError(f"流程 #{case.id} 已于 {min(done)} 办理步骤，不能把其发起日期改为 {new}")
    changes = [("opened_on", case.opened_on, new)]
    case.opened_on = new
    _record(session, household_id=case.household_id, kind="opened", reason=f"随相关流程更正：{reason.strip()}",
            as_of=as_of, case_id=case.id, changes=changes)
    _recompute_dues(session, case)


# ---------------------------------------------------------------- a case's opening date / a clue's date

def validate_case_date(session: Session, case_id: int, opened_on: date | None, reason: str, as_of: date) -> list[str]:
    access.owned(session, Case, case_id, write=True)
    case = _case(session, case_id)
    if case.state == VOID:
        return [f"流程 #{case.id} 已作废，不能更正"]
    problems = []
    if not (reason or "").strip():
        problems.append("请填写更正原因")
    if opened_on is None:
        problems.append("请填写正确的日期")
        return problems
    if opened_on == case.opened_on:
        problems.append("日期没有改变")
    if opened_on > as_of:
        problems.append(f"日期 {opened_on} 晚于今天 {as_of}")
    done = [d for _, d in _done_dates(session, case)]
    if done and opened_on > min(done):
        problems.append(f"日期 {opened_on} 晚于已办理步骤的日期 {min(done)}")
    proc = procedures_of(case)
    if proc is not None and not problems:
        workflow._check_role(session, None, proc.steps[0].roles, session.get(Household, case.household_id),
                             f"更正{proc.name}的发起日期")
    return problems


def correct_case_date(session: Session, case_id: int, opened_on: date, reason: str, *, as_of: date,
                      version: int | None = None) -> None:
    """The opening date of a case (an identification's clue date, D of its deadlines), corrected with a reason;
    the clue it came from follows, and so do the deadlines. `version`: the case's as read (CaseView.version)."""
    access.owned(session, Case, case_id, write=True)
    _locked_case(session, case_id, version)
    problems = validate_case_date(session, case_id, opened_on, reason, as_of)
    if problems:
        raise CorrectionError("；".join(problems))
    case = _case(session, case_id)
    old = case.opened_on
    case.opened_on = opened_on
    changes: list = [("opened_on", old, opened_on)]
    clue_id = (case.data or {}).get("clue_id")
    clue = session.get(Clue, clue_id) if clue_id else None
    if clue is not None and clue.reported_on == old:
        clue.reported_on = opened_on
        changes.append(("reported_on", old, opened_on))
    _record(session, household_id=case.household_id, kind="opened", reason=reason, as_of=as_of, case_id=case.id,
            clue_id=clue.id if clue is not None else None, changes=changes)
    if case.kind == "green":
        hh = session.get(Household, case.household_id)
        follow = session.scalar(select(Case).where(Case.household_id == hh.id, Case.kind == "identify",
                                                   Case.state != VOID))
        if follow is not None and (follow.data or {}).get("green_case_id") == case.id \
                and (follow.data or {}).get("green_entry") == old.isoformat():
            follow.data = {**follow.data, "green_entry": opened_on.isoformat()}
            if hh.identified_on == old:
                hh.identified_on = opened_on
    _recompute_dues(session, case)


def correct_clue_date(session: Session, clue_id: int, reported_on: date | None, reason: str, *, as_of: date,
                      version: int | None = None) -> None:
    """A clue's date, corrected with a reason; a clue that opened an identification moves that case's date (D).
    `version`: the clue's as read."""
    access.owned(session, Clue, clue_id, write=True)
    clue = session.get(Clue, clue_id)
    if clue is None:
        raise CorrectionError("线索不存在")
    concurrency.expect_version(session, clue, version)
    case = session.get(Case, clue.case_id) if clue.case_id else None
    if case is not None and case.opened_on == clue.reported_on and (case.data or {}).get("clue_id") == clue.id:
        correct_case_date(session, case.id, reported_on, reason, as_of=as_of)
        return
    problems = []
    if not (reason or "").strip():
        problems.append("请填写更正原因")
    if reported_on is None:
        problems.append("请填写正确的日期")
    elif reported_on > as_of:
        problems.append(f"线索日期 {reported_on} 晚于今天 {as_of}")
    elif reported_on == clue.reported_on:
        problems.append("日期没有改变")
    if clue.household_id is None:
        problems.append("线索尚未对应到登记户：请先登记该户")
    if problems:
        raise CorrectionError("；".join(problems))
    old = clue.reported_on
    clue.reported_on = reported_on
    _record(session, household_id=clue.household_id, kind="clue", reason=reason, as_of=as_of, clue_id=clue.id,
            changes=[("reported_on", old, reported_on)])


# ---------------------------------------------------------------- 作废: a case opened by mistake

def void_problem(session: Session, case_id: int) -> str | None:
    """Why the case cannot be voided (None when it can)."""
    access.owned(session, Case, case_id)
    case = _case(session, case_id)
    if case.state == VOID:
        return f"流程 #{case.id} 已作废"
    if case.state != workflow.OPEN:
        return f"流程 #{case.id} 已{workflow.STATES[case.state]}，不能作废"
    decided = workflow._approved_on(session, case)
    if decided is not None:
        return (f"流程 #{case.id} 已于 {decided} 作出决定，不能作废：识别错误请申请清退，"
                "错误消除请申请风险消除回退")
    return None


def void_case(session: Session, case_id: int, reason: str, *, as_of: date, version: int | None = None) -> None:
    """Void a case opened by mistake (重复、选错户): kept with its reason, shown as 已作废, and out of every list,
    count and deadline. The household returns to the status it had before the case (as when a step fails).
    `version`: the case's as read (CaseView.version; a step done since makes it newer)."""
    access.manager(session, "作废流程")
    access.owned(session, Case, case_id, write=True)
    _locked_case(session, case_id, version)
    problem = void_problem(session, case_id)
    if problem:
        raise CorrectionError(problem)
    if not (reason or "").strip():
        raise CorrectionError("请填写作废原因（例如：与流程 #12 重复）")
    case = _case(session, case_id)
    hh = session.get(Household, case.household_id)
    if not access.actor(session).may_edit_village(hh.village_id):
        raise CorrectionError(f"您没有户 {hh.household_no} 所在村的办理权限")
    workflow._fail(session, case, hh, as_of, f"作废：{reason.strip()}")
    case.state = VOID
    clue_id = (case.data or {}).get("clue_id")
    clue = session.get(Clue, clue_id) if clue_id else None
    if clue is not None:
        clue.outcome = f"所发起的流程 #{case.id} 已作废：{reason.strip()}"[:200]
    _record(session, household_id=hh.id, kind="void", reason=reason, as_of=as_of, case_id=case.id,
            changes=[("state", workflow.STATES[workflow.OPEN], workflow.STATES[VOID])])


# ---------------------------------------------------------------- 户注销 and its reopening

def close_problems(session: Session, household_id: int, closed_on: date | None, reason: str, as_of: date) -> list[str]:
    access.household(session, household_id, write=True)
    hh = session.get(Household, household_id)
    if hh is None:
        raise CorrectionError(f"户 #{household_id} 不存在")
    if hh.closed_on is not None:
        return [f"户 {hh.household_no} 已于 {hh.closed_on} 注销"]
    problems = []
    if not (reason or "").strip():
        problems.append("请填写注销原因（例如：全户死亡、整户迁出本乡镇、重复登记）")
    if closed_on is None:
        problems.append("请填写注销日期")
    elif closed_on > as_of:
        problems.append(f"注销日期 {closed_on} 晚于今天 {as_of}")
    busy = session.scalar(select(Case.id).where(Case.household_id == hh.id, Case.state == workflow.OPEN).limit(1))
    if busy is not None:
        problems.append(f"户 {hh.household_no} 有进行中的流程 #{busy}：请先办结或作废")
    if hh.monitoring_status in rules.UNREMOVED or hh.monitoring_status == "identifying":
        name = codes("monitoring_status").name(hh.monitoring_status)
        problems.append(f"户 {hh.household_no} 当前为“{name}”：监测对象须先办理风险消除或清退，再注销")
    return problems


def close_household(session: Session, household_id: int, closed_on: date, reason: str, *, as_of: date,
                    version: int | None = None) -> None:
    """户注销: the household leaves the working register on a date, for a reason; nothing is deleted.
    `version`: the household's as read (HouseholdData.version)."""
    access.manager(session, "注销户")
    access.household(session, household_id, write=True)
    _locked_household(session, household_id, version)
    problems = close_problems(session, household_id, closed_on, reason, as_of)
    if problems:
        raise CorrectionError("；".join(problems))
    hh = session.get(Household, household_id)
    hh.closed_on, hh.closed_reason = closed_on, reason.strip()[:200]
    _record(session, household_id=hh.id, kind="close", reason=reason, as_of=as_of,
            changes=[("closed_on", None, closed_on)])


def reopen_household(session: Session, household_id: int, reason: str, *, as_of: date,
                     version: int | None = None) -> None:
    """An administrator takes a closed household back into the register (a closing made by mistake).
    `version`: the household's as read."""
    access.admin(session, "恢复已注销的户")
    access.household(session, household_id, write=True)
    hh = _locked_household(session, household_id, version)
    if hh.closed_on is None:
        raise CorrectionError(f"户 {hh.household_no} 没有注销")
    if not (reason or "").strip():
        raise CorrectionError("请填写恢复原因")
    old = hh.closed_on
    hh.closed_on, hh.closed_reason = None, None
    _record(session, household_id=hh.id, kind="reopen", reason=reason, as_of=as_of,
            changes=[("closed_on", old, None)])


# ---------------------------------------------------------------- who may (for a window that only hides)

def may_void(user: CurrentUser | None) -> bool:
    """作废 is for 管理员 and 乡镇审核员 (void_case decides; a window hides the button from others)."""
    return user is not None and user.role in access.MANAGERS


def may_close(user: CurrentUser | None) -> bool:
    """户注销 is for 管理员 and 乡镇审核员 (close_household decides)."""
    return user is not None and user.role in access.MANAGERS


def may_reopen(user: CurrentUser | None) -> bool:
    """Reopening a closed household is for 管理员 (reopen_household decides)."""
    return user is not None and user.role == access.ADMIN


# ---------------------------------------------------------------- what people read

@dataclass(frozen=True)
class CorrectionRow:
    made_on: date
    at: datetime
    made_by: str  # the user's name
    kind: str
    kind_name: str
    case_id: int | None
    what: str  # "入户核实 办理日期", "发起日期", "户注销"
    old: str
    new: str
    reason: str

    @property
    def text(self) -> str:
        change = f"{self.old or '（空）'} → {self.new or '（空）'}" if self.old or self.new else ""
        what = f"{self.what}：{change}" if change else self.what
        return f"{self.made_on} {self.made_by} {self.kind_name} {what}（原因：{self.reason}）"


def _rows(session: Session, q) -> list[CorrectionRow]:
    entries = list(session.scalars(q.order_by(Correction.id)))
    users = {e.made_by for e in entries}
    names = dict(session.execute(select(User.username, User.display_name).where(User.username.in_(users))).all()) \
        if users else {}
    steps = {}
    step_ids = {e.step_id for e in entries if e.step_id is not None}
    if step_ids:
        q = select(CaseStep.id, CaseStep.step, Case.kind).join(Case, Case.id == CaseStep.case_id)
        for sid, key, kind in session.execute(q.where(CaseStep.id.in_(step_ids))):
            steps[sid] = workflow.step_name(kind, key)
    out = []
    for e in entries:
        label = FIELD_NAMES.get(e.field or "", None)
        if label is None and e.field and e.case_id is not None:
            kind = session.scalar(select(Case.kind).where(Case.id == e.case_id))
            label = _field_label(kind, e.field)
        what = " ".join(p for p in (steps.get(e.step_id), label) if p) or KIND_NAMES.get(e.kind, e.kind)
        if e.kind in ("void", "close", "reopen") and e.field in ("state", None):
            what = KIND_NAMES[e.kind]
        out.append(CorrectionRow(e.made_on, e.created_at, names.get(e.made_by) or e.made_by, e.kind,
                                 KIND_NAMES.get(e.kind, e.kind), e.case_id, what, _shown(e.field, e.old),
                                 _shown(e.field, e.new), e.reason))
    return out


def _field_label(kind: str | None, key: str) -> str:
    proc = procedures_of_kind(kind)
    if proc is not None:
        for step in proc.steps:
            if key in step.field_labels:
                return step.field_labels[key]
    return key


def _shown(fld: str | None, text: str | None) -> str:
    if text is None:
        return ""
    if fld == "category":
        return codes("category").name(text, text)
    return text


def case_corrections(session: Session, case_id: int) -> list[CorrectionRow]:
    """The corrections of one case (its steps, its date, its voiding), oldest first."""
    access.owned(session, Case, case_id)
    return _rows(session, select(Correction).where(Correction.case_id == case_id))


def household_corrections(session: Session, household_id: int) -> list[CorrectionRow]:
    """Every correction of a household, its cases' included, and its closing and reopening, oldest first."""
    access.household(session, household_id)
    return _rows(session, select(Correction).where(Correction.household_id == household_id))


def corrected_steps(session: Session, case_id: int) -> dict[int, list[CorrectionRow]]:
    """Step seq → its corrections, for marking the corrected rows of a timeline."""
    access.owned(session, Case, case_id)
    seqs = dict(session.execute(select(CaseStep.id, CaseStep.seq).where(CaseStep.case_id == case_id)).all())
    out: dict[int, list[CorrectionRow]] = {}
    entries = list(session.scalars(select(Correction).where(Correction.case_id == case_id,
                                                            Correction.step_id.is_not(None)).order_by(Correction.id)))
    rows = _rows(session, select(Correction).where(Correction.id.in_([e.id for e in entries]))) if entries else []
    for e, r in zip(entries, rows, strict=True):
        out.setdefault(seqs[e.step_id], []).append(r)
    return out

