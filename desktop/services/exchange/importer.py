"""Import of the exchange workbook (SPEC §9): read and check everything first (preview), then
write it all in one transaction (apply), or nothing.

New households go in with bulk inserts in chunks, with keys chosen here, and one summary audit
entry; existing households (same 户编号) are updated through the ORM so that every changed field is
audited by the session hook of services.audit (writer.py). On an update a blank cell keeps what is
stored: only what the file says changes.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Callable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ...models import Household, Member, Region
from .. import access, audit, backup, dataversion, gcpause, regions
from ..auth import CurrentUser
from ..db import IMPORT_LOCK, exclusive
from ..idnumber import normalize_id
from . import fingerprint
from .hidden import choose_sheets
from .hidden import notes as hidden_notes
from .hidden import questions as hidden_questions
from .layout import INCOME_ITEMS, norm_value, sheet, sheets
from .national import close_village, matters, read_national
from .plan import NATIONAL, PROGRAM, Data, Plan, living_elsewhere
from .reader import Book, Issue, Issues, ParsedSheet, WorkbookError, parse_sheet
from .values import measure_items
from .writer import ExchangeError, ImportCancelled, Progress, Writer, check_cancel, page_cache, report  # noqa: F401

ZERO = Decimal("0.00")


_Data, _Plan = Data, Plan  # the names this module used before plan.py

@dataclass
class Preview:
    """What an import would do, and every error that stops it. Nothing has been written.

    Two kinds of error are questions a person may answer instead of correcting the file (SPEC §9.1):
    a column nobody understands that matters, and a village name close to an existing one. The
    command line answers them with --accept-unknown-columns / --create-villages; the wizard asks,
    and confirm() takes them back when the answer is yes."""

    path: Path
    year: int
    layout: str = PROGRAM
    sheets_read: list[str] = field(default_factory=list)
    people: int = 0
    kept: list[str] = field(default_factory=list)  # columns stored as they are
    converted: list[str] = field(default_factory=list)  # columns stored after a conversion (and which)
    left_out: list[str] = field(default_factory=list)  # known columns not stored, with why
    ignored: list[str] = field(default_factory=list)  # columns nobody understands
    questions: dict[str, list[Issue]] = field(default_factory=dict)  # unknown_columns, close_villages
    households_new: int = 0
    households_updated: int = 0
    members_new: int = 0
    members_updated: int = 0
    measures: int = 0
    income_households: int = 0
    income_lines: int = 0
    villages_to_create: list[str] = field(default_factory=list)
    groups_to_create: list[str] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    error_count: int = 0
    notes: list[str] = field(default_factory=list)
    sheet_notes: list[str] = field(default_factory=list)  # which sheet was read as what; removed characters
    elapsed: float = 0.0
    data: Data | None = field(default=None, repr=False, compare=False)
    # How the file lands, as resolved against the data version seen by the preview (services.dataversion): apply
    # reuses it while that version is still the database's and the same user applies.
    plan: Plan | None = field(default=None, repr=False, compare=False)
    resolved_at: tuple | None = field(default=None, repr=False, compare=False)
    # the households left out as unchanged (fingerprint.py) cannot be left out after all: read the whole file
    shortcut_failed: bool = field(default=False, repr=False, compare=False)
    scan: object = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """The file has no errors (it can be applied once)."""
        return self.error_count == 0

    @property
    def confirmable(self) -> bool:
        """Every error is a question (unknown columns that matter, villages close to existing ones):
        the file can be imported once a person says yes."""
        asked = sum(len(v) for v in self.questions.values())
        return bool(asked) and self.error_count == asked and self.data is not None

    def confirm(self) -> None:
        """The person said yes to every question: import as the file says."""
        if not self.confirmable:
            raise ExchangeError("文件还有需要改正的错误，不能直接导入")
        asked = {id(i) for v in self.questions.values() for i in v}
        self.errors = [e for e in self.errors if id(e) not in asked]
        self.error_count -= len(asked)
        self.questions = {}

    def layout_text(self) -> str:
        if self.layout == NATIONAL:
            sheets = "、".join(f"“{n}”" for n in self.sheets_read)
            return f"全国系统一人一行名单（工作表 {sheets}）：{self.households} 户、{self.people} 人"
        return f"本程序的交换工作簿（户信息、家庭成员…）：{self.households} 户、{self.people} 人"

    @property
    def households(self) -> int:
        return self.households_new + self.households_updated

    def summary(self) -> str:
        parts = [f"新增 {self.households_new} 户、更新 {self.households_updated} 户",
                 f"新增成员 {self.members_new} 人、更新成员 {self.members_updated} 人"]
        if self.measures:
            parts.append(f"帮扶措施 {self.measures} 条")
        if self.income_households:
            parts.append(f"{self.year} 年收入 {self.income_households} 户")
        if self.villages_to_create:
            parts.append(f"新建行政村 {len(self.villages_to_create)} 个：{_some(self.villages_to_create)}")
        if self.groups_to_create:
            parts.append(f"新建自然村/村民小组 {len(self.groups_to_create)} 个：{_some(self.groups_to_create)}")
        return "；".join(parts)


@dataclass
class ImportResult:
    path: Path
    year: int
    households_new: int
    households_updated: int
    members_new: int
    members_updated: int
    measures_new: int
    measures_updated: int
    income_records: int
    villages_created: list[str]
    groups_created: list[str]
    changed_fields: int  # audited field changes on rows that existed
    backup: Path | None
    household_numbers: list[str] = field(default_factory=list, repr=False)
    findings: list = field(default_factory=list)  # services.checks.Finding of the imported households
    findings_note: str | None = None
    elapsed: float = 0.0

    def summary(self) -> str:
        parts = [f"新增 {self.households_new} 户、更新 {self.households_updated} 户",
                 f"新增成员 {self.members_new} 人、更新成员 {self.members_updated} 人"]
        if self.measures_new or self.measures_updated:
            parts.append(f"帮扶措施新增 {self.measures_new} 条、更新 {self.measures_updated} 条")
        if self.income_records:
            parts.append(f"写入 {self.year} 年收入 {self.income_records} 户")
        if self.villages_created:
            parts.append(f"新建行政村 {len(self.villages_created)} 个：{_some(self.villages_created)}")
        if self.groups_created:
            parts.append(f"新建自然村/村民小组 {len(self.groups_created)} 个：{_some(self.groups_created)}")
        if self.households_updated:
            parts.append(f"原有数据共修改 {self.changed_fields} 处（已记入操作日志）")
        return "；".join(parts)


def _some(names: list[str], shown: int = 12) -> str:
    text = "、".join(names[:shown])
    return text + (f" 等 {len(names)} 个" if len(names) > shown else "")


# ================================================================ preview

def preview(session: Session, path: Path | str, year: int, *, user: CurrentUser | None = None,
            progress: Progress | None = None, accept_unknown_columns: bool = False,
            create_villages: bool = False, include_hidden: bool = False) -> Preview:
    """Read and check the whole file against the database; write nothing. Unknown columns that
    matter, village names close to existing ones, and hidden sheets or rows that would be read as data
    are errors (questions) unless accepted."""
    with gcpause.paused():  # rows by the hundred thousand, none in a cycle (services.gcpause)
        started = time.perf_counter()
        user = access.actor(session)
        prior = fingerprint.load(session, year, user)
        result = _preview(session, path, year, progress, accept_unknown_columns, create_villages, include_hidden,
                          prior)
        if result.shortcut_failed:  # the shortened read could answer differently: the whole file, as always
            result = _preview(session, path, year, progress, accept_unknown_columns, create_villages,
                              include_hidden, None, result.scan)
        result.elapsed = time.perf_counter() - started
        return result


def _preview(session: Session, path: Path | str, year: int, progress: Progress | None, accept_unknown_columns: bool,
             create_villages: bool, include_hidden: bool, prior: fingerprint.Prior | None = None,
             scanned: fingerprint.Scan | None = None) -> Preview:
    user = access.actor(session)  # the session's user decides, whatever a caller passes
    started = time.perf_counter()
    path = Path(path)
    issues = Issues()
    result = Preview(path, year)
    try:
        data = read(path, issues, progress, year=year, prior=prior, scanned=scanned)
    except WorkbookError as exc:
        issues.add("", None, "", path.name, str(exc))
        data = None
    if data is not None and data.unchanged:
        result.scan = data.scan
        if not _shortcut_holds(data, issues):
            result.shortcut_failed = True
            return result
    questions: dict[str, list[Issue]] = {}
    if data is not None:
        tw = regions.township(session)
        if tw is None:
            issues.add("", None, "", "", "本数据库尚未配置乡镇：请先完成初始化")
        else:
            _check_file(data, issues, tw.name)
            plan = _resolve(session, data, issues, user)
            living_elsewhere(session, data, issues)
            if data.unchanged and issues:  # whatever it is, the whole file says it as the plain path does
                result.shortcut_failed = True
                return result
            version = dataversion.current(session)
            if plan is not None and version is not None and not dataversion.uncommitted(session):
                result.plan, result.resolved_at = plan, (version, user.username, user.village_ids)
            _count(result, data, plan)
            _describe(result, data)
            asked = Issues()
            if not accept_unknown_columns:
                for ps in data.read:
                    for header in ps.ignored:
                        if matters(header):
                            asked.add(ps.name, ps.header_row, header, "",
                                      "不认识的列，且像是监测状态、户类型、类别、收入或风险这类要紧的信息："
                                      "导入将不保存这一列。确认无误可在导入窗口中确认，"
                                      "或在命令行加 --accept-unknown-columns")
                if asked.items:
                    questions["unknown_columns"] = list(asked.items)
            if not include_hidden:
                asked3 = Issues()
                hidden_questions(data, asked3)
                if asked3.items:
                    questions["hidden"] = list(asked3.items)
            if plan is not None and plan.close_villages and not create_villages:
                asked2 = Issues()
                hh = data.sheets["household"]
                for name, existing in plan.close_villages:
                    asked2.add(hh.name, None, hh.header("village"), name,
                               f"与已有的行政村“{existing}”只差一点，可能是同一个村：如确是新村，请在导入窗口中确认，"
                               f"或在命令行加 --create-villages；如是同一个村，请把文件中的村名改为“{existing}”")
                questions["close_villages"] = list(asked2.items)
        result.sheet_notes = hidden_notes(data) if data is not None else []
        result.notes = result.sheet_notes + _notes(data)
    order = {sh.name: i for i, sh in enumerate(sheets().values())}
    if data is not None:
        order.update({ps.name: order.get(ps.sheet.name, 9) for ps in data.sheets.values()})
    asked_items = [i for v in questions.values() for i in v]
    result.errors = sorted(issues.items + asked_items,
                           key=lambda e: (order.get(e.sheet, -1 if not e.sheet else 9), e.row or 0))
    result.error_count = issues.count + len(asked_items)
    result.questions = questions
    result.data = data if not issues else None
    result.elapsed = time.perf_counter() - started
    return result


def _describe(result: Preview, data: Data) -> None:
    """Which layout, how many people, what is kept, converted and left out (the wizard shows it)."""
    result.layout = data.layout
    result.sheets_read = [ps.name for ps in data.read]
    result.people = sum(len(v) for v in data.members.values()) + data.skipped("members")
    kept, converted, left, ignored = [], [], [], []
    for ps in data.read:
        conv = set(ps.converted)
        for header in ps.headers.values():
            if header and header not in conv and header not in kept:
                kept.append(header)
        for header in ps.converted:
            if header not in converted:
                converted.append(header)
        for header, why in ps.left_out:
            text = f"{header}（{why}）"
            if text not in left:
                left.append(text)
        for header in ps.ignored:
            if header not in ignored:
                ignored.append(header)
    result.kept, result.converted, result.left_out, result.ignored = kept, converted, left, ignored


def read(path: Path, issues: Issues, progress: Progress | None = None, *, year: int | None = None,
         prior: fingerprint.Prior | None = None, scanned: fingerprint.Scan | None = None) -> Data | None:
    """Every sheet of the file in our layout (SPEC §9) or the national one (SPEC §9.1), converted;
    errors of cells and missing sheets collected. With `year`, the rows are fingerprinted too (fingerprint.py);
    with `prior` (what the last import stored), the households unchanged since are left out (Data.unchanged)."""
    book = Book(path)
    cut = None
    try:
        found, passed_over = choose_sheets(book.sheets)
        if year is not None and scanned is None and book.kind == "xlsx":
            # the rows are fingerprinted on the guards' pass over each sheet: under the column where the layout
            # puts 户编号, and where the last import found it
            book.tap = fingerprint.Tap(fingerprint.candidates("household" in found and "member" in found) | {
                str(v[1]) for v in ((prior.run.get("sheets") or {}).values() if prior is not None else ())})
        if prior is not None and year is not None:
            cut = _shortcut(book, prior, year)
        if not ("household" in found and "member" in found):
            book.prefetch([info.name for info in book.sheets])  # (calamine parses on its own thread: Book.prefetch)
            national = read_national(book, issues, progress)
            if national is not None:
                national.book_sheets = list(book.sheets)
                _fingerprints(book, national, year, cut, scanned)
                return national
        for key, sh in sheets().items():
            if sh.required and key not in found:
                names = "、".join(book.sheet_names) or "（无）"
                issues.add(sh.name, None, "", "", f"缺少工作表“{sh.name}”（文件中的工作表：{names}）；也不是全国系统"
                           "一人一行的名单（其表头应有“户编号”“姓名”“证件号码”“与户主关系”“村”等列）")
        if any(sheets()[k].required and k not in found for k in sheets()):
            return None
        parsed = {}
        book.prefetch(list(found.values()))  # each sheet scanned, then parsed by calamine beside the next one's scan
        for key, name in found.items():
            def tick(n, _name=name):
                report(progress, n, 0, f"正在读取“{_name}”：第 {n:,} 行")
            report(progress, 0, 0, f"正在读取“{name}”")
            parsed[key] = parse_sheet(book, name, sheets()[key], issues, tick)
        if book.tap is not None:
            book.tap.settle()  # (rows cut in processes of their own, taken before close() ends the processes)
    finally:
        book.close()
        if getattr(book, "subset", None) is not None:
            book.subset.close()
    data = Data(parsed, read=list(parsed.values()), book_sheets=list(book.sheets), passed_over=passed_over,
                roles={name: sheets()[key].name for key, name in found.items()})
    hh = parsed["household"]
    if hh.header_row is not None and not hh.rows and not issues and not (cut and cut.skipped):
        issues.add(hh.name, None, "", "", "“户信息”表中没有数据行：没有可导入的户")
    no_index = hh.sheet.index("household_no")
    seen_rows: dict[str, int] = {}
    for item in hh.rows:  # (each sheet's (row, values) pairs are kept as they are: a million of them at 100,000)
        row_no, vals = item
        no = vals[no_index]
        if no is None:
            continue
        if no in seen_rows:
            issues.add(hh.name, row_no, hh.header("household_no"), no, f"户编号与第 {seen_rows[no]} 行重复")
            continue
        seen_rows[no] = row_no
        data.households[no] = item
    for key, target in (("member", data.members), ("measure", data.measures), ("income_line", data.lines)):
        ps = parsed.get(key)
        if ps is None:
            continue
        idx = ps.sheet.index("household_no")
        for item in ps.rows:
            row_no, vals = item
            no = vals[idx]
            if no is None:
                continue
            if no not in data.households:
                issues.add(ps.name, row_no, ps.header("household_no"), no, "户编号在“户信息”表中不存在")
                continue
            vals[idx] = None  # grouped under the household's own key: one string per household, not per row
            target[no].append(item)
    derive(data, issues)
    _fingerprints(book, data, year, cut, scanned)
    return data


def _shortcut(book: Book, prior: fingerprint.Prior, year: int) -> fingerprint.Shortcut | None:
    """The file's rows fingerprinted as the last import's were; the unchanged households' rows left out of what the
    sheets give (Book.subset). None when nothing can be left out."""
    run = prior.run
    sheets = {name: (int(v[0]), str(v[1])) for name, v in (run.get("sheets") or {}).items()}
    if not sheets or any(name not in book.sheet_names for name in sheets):
        return None
    sc = fingerprint.scan(book, sheets, year, run.get("first_on"), fingerprint.holder(prior), run.get("digest"))
    if sc is None:
        return None
    skip = fingerprint.skippable(prior, sc)
    if not skip:
        sc.held = {}  # (the rows kept for a shortened read: the whole file is read)
        return fingerprint.Shortcut(sc, {})
    book.subset = fingerprint.reduced(book, sc, set(skip))
    return fingerprint.Shortcut(sc, {st.household_no: st for st in skip.values()})


def _fingerprints(book: Book, data: Data, year: int | None, cut: fingerprint.Shortcut | None,
                  scanned: fingerprint.Scan | None) -> None:
    """Data.scan (and, when households were left out, Data.unchanged and Data.order)."""
    if year is None:
        return
    sheets = fingerprint.key_sheets(data)
    first_on = data.sheets["household"].name if data.layout == PROGRAM else None
    if cut is not None and cut.scan.sheets == sheets and cut.scan.first_on == first_on:
        data.scan = cut.scan
    elif scanned is not None and scanned.sheets == sheets and scanned.first_on == first_on:
        data.scan = scanned
    else:
        data.scan = fingerprint.scan(book, sheets, year, first_on)
    if cut is None or not cut.skipped:
        return
    data.unchanged = cut.skipped
    keys = {st.rawkey: no for no, st in cut.skipped.items()}
    sc = cut.scan
    for no, rows in fingerprint.rows_of(data):
        for sheet_name, row in rows:
            key = sc.rows.get(sheet_name, {}).get(row)
            if key is not None:
                keys.setdefault(key, no)
    data.order = fingerprint.order(sc, keys)


def _shortcut_holds(data: Data, issues: Issues) -> bool:
    """The households read without the skipped ones answer as the whole file would: nothing is wrong, the headers
    are where the last import found them, and no household number or ID number of the file is also a skipped
    household's (the checks between households would need those rows)."""
    if issues or data.scan is None or fingerprint.key_sheets(data) != data.scan.sheets:
        return False
    skipped = data.unchanged
    if any(no in skipped for no in data.households):
        return False
    if set(data.order or ()) != set(data.households) | set(skipped):
        return False
    numbers = set()
    for st in skipped.values():
        for number in (st.ids or "").split(","):
            if number:
                numbers.add(number.rstrip("*"))
    i_id = sheet("member").index("id_number")
    return not any(vals[i_id] in numbers for rows in data.members.values() for _r, vals in rows)


def derive(data: Data, issues: Issues) -> None:
    """Facts that follow from others in the file, the same for both layouts: 监测状态 from 监测对象类别
    and 风险是否已消除; A17 from the two national 医保 flags; a person's 公益性岗位 as an A42 measure."""
    H, M = sheet("household"), sheet("member")
    i_status, i_removed = H.index("monitoring_status"), H.index("risk_removed")
    for _no, (_row, v) in data.households.items():
        if v[i_status] is None and v[i_removed] is not None:
            v[i_status] = "removed" if v[i_removed] else "monitoring"
    i17, i_res, i_emp = M.index("a17_medical"), M.index("a17_resident_medical"), M.index("a17_employee_medical")
    mem = data.sheets["member"]
    for rows in data.members.values():
        for row, v in rows:
            res, emp = v[i_res], v[i_emp]
            either = True if (res or emp) else (False if (res is False and emp is False) else None)
            if v[i17] is None:
                v[i17] = either
            elif either is not None and v[i17] != either:
                issues.add(mem.name, row, mem.header("a17_medical"), "是" if v[i17] else "否",
                           "与城乡居民 / 城镇职工基本医疗保险两列不一致")
    if data.sheets["household"].has("a26_stated"):
        _a17_from_a26(data)
    _posts_to_measures(data)


def _a17_from_a26(data: Data) -> None:
    """The national list's household column 是否有家庭成员未参加城乡居民（职工）基本医疗保险 settles what the two
    医保 flags leave open (城乡居民 否 with 职工 blank is common): 否 → every member whose A17 is unknown is insured;
    是 with no member known to lack insurance and exactly one unknown → that one lacks it. Anything else is
    left unknown, and a note names the households (the first few of them: a county file may have many)."""
    H, M = sheet("household"), sheet("member")
    i_a26, i17, i_status = H.index("a26_stated"), M.index("a17_medical"), M.index("status")
    unsettled, contradicted = [], []
    for no, (_row, hv) in data.households.items():
        stated = hv[i_a26]
        if stated is None:
            continue
        living = [v for _r, v in data.members.get(no, ()) if v[i_status] in (None, "normal")]
        unknown = [v for v in living if v[i17] is None]
        lacking = any(v[i17] is False for v in living)
        if stated is False and not lacking:
            for v in unknown:
                v[i17] = True
        elif stated is True and not lacking and len(unknown) == 1:
            unknown[0][i17] = False
        elif stated is True and not lacking:
            unsettled.append(f"户 {no}" + (f"（{len(unknown)} 人未知）" if unknown else "（成员都已参加）"))
            data.noted.add(no)
        elif stated is False and lacking:
            contradicted.append(f"户 {no}")
            data.noted.add(no)
    if unsettled:
        data.derived.append(f"{len(unsettled)} 户名单写明有家庭成员未参加基本医疗保险，但从成员的两项医保标志判断不出"
                            f"是谁，这些成员的 A17 记为未知，请在家庭成员中核实：{_some_households(unsettled)}")
    if contradicted:
        data.derived.append(f"{len(contradicted)} 户名单写明没有家庭成员未参加基本医疗保险，但有成员两项医保都为“否”，"
                            f"以成员为准，请核实：{_some_households(contradicted)}")


def _some_households(names: list[str], shown: int = 10) -> str:
    return "、".join(names[:shown]) + (f" 等 {len(names)} 户" if len(names) > shown else "")


def _posts_to_measures(data: Data) -> None:
    """公益性岗位 of a person → an A42 measure held by that person; the household's own A42 items that
    a member holds are not repeated."""
    M, MS = sheet("member"), sheet("measure")
    i_post, i_id = M.index("public_post"), M.index("id_number")
    if not data.sheets["member"].has("public_post"):
        return
    ms = data.sheets.get("measure")
    if ms is None:
        ms = data.sheets["measure"] = ParsedSheet(MS, data.sheets["member"].name)
    ms.present |= {"household_no", "category", "item", "holder_id_number"}
    ms.headers.setdefault("holder_id_number", data.sheets["member"].header("id_number"))
    ms.headers.setdefault("item", data.sheets["member"].header("public_post"))
    i_cat, i_item, i_holder = MS.index("category"), MS.index("item"), MS.index("holder_id_number")
    for no, rows in data.members.items():
        held: dict[str | None, list] = defaultdict(list)
        for row, v in rows:
            for item in v[i_post] or ():
                vals = [None] * len(MS.columns)
                vals[i_cat], vals[i_item], vals[i_holder] = "A42", item, v[i_id]
                held[item].append((row, vals))
        if not held:
            continue
        out = []
        for r, mv in data.measures.get(no, ()):
            if mv[i_cat] == "A42" and mv[i_holder] is None and held.get(mv[i_item]):
                out.extend(held.pop(mv[i_item]))  # the household's item, held by these members: in its place
            else:
                out.append((r, mv))
        for rest in held.values():
            out.extend(rest)
        data.measures[no] = out


def _notes(data: Data | None) -> list[str]:
    if data is None:
        return []
    out = []
    for ps in data.read:
        if ps.ignored:
            out.append(f"“{ps.name}”中以下列本程序不认识，不导入：{'、'.join(ps.ignored)}")
        computed = [h for h, why in ps.left_out if why.startswith("由程序计算")]
        if computed:
            out.append(f"“{ps.name}”中的计算列不导入，由程序重新计算：{'、'.join(computed)}")
        other = [f"{h}（{why}）" for h, why in ps.left_out if not why.startswith("由程序计算")]
        if other:
            out.append(f"“{ps.name}”中以下列本程序没有对应的项目，不导入：{'、'.join(other)}")
        if ps.converted:
            out.append(f"“{ps.name}”中以下列按全国系统的含义换算后保存：{'、'.join(ps.converted)}"
                       "（如“是否解决安全饮用水”为“否”即“饮水出现安全问题”为“是”）")
        for row, what in ps.skipped:
            out.append(f"“{ps.name}”第 {row} 行是{what}，已跳过")
    out.extend(data.derived)
    if data.households or data.unchanged:
        out.append("已有的户按户编号更新：单元格留空的项目保留数据库中的原值；成员按证件号码匹配，"
                   "文件中没有的成员保持不变")
    return out


# ---------------------------------------------------------------- checks of the file itself

def _check_file(data: Data, issues: Issues, township: str) -> None:
    hh = data.sheets["household"]
    H = hh.sheet
    i_town = H.index("township")
    want = norm_value(township)
    for _no, (row_no, vals) in data.households.items():
        town = vals[i_town]
        if town and norm_value(town) != want:
            issues.add(hh.name, row_no, hh.header("township"), town,
                       f"乡镇“{town}”与本数据库的乡镇“{township}”不同：只能导入本乡镇的户")
    mem = data.sheets["member"]
    M = mem.sheet
    i_id = M.index("id_number")
    for _no, rows in data.members.items():
        seen: dict[str, int] = {}
        for row_no, vals in rows:
            number = vals[i_id]
            if number is None:
                continue
            if number in seen:
                issues.add(mem.name, row_no, mem.header("id_number"), number,
                           f"与第 {seen[number]} 行是同一证件号码：同一户内不能重复")
            else:
                seen[number] = row_no
    i_status = M.index("status")
    living: dict[str, tuple[str, int]] = {}
    for no, rows in data.members.items():
        for row_no, vals in rows:
            number = vals[i_id]
            if number is None or vals[i_status] not in (None, "normal"):
                continue
            other = living.get(number)
            if other is not None and other[0] != no:
                issues.add(mem.name, row_no, mem.header("id_number"), number,
                           f"同一人出现在两户：第 {other[1]} 行在户编号 {other[0]} 中也是在册成员")
            else:
                living[number] = (no, row_no)
    ms = data.sheets.get("measure")
    if ms is not None:
        i_cat, i_item = ms.sheet.index("category"), ms.sheet.index("item")
        catalog = measure_items()
        for rows in data.measures.values():
            for row_no, vals in rows:
                cat, item = vals[i_cat], vals[i_item]
                items = catalog.get(cat) if cat else None
                if items and item is not None:
                    canonical = items.get(norm_value(item))
                    if canonical is None:
                        issues.add(ms.name, row_no, ms.header("item"), item,
                                   f"不是该类措施的项目，应为：{'、'.join(items.values())}")
                    else:
                        vals[i_item] = canonical
    lines = data.sheets.get("income_line")
    if lines is not None:
        i_item, i_amount = lines.sheet.index("item"), lines.sheet.index("amount")
        for no, rows in data.lines.items():
            sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
            for _row, vals in rows:
                if vals[i_item] is not None and vals[i_amount] is not None:
                    sums[vals[i_item]] += vals[i_amount]
            row_no, hvals = data.households[no]
            for item, total in sums.items():
                given = hvals[H.index(item)]
                if given is not None and given != total:
                    issues.add(hh.name, row_no, hh.header(item), f"{given:.2f}",
                               f"与“{lines.name}”中该户{H.column(item).header}明细合计 {total:,.2f} 元不符")


# ---------------------------------------------------------------- against the database

def _resolve(session: Session, data: Data, issues: Issues, user: CurrentUser | None) -> Plan | None:
    tw = regions.township(session)
    if tw is None:
        issues.add("", None, "", "", "本数据库尚未配置乡镇：请先完成初始化")
        return None
    hh = data.sheets["household"]
    H = hh.sheet
    i_village, i_group = H.index("village"), H.index("group")
    villages = {norm_value(name): vid for vid, name in session.execute(
        select(Region.id, Region.name).where(Region.parent_id == tw.id, Region.level == "village"))}
    groups = {}
    if villages:
        for gid, parent, name in session.execute(select(Region.id, Region.parent_id, Region.name)
                                                 .where(Region.level == "group")):
            groups[(parent, norm_value(name))] = gid
    existing: dict[str, int] = {}
    wanted = data.households
    if len(wanted) > 5000:
        for hid, no in session.execute(select(Household.id, Household.household_no)):
            if no in wanted:
                existing[no] = hid
    else:
        nos = list(wanted)
        for start in range(0, len(nos), 900):
            for hid, no in session.execute(select(Household.id, Household.household_no)
                                           .where(Household.household_no.in_(nos[start:start + 900]))):
                existing[no] = hid
    new = [no for no in wanted if no not in existing]
    if user is not None and user.village_ids is not None and existing:
        ids = list(existing.values())
        for start in range(0, len(ids), 900):
            for no, vid in session.execute(select(Household.household_no, Household.village_id)
                                           .where(Household.id.in_(ids[start:start + 900]))):
                if not user.may_edit_village(vid):
                    issues.add(hh.name, wanted[no][0], hh.header("household_no"), no,
                               "该户属于您没有录入权限的行政村，不能由您更新")
    to_create: dict[str, str] = {}
    groups_new: dict[tuple[str, str], tuple[str, str]] = {}
    village_names = {}
    for _no, (row_no, vals) in wanted.items():
        vname = vals[i_village]
        if vname is None:
            continue
        key = norm_value(vname)
        vid = villages.get(key)
        if vid is None:
            to_create.setdefault(key, vname)
            if user is not None and user.village_ids is not None:
                issues.add(hh.name, row_no, hh.header("village"), vname,
                           "本村不在数据库中；村级录入员不能新建行政村，请联系乡镇管理员")
        elif user is not None and not user.may_edit_village(vid):
            issues.add(hh.name, row_no, hh.header("village"), vname, f"您没有“{vname}”的录入权限")
        village_names[key] = vname
        gname = vals[i_group]
        if gname is not None:
            gkey = norm_value(gname)
            if vid is None or (vid, gkey) not in groups:
                groups_new.setdefault((key, gkey), (vname, gname))
                if vid is not None and user is not None and user.village_ids is not None and user.may_edit_village(vid):
                    issues.add(hh.name, row_no, hh.header("group"), gname,
                               "本组不在数据库中；村级录入员不能新建村民小组，请联系乡镇管理员")
    i_cat, i_status = H.index("a3_category"), H.index("monitoring_status")
    for no in new:
        row_no, vals = wanted[no]
        if not data.members.get(no):
            issues.add(hh.name, row_no, hh.header("household_no"), no,
                       "新户在“家庭成员”表中没有成员：至少要有户主一人")
        if vals[i_cat] is not None and vals[i_status] is None:
            issues.add(hh.name, row_no, hh.header("a3_category"), vals[i_cat],
                       "有监测对象类别，但文件没有写“风险是否已消除”或“监测状态”：无法确定是监测中还是已消除风险，"
                       "程序不猜测，请补上该列")
    plan = Plan(tw.id, villages, groups, existing, new, list(to_create.values()), list(groups_new.values()))
    names = {norm_value(n): n for n in session.scalars(select(Region.name).where(Region.parent_id == tw.id,
                                                                              Region.level == "village"))}
    for vname in plan.villages_to_create:
        near = close_village(vname, names)
        if near is not None:
            plan.close_villages.append((vname, near))
    plan.members_updated += data.skipped("members")  # left out as unchanged (fingerprint.py): updated, nothing to do
    mem = data.sheets["member"]
    i_id = mem.sheet.index("id_number")
    known = _existing_numbers(session, list(existing.values()))
    for no, rows in data.members.items():
        hid = existing.get(no)
        numbers = known.get(hid, ()) if hid is not None else ()
        for _row, vals in rows:
            if vals[i_id] in numbers:
                plan.members_updated += 1
            else:
                plan.members_new += 1
    return plan


def _existing_numbers(session: Session, household_ids: list[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    if not household_ids:
        return out
    q = select(Member.household_id, Member.id_number)
    if len(household_ids) > 5000:
        wanted = set(household_ids)
        for hid, number in session.execute(q):
            if hid in wanted:
                out[hid].add(normalize_id(number))
    else:
        for start in range(0, len(household_ids), 900):
            for hid, number in session.execute(q.where(Member.household_id.in_(household_ids[start:start + 900]))):
                out[hid].add(normalize_id(number))
    return out


def _count(result: Preview, data: Data, plan: Plan | None) -> None:
    if plan is None:
        return
    result.households_new = len(plan.new)
    result.households_updated = len(plan.existing) + len(data.unchanged)
    result.members_new = plan.members_new
    result.members_updated = plan.members_updated
    result.measures = sum(len(v) for v in data.measures.values()) + data.skipped("measures")
    result.income_households = sum(1 for no in data.households if _has_income(data, no)) + data.skipped("income")
    result.income_lines = sum(len(v) for v in data.lines.values()) + data.skipped("lines")
    result.villages_to_create = list(plan.villages_to_create)
    result.groups_to_create = [f"{v} {g}" for v, g in plan.groups_to_create]


def _has_income(data: Data, no: str) -> bool:
    if data.lines.get(no):
        return True
    H = sheet("household")
    vals = data.households[no][1]
    return any(vals[H.index(item)] is not None for item in INCOME_ITEMS)


# ================================================================ apply

def apply(session: Session, pv: Preview, *, user: CurrentUser | None = None, as_of: date | None = None,
          progress: Progress | None = None, cancelled: Callable[[], bool] | None = None, check: bool = True,
          take_backup: bool = True) -> ImportResult:
    """Write a previewed file in the session's transaction (the caller commits, or rolls back on
    an exception — ImportCancelled included). A backup of the database file is taken first."""
    access.actor(session)
    with gcpause.paused():  # rows by the hundred thousand, none in a cycle (services.gcpause)
        return _apply(session, pv, as_of, progress, cancelled, check, take_backup)


def _apply(session: Session, pv: Preview, as_of: date | None, progress: Progress | None,
           cancelled: Callable[[], bool] | None, check: bool, take_backup: bool) -> ImportResult:
    user = access.actor(session)  # the session's user decides, whatever a caller passes
    started = time.perf_counter()
    if not pv.ok:
        raise ExchangeError(f"文件有 {pv.error_count} 处错误，不能导入：请改正后重新选择文件")
    if pv.data is None:
        raise ExchangeError("这次预览的内容已经导入过：如需再次导入，请重新选择文件")
    as_of = as_of or date.today()
    data = pv.data
    taken = None
    if take_backup:
        path = _sqlite_path(session)
        if path is not None and path.exists():
            report(progress, 0, 0, "正在备份数据库")
            taken = backup.backup_sqlite(path, "import")
    # The data version before the lock: taking it is this transaction's own first write on SQLite, which bumps the
    # version once (services.dataversion) — that bump alone does not make the preview's plan stale.
    before = None if dataversion.uncommitted(session) else dataversion.current(session)
    exclusive(session, IMPORT_LOCK, "导入")  # one import at a time, also from other seats: the plan below stays true
    issues = Issues()
    plan = pv.plan
    if plan is None or before is None or pv.resolved_at != (before, user.username, user.village_ids) \
            or not _own_bump_only(before, dataversion.current(session)):
        if data.unchanged and not _still_unchanged(session, data, pv.year, user):
            raise ExchangeError("数据库在预览之后已有变化，请重新预览")
        plan = _resolve(session, data, issues, user)  # the database changed since the preview: resolve again
    pv.plan = pv.resolved_at = None
    if issues or plan is None:
        raise ExchangeError("数据库在预览之后已有变化，请重新预览：" + "；".join(i.text() for i in issues.items[:5]))
    writer = Writer(session, data, plan, pv.year, as_of, progress, cancelled, source_file=pv.path.name)
    entries = audit.Count(session, None)  # this import's own: where they begin and how many (fingerprint.store)
    changes = audit.Count(session, "update")
    packed: list[bytes] = []

    def beside():  # (while SQLite builds a first import's indexes on another thread: writer._build_beside)
        if data.scan is not None and not plan.existing:  # every household read is a new one: its id is the writer's
            packed.append(fingerprint.packed_states(data, data.scan, data.unchanged, writer.new_ids))

    with page_cache(session):
        writer.regions()
        writer.insert_new(beside)
        writer.update_existing()
    changed = changes.since()
    updated = len(plan.existing) + len(data.unchanged)
    writer.members_updated += data.skipped("members")
    summary = (f"Excel 导入“{pv.path.name}”（{pv.year} 年收入）：新增 {writer.households_new} 户 "
               f"{writer.members_new} 人，更新 {updated} 户")
    audit.record(session, "import", "household", new=summary)
    session.flush()
    fingerprint.store(session, data, data.scan, data.unchanged, pv.year, entries.last, entries.since(), summary,
                      packed[0] if packed else None)
    _refresh_statistics(session, writer.households_new)
    result = ImportResult(
        path=pv.path, year=pv.year, households_new=writer.households_new, households_updated=updated,
        members_new=writer.members_new, members_updated=writer.members_updated,
        measures_new=writer.measures_new, measures_updated=writer.measures_updated,
        income_records=writer.income_records, villages_created=plan.villages_to_create,
        groups_created=[f"{v} {g}" for v, g in plan.groups_to_create], changed_fields=changed, backup=taken,
        household_numbers=list(data.order) if data.order is not None else list(data.households))
    total = writer.total
    pv.data = writer = data = None  # a preview is applied once; its rows are not needed for the checks
    if check:
        check_cancel(cancelled)
        report(progress, total, total, "正在检查数据质量")
        result.findings, result.findings_note = findings_for(session, pv.year, as_of, result.household_numbers)
    check_cancel(cancelled)
    report(progress, total, total, "正在保存")
    result.elapsed = time.perf_counter() - started
    return result


def _still_unchanged(session: Session, data: Data, year: int, user: CurrentUser) -> bool:
    """The households the preview left out as unchanged are still so (nothing wrote to them since)."""
    prior = fingerprint.load(session, year, user)
    if prior is None:
        return False
    hold = fingerprint.holder(prior)
    return not any(hold(st.rawkey) for st in data.unchanged.values())


def _own_bump_only(before: tuple[int, int], now: tuple[int, int] | None) -> bool:
    """Nothing was committed by anyone else between reading `before` and holding the import lock: the version is
    unchanged (PostgreSQL bumps it at the commit) or one higher (SQLite: the lock is this transaction's own write,
    and every writing transaction adds exactly one)."""
    return now is not None and (now == before or now[0] == before[0] + 1)


def _refresh_statistics(session: Session, households_new: int) -> None:
    """On PostgreSQL, after a bulk import into (nearly) empty tables: ANALYZE the tables written, in the import's
    own transaction. The planner otherwise still believes them empty and joins 60,000 new members by nested
    loops: the checks after importing 20,000 households ran over ten minutes instead of seconds. SQLite plans
    from its indexes alone and needs nothing."""
    if households_new < 1000 or session.get_bind().dialect.name != "postgresql":
        return
    from ...models import Household, IncomeLine, IncomeRecord, Measure, Member
    names = ", ".join(m.__tablename__ for m in (Household, Member, Measure, IncomeRecord, IncomeLine))
    session.execute(text(f"ANALYZE {names}"))


def findings_for(session: Session, year: int, as_of: date, numbers: list[str]) -> tuple[list, str | None]:
    """Data-quality findings (SPEC §10) of the given households: reported, not errors."""
    access.logged_in(session)
    from ...models import Household
    from ..assess import AssessError
    from ..checks import run_checks
    ids = []
    for start in range(0, len(numbers), 900):
        ids += session.scalars(select(Household.id).where(Household.household_no.in_(numbers[start:start + 900])))
    try:
        return run_checks(session, year, as_of, household_ids=ids), None
    except AssessError as exc:
        return [], f"未做数据质量检查：{exc}"


def _sqlite_path(session: Session) -> Path | None:
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return None
    db = bind.url.database
    return Path(db) if db and db != ":memory:" else None
