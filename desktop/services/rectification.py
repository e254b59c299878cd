"""整改台账 (rectification ledger): every data-quality finding of a year (SPEC §10, services.checks) and where its
rectification stands, kept across check runs.

A finding is identified by (year, household, national rule number or else our code, member ID number or none) —
the same thing found again by a later run is the same ledger entry. States:

- 待整改 (open): found and not answered, or answered 已整改 but found again.
- 已整改 (fixed): set by the checks when a run no longer finds it (the data was corrected), or by a person (the
  village reports it corrected; the next run confirms it or reopens it).
- 无需整改 (waived): a person decided the data is right as it stands; a reason is required. It stays waived while
  the checks keep finding it, even if the message's wording changes (messages carry dates and day counts that
  change every day: "已逾期 12 天", "截至 2024-11-20"); the message the decision was made on is kept, and an
  entry whose current message differs is shown as "情况有变化" for a second look. A waived finding that is no
  longer found becomes 已整改 like any other.

A finding that comes back after 已整改 is reopened (待整改) and counted (`reopened`). Only households the run
checked are moved: a run over one village never closes another village's entries.

- 已停用 (disabled): a 待整改 entry of a national rule the township switched off (national_rules.set_rule_enabled,
  and any run while the rule is off). Nothing checks it any more, so it is not work for the village: not counted
  as 待整改, not sent down, not printed. Switched on again, it is 待整改 until the next run confirms or fixes it.

Who: everyone sees the entries of the villages they may see (a 村级录入员 their own); deciding an entry is a write
to its household. The automatic moves of a run are written in bulk with one audit entry summing them up; a
person's decision is an ordinary audited change of the entry.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from ..models import Household, Member, Rectification, Region
from . import access, audit, checks, dataversion, national_rules
from .access import AccessDenied
from .codes import codes
from .errors import ServiceError

OPEN, FIXED, WAIVED, DISABLED = "open", "fixed", "waived", "disabled"
STATES = (OPEN, FIXED, WAIVED)  # what a person (or a village's reply) may set
SHOWN_STATES = (*STATES, DISABLED)  # what an entry may be: 已停用 is set by switching its rule off
CHUNK = 900
SYSTEM = "系统（复查）"  # shown as the decider of the moves the checks make

# Where in the household editor a finding of our own codes is corrected (register field names: HouseholdData /
# MemberData). Codes not listed open the member (when the finding names one) or the household.
FIELDS = {
    "ID_CHECKSUM": "id_number", "ID_DUPLICATE": "id_number", "ID_BIRTHDATE": "id_number", "SEX_MISMATCH": "sex",
    "HEAD_MISSING": "relation", "HEAD_MULTIPLE": "relation", "HEAD_SPOUSE_SAME_SEX": "sex", "SCHOOL_AGE_OUT": "school",
    "MEDICAL_INSURANCE_MISSING": "a17_medical", "WORK_MONTHS_INVALID": "work_months",
    "GUARANTEE_MISSING": "a23_housing_unsafe", "CATEGORY_INCONSISTENT": "a3_category",
    "WHOLE_NO_LABOR_REMOVED": "whole_no_labor_guarantee", "REMOVED_TOO_SOON": "a54_removed_on",
}


class RectificationError(ServiceError):
    pass


class ReplyError(RectificationError):
    """A village's reply workbook that cannot be taken: every bad row named; nothing was changed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = "\n".join(problems[:30]) + (f"\n……共 {len(problems)} 处" if len(problems) > 30 else "")
        super().__init__(f"整改台账回复有 {len(problems)} 处错误，未导入任何内容：\n{shown}")


class ReplyRefused(ReplyError, AccessDenied):
    """A reply with rows of households the user may not change (a 村级录入员's answers for another village)."""


def state_name(state: str) -> str:
    return codes("rectification_state").name(state, state)


def state_of_name(text: str) -> str | None:
    """待整改 / 已整改 / 无需整改 → the stored code (None when the text is none of them)."""
    t = "".join((text or "").split())
    return next((c.code for c in codes("rectification_state") if c.name == t), None)


def rule_key(f) -> str:
    """What identifies the rule of a finding: the national number, else our code."""
    return getattr(f, "rule", None) or f.code


def _key(household_id: int, rk: str, member: str | None) -> tuple[int, str, str]:
    return household_id, rk, member or ""


@dataclass(frozen=True)
class Entry:
    id: int
    year: int
    household_id: int
    household_no: str
    head_name: str
    village_id: int | None
    village: str
    rule_key: str
    rule: str | None
    code: str
    title: str
    member_id_number: str | None
    member_name: str
    message: str
    state: str
    reason: str | None
    decided_by: str | None
    decided_on: date | None
    decided_message: str | None
    first_found_on: date
    last_found_on: date
    fixed_on: date | None
    reopened: int

    @property
    def state_name(self) -> str:
        return state_name(self.state)

    @property
    def is_open(self) -> bool:
        """待整改: the village still has to act on it."""
        return self.state == OPEN

    @property
    def changed(self) -> bool:
        """Waived on a message that the checks now word differently: worth a second look."""
        return self.state == WAIVED and self.decided_message is not None and self.decided_message != self.message

    @property
    def decider(self) -> str:
        return self.decided_by or (SYSTEM if self.decided_on else "")

    @property
    def field(self) -> str | None:
        """The register field where the finding is corrected, when known."""
        return FIELDS.get(self.code)


@dataclass(frozen=True)
class SyncResult:
    new: int
    reopened: int
    fixed: int
    open: int  # entries 待整改 after the run (in the households checked)
    waived: int
    disabled: int = 0  # entries 已停用 after the run (their rule switched off)

    def summary(self) -> str:
        off = f"，规则已停用 {self.disabled} 条" if self.disabled else ""
        return (f"整改台账：新增 {self.new} 条，重新出现 {self.reopened} 条，自动确认已整改 {self.fixed} 条；"
                f"现待整改 {self.open} 条，无需整改 {self.waived} 条{off}")


@dataclass(frozen=True)
class Checked:
    """A check run recorded in the ledger: the findings, what moved, and the year's entries of the checked
    households (every state)."""

    findings: list
    sync: SyncResult
    entries: list[Entry]


def check(session: Session, year: int, as_of: date, household_ids: list[int] | None = None,
          progress: Callable[[int, int, str], object] | None = None) -> Checked:
    """Run the checks (services.checks.run_checks) over the households the user may see (or those given) and
    record the result in the ledger: one user action. progress(done, total, stage) hears each stage."""
    household_ids = access.within(session, household_ids)
    active = active_rules(session)
    total = len(checks.STAGES) + 1

    def told(done: int, _total: int, stage: str) -> None:
        if progress is not None:
            progress(done, total, stage)

    findings = found(session, year, as_of, household_ids, progress=told)
    told(total - 1, total, "记入整改台账")
    result = sync(session, year, as_of, findings, household_ids, active_rules=active)
    return Checked(findings, result, entries(session, year, household_ids=household_ids))


def found(session: Session, year: int, as_of: date, household_ids: list[int] | None = None,
          progress: Callable[[int, int, str], object] | None = None) -> list:
    """services.checks.run_checks, kept for unchanged data (dataversion.cached): 首页 counts the findings and 数据质量
    records them, each a run of every check over the whole register (seconds at county scale); a second run on the
    same data, as of the same date, over the same households and for the same scope is the first one's answer
    (progress then hears nothing). Treat the list as read-only."""
    key = (year, as_of, access.scope(session), None if household_ids is None else tuple(household_ids))
    # A finding holds about a third of an assessment row (0.7 against 1.9 KB on the 20,000-household demo, measured
    # with tracemalloc): counted so, a county's findings do not push its assessment out of the cache.
    return dataversion.cached(session, "checks", key,
                              lambda: checks.run_checks(session, year, as_of, household_ids, progress=progress),
                              weight=lambda found: -(-len(found) // 3))


def active_rules(session: Session) -> frozenset[str]:
    """The national rule numbers the township checks (the ones it has not switched off): what `sync` needs."""
    return frozenset(r.number for r in national_rules.enabled_rules(session))


def sync(session: Session, year: int, as_of: date, findings: Iterable, household_ids: list[int] | None = None, *,
         active_rules: Iterable[str]) -> SyncResult:
    """Bring the ledger of `year` in step with the findings of a run over `household_ids` (None: every household
    the user may see). New findings open; open and waived ones found again keep their state (the message is
    updated); fixed ones found again reopen; entries of the checked households not found become 已整改.

    `active_rules` are the national rule numbers the run checked (those the township has not switched off). An
    entry of a national rule not among them is not fixed: a rule switched off checks nothing, so its absence from
    the findings says nothing about the data. A 待整改 one becomes 已停用 (shown so, not counted as open); the
    others keep their state (switched on again, the next run moves them as usual; 已停用 found again is 待整改).
    Closed households (户注销) are skipped: their entries are neither opened, moved nor marked 已整改.

    An entry keeps following its finding when the key of the finding changes: a finding of one of our codes that
    now carries a national number (entries recorded before the national rules, keyed by the code), or that has
    lost it because its rule was switched off, takes over the entry of the same household, member and code under
    the old key (once: the entry is re-keyed), so nothing is duplicated or lost."""
    household_ids = access.within(session, household_ids)
    active = frozenset(active_rules)
    national = national_rules.by_number()
    checked = None if household_ids is None else set(household_ids)
    by_no, closed = {}, set()
    for no, hid, closed_on in session.execute(select(Household.household_no, Household.id, Household.closed_on)):
        by_no[no] = hid
        if closed_on is not None:
            closed.add(hid)
    found: dict[tuple, object] = {}
    for f in findings:
        hid = by_no.get(f.household_no)
        if hid is None or hid in closed or (checked is not None and hid not in checked):
            continue
        found.setdefault(_key(hid, rule_key(f), f.member_id_number), f)
    existing = {}
    q = select(Rectification.id, Rectification.household_id, Rectification.rule_key, Rectification.member_id_number,
               Rectification.state, Rectification.message, Rectification.code).where(Rectification.year == year)
    for ids in _chunks(household_ids):
        rows = session.execute(q if ids is None else q.where(Rectification.household_id.in_(ids)))
        for r in rows:
            if r.household_id not in closed:
                existing[_key(r.household_id, r.rule_key, r.member_id_number)] = r

    def movable(key: tuple, r) -> bool:  # an entry under a key no finding of this run can carry any more
        rk = key[1]
        return key not in found and (rk == r.code or (rk in national and rk not in active))

    spare: dict[tuple, list] = {}  # (household, member, code) → entries under such a key
    for key, r in existing.items():
        if movable(key, r):
            spare.setdefault((key[0], key[2], r.code), []).append(key)
    new_rows, seen, reopen, reworded, rekeyed, revive = [], [], [], [], [], []
    for key, f in found.items():
        r, moved = existing.get(key), False
        if r is None:
            old = spare.get((key[0], key[2], f.code))
            if old:
                old.sort(key=lambda k: existing[k].id)
                r = existing.pop(old.pop(0))
                existing[key] = r
                rekeyed.append({"rid": r.id, "rule_key": key[1], "rule": getattr(f, "rule", None)})
                moved = True
        if r is None:
            new_rows.append(dict(year=year, household_id=key[0], rule_key=key[1], rule=getattr(f, "rule", None),
                                 code=f.code, title=f.title, member_id_number=f.member_id_number,
                                 message=f.message, state=OPEN, first_found_on=as_of, last_found_on=as_of,
                                 reopened=0))
            continue
        seen.append(r.id)
        if r.state == FIXED:
            reopen.append(r.id)
        elif r.state == DISABLED:  # its rule (or our code taking it over) checks again and finds it
            revive.append(r.id)
        if moved or r.message != f.message:
            reworded.append({"rid": r.id, "message": f.message, "title": f.title})
    off = [r.id for key, r in existing.items()
           if key not in found and r.state == OPEN and key[1] in national and key[1] not in active]
    fix = [r.id for key, r in existing.items()
           if key not in found and r.state != FIXED and not (key[1] in national and key[1] not in active)]
    if new_rows:
        for start in range(0, len(new_rows), 5000):
            session.execute(insert(Rectification), new_rows[start:start + 5000])
    t = Rectification.__table__
    if rekeyed:
        session.execute(update(t).where(t.c.id == bindparam("rid")).values(rule_key=bindparam("rule_key"),
                                                                             rule=bindparam("rule")), rekeyed)
    for start in range(0, len(seen), CHUNK):
        session.execute(update(t).where(t.c.id.in_(seen[start:start + CHUNK])).values(last_found_on=as_of))
    for start in range(0, len(reopen), CHUNK):
        session.execute(update(t).where(t.c.id.in_(reopen[start:start + CHUNK])).values(
            state=OPEN, reopened=t.c.reopened + 1, fixed_on=None, reason=None, decided_by=None, decided_on=as_of,
            decided_message=None))
    for ids_, state in ((off, DISABLED), (revive, OPEN)):
        for start in range(0, len(ids_), CHUNK):
            session.execute(update(t).where(t.c.id.in_(ids_[start:start + CHUNK])).values(state=state))
    for start in range(0, len(fix), CHUNK):
        session.execute(update(t).where(t.c.id.in_(fix[start:start + CHUNK])).values(
            state=FIXED, fixed_on=as_of, decided_by=None, decided_on=as_of))
    if reworded:
        session.execute(update(t).where(t.c.id == bindparam("rid")).values(message=bindparam("message"),
                                                                             title=bindparam("title")), reworded)
    states = Counter()
    q = select(Rectification.state, Rectification.household_id).where(Rectification.year == year)
    for ids in _chunks(household_ids):
        for state, hid in session.execute(q if ids is None else q.where(Rectification.household_id.in_(ids))):
            if hid not in closed:
                states[state] += 1
    result = SyncResult(len(new_rows), len(reopen), len(fix), states[OPEN], states[WAIVED], states[DISABLED])
    if new_rows or reopen or fix or rekeyed or off or revive:
        audit.record(session, "update", "rectification", field="state", new=f"{year} 年度检查（截至 {as_of}）："
                     f"{result.summary()}")
    return result


def rule_switched(session: Session, number: str, enabled: bool) -> int:
    """A national rule switched off (on): its 待整改 entries of every year become 已停用 (its 已停用 ones 待整改
    again, until the next run confirms or fixes them). Called by national_rules.set_rule_enabled, which checks
    who may; returns how many entries moved (audited as one summary)."""
    access.manager(session, "设置疑点规则")
    before, after = (DISABLED, OPEN) if enabled else (OPEN, DISABLED)
    t = Rectification.__table__
    moved = session.execute(update(t).where(t.c.rule_key == number, t.c.state == before)
                            .values(state=after)).rowcount or 0
    if moved:
        audit.record(session, "update", "rectification", field="state",
                     new=f"疑点规则 {number} {'重新开启' if enabled else '已关闭'}：{moved} 条问题"
                         f"由{state_name(before)}改为{state_name(after)}")
    return moved


def _chunks(ids: list[int] | None):
    if ids is None:
        yield None
        return
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def entries(session: Session, year: int, *, village_ids: Iterable[int] | None = None,
            household_ids: list[int] | None = None, states: Iterable[str] | None = None,
            ids: list[int] | None = None) -> list[Entry]:
    """The ledger of `year` in the villages the user may see (narrowed to `village_ids`, `household_ids`,
    `states`, entry `ids`), ordered by village, household number, rule and member."""
    villages = access.narrow(session, village_ids)
    if household_ids is not None:
        access.households(session, household_ids)
    r, h = Rectification, Household
    t = r.__table__.c
    q = (select(t.id, t.year, t.household_id, h.household_no, h.head_name, h.village_id, Region.name, t.rule_key,
                t.rule, t.code, t.title, t.member_id_number, Member.name, t.message, t.state, t.reason, t.decided_by,
                t.decided_on, t.decided_message, t.first_found_on, t.last_found_on, t.fixed_on, t.reopened)
         .join(h, h.id == r.household_id).outerjoin(Region, Region.id == h.village_id)
         .outerjoin(Member, (Member.household_id == r.household_id) & (Member.id_number == r.member_id_number))
         .where(r.year == year))
    if villages is not None:
        q = q.where(h.village_id.in_(sorted(villages)))
    if states is not None:
        q = q.where(r.state.in_(list(states)))
    if ids is not None:
        parts = [q.where(r.id.in_(part)) for part in _chunks(list(ids))]
        if household_ids is not None:
            parts = [p.where(r.household_id.in_(household_ids)) for p in parts]
    else:
        parts = [q if part is None else q.where(r.household_id.in_(part)) for part in _chunks(household_ids)]
    out: dict[int, Entry] = {}
    for qq in parts:
        for row in session.execute(qq):
            if row[0] not in out:
                row = list(row)
                row[4], row[6], row[12] = row[4] or "", row[6] or "", row[12] or ""
                out[row[0]] = Entry(*row)
    return sorted(out.values(), key=lambda e: (e.village, e.household_no, e.rule_key, e.member_id_number or ""))


def decide(session: Session, entry_ids: list[int], state: str, reason: str | None, as_of: date) -> int:
    """A person sets the state of entries (待整改 / 已整改 / 无需整改) with a reason — required for 无需整改.
    Each entry's household must be one the user may change. Returns how many entries changed."""
    access.actor(session)
    if state not in STATES:
        raise RectificationError(f"未知的整改状态：{state}（可选：待整改、已整改、无需整改）")
    reason = (reason or "").strip() or None
    if state == WAIVED and reason is None:
        raise RectificationError("选择“无需整改”须写明理由")
    if not entry_ids:
        raise RectificationError("请先选择要处理的问题")
    rows = []
    for start in range(0, len(entry_ids), CHUNK):
        rows += session.scalars(select(Rectification).where(Rectification.id.in_(entry_ids[start:start + CHUNK])))
    missing = set(entry_ids) - {r.id for r in rows}
    if missing:
        raise RectificationError(f"整改台账中没有编号为 {'、'.join(map(str, sorted(missing)[:10]))} 的问题，"
                                 f"可能已被重新检查：请刷新")
    access.households(session, {r.household_id for r in rows}, write=True)
    user = access.actor(session).username
    changed = 0
    for r in rows:
        if r.state == state and r.reason == reason:
            continue
        _apply(r, state, reason, user, as_of)
        changed += 1
    session.flush()
    return changed


def _apply(r: Rectification, state: str, reason: str | None, user: str, as_of: date) -> None:
    """A person's decision on one entry (audited by the session's hook)."""
    r.state, r.reason, r.decided_by, r.decided_on = state, reason, user, as_of
    r.decided_message = r.message
    r.fixed_on = as_of if state == FIXED else None


@dataclass(frozen=True)
class Count:
    """Entries of one rule in one village (village None: every village of the list)."""

    rule_key: str
    rule: str | None
    title: str
    village_id: int | None
    village: str
    open: int
    households: int


def open_counts(session: Session, year: int, *, village_ids: Iterable[int] | None = None) -> list[Count]:
    """待整改 entries by rule and village (what 预警中心 and the reports show), most first."""
    villages = access.narrow(session, village_ids)
    r, h = Rectification, Household
    q = (select(r.rule_key, r.rule, r.title, h.village_id, Region.name, r.household_id)
         .join(h, h.id == r.household_id).outerjoin(Region, Region.id == h.village_id)
         .where(r.year == year, r.state == OPEN))
    if villages is not None:
        q = q.where(h.village_id.in_(sorted(villages)))
    n: Counter = Counter()
    hh: dict[tuple, set] = {}
    about: dict[tuple, tuple] = {}
    for rk, rule, title, vid, village, hid in session.execute(q):
        key = (rk, vid)
        n[key] += 1
        hh.setdefault(key, set()).add(hid)
        about[key] = (rule, title, village or "")
    out = [Count(rk, about[(rk, vid)][0], about[(rk, vid)][1], vid, about[(rk, vid)][2], n[(rk, vid)],
                 len(hh[(rk, vid)])) for rk, vid in n]
    out.sort(key=lambda c: (-c.open, c.rule_key, c.village))
    return out


def states_of(session: Session, year: int, findings: Iterable) -> dict[tuple[str, str, str], str]:
    """The ledger state of each finding given, by (rule key, household number, member ID or ""): what a report
    shows beside a fresh run without writing anything. A finding not yet in the ledger is 待整改."""
    access.logged_in(session)
    wanted = {(rule_key(f), f.household_no, f.member_id_number or "") for f in findings}
    nos = sorted({w[1] for w in wanted})
    out = {}
    for start in range(0, len(nos), CHUNK):
        q = (select(Rectification.rule_key, Household.household_no, Rectification.member_id_number,
                    Rectification.state).join(Household, Household.id == Rectification.household_id)
             .where(Rectification.year == year, Household.household_no.in_(nos[start:start + CHUNK])))
        for rk, no, member, state in session.execute(q):
            out[(rk, no, member or "")] = state
    # found now: a 已整改 entry found again is 待整改 again (the next recorded run reopens it)
    return {w: (WAIVED if out.get(w) == WAIVED else OPEN) for w in wanted}
