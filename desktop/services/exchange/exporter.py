"""Export of the exchange workbook (SPEC §9, canonical layout), the blank template for the
villages (下发模板), and the error workbook of a rejected import.

Computed columns come from services.income.compute and services.rules.derived_a26 over the
members of status 正常 at the year's status time point (assess.member_facts), so the numbers are
the ones the calculator and `assess` show.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ...models import Household, IncomeLine, IncomeRecord, Measure, Member
from .. import access, assess, income, regions, rules, settings
from ..codes import codes, income_items, measure_catalog
from ..files import written_whole
from ..policy import FACT_COLUMNS
from .importer import ExchangeError
from .layout import INCOME_ITEMS, Column, Sheet, raw, setting, sheets
from .reader import Issue
from .values import SHARED_TEXT
from .xlsx import DATE, INT, MONEY, TEXT, Book, Col

POLICY_COLUMNS = tuple(FACT_COLUMNS.values())  # 脱贫不享受政策 facts, in the sheet's order

Progress = Callable[[int, int, str], None]
EVERY = 5000
YES, NO = "是", "否"


class ExportCancelled(ExchangeError):
    pass


@dataclass(frozen=True)
class ExportResult:
    path: Path
    year: int
    households: int
    members: int
    measures: int
    income_lines: int
    size: int
    elapsed: float
    layout: str = "program"
    closed: int = 0  # households closed (户注销) in the exported villages, left out

    def summary(self) -> str:
        left_out = f"；已注销的 {self.closed:,} 户不导出" if self.closed else ""
        if self.layout == "national":
            return (f"已按全国系统格式导出 {self.households:,} 户、{self.members:,} 人（在册成员一人一行），"
                    f"{self.year} 年收入{left_out}")
        return (f"已导出 {self.households:,} 户、{self.members:,} 人、帮扶措施 {self.measures:,} 条、"
                f"{self.year} 年收入明细 {self.income_lines:,} 条{left_out}")


def _exported(session: Session, village_ids: frozenset[int] | None) -> tuple[list, int]:
    """Which households an export writes: those of the asked villages that are not closed (户注销: the household
    is gone from the register's work, so it is not handed on either); and how many closed ones are left out."""
    h = Household.__table__.c
    where = [h.village_id.in_(village_ids)] if village_ids is not None else []
    closed = session.scalar(select(func.count()).select_from(Household).where(*where, h.closed_on.is_not(None))) or 0
    return [*where, h.closed_on.is_(None)], closed


# ---------------------------------------------------------------- columns as written

_KIND_CELL = {"key": TEXT, "text": TEXT, "township": TEXT, "village": TEXT, "group": TEXT, "region": TEXT,
              "bool": TEXT, "code": TEXT, "codes": TEXT, "id": TEXT, "measure_category": TEXT,
              "income_item": TEXT, "date": DATE, "money": MONEY, "int": INT}


def _note(col: Column, year: int | None) -> str | None:
    notes = raw()["notes"]
    parts = []
    if col.required:
        parts.append(notes["required"])
    if col.computed:
        parts.append(notes["computed"])
    elif col.key in notes:
        parts.append(notes[col.key])
    elif col.list in notes:
        parts.append(notes[col.list])
    if col.key in INCOME_ITEMS and year is not None:
        parts.append(notes["income"].format(year=year))
    if not col.computed and col.kind in notes and col.key not in notes:
        parts.append(notes[col.kind])
    return "；".join(parts) or None


def _columns(sh: Sheet, year: int | None) -> list[Col]:
    out = []
    for col in written(sh):
        kind = _KIND_CELL.get(col.kind) or (MONEY if col.fmt == "money" else TEXT)
        style = "required" if col.required else "computed" if col.computed else "normal"
        dropdown = None
        if col.kind in ("code", "codes"):
            dropdown = col.list
        elif col.kind == "bool":
            dropdown = "bool"
        elif col.kind in ("measure_category", "income_item", "village"):
            dropdown = col.kind
        elif sh.key == "measure" and col.key == "item":
            dropdown = "measure_item"
        strict = col.kind not in ("codes",) and dropdown not in ("measure_item", "village")
        shared = (dropdown is not None or col.kind in ("group", "township", "region") or col.key in SHARED_TEXT
                  or col.fmt == "bool")
        out.append(Col(col.header, kind, col.width, style, dropdown, strict, _note(col, year), shared))
    return out


def written(sh: Sheet) -> list[Column]:
    """The columns export writes, in order: every column but those read on import only."""
    return [c for c in sh.columns if not c.virtual]


def _lists(session: Session) -> dict[str, tuple[str, list[str]]]:
    """Dropdown lists: key → (title on the hidden sheet, values)."""
    out: dict[str, tuple[str, list[str]]] = {"bool": ("是否", [YES, NO])}
    for sh in sheets().values():
        for col in written(sh):
            if col.kind in ("code", "codes") and col.list not in out:
                out[col.list] = (col.header, codes(col.list).names())
    out["measure_category"] = ("措施类别", [c["name"] for c in measure_catalog()])
    items: list[str] = []
    for c in measure_catalog():
        items += [i["name"] for i in c["items"] if i["name"] not in items]
    out["measure_item"] = ("措施项目", items)
    out["income_item"] = ("收入项", [it["name"] for it in income_items()])
    out["village"] = ("行政村", [v.name for v in regions.tree(session)])
    return out


def _book(session: Session, path: Path) -> Book:
    book = Book(path)
    book.plan_lists(setting("sheet_lists"), _lists(session))
    return book


# ---------------------------------------------------------------- export

def export_workbook(session: Session, path: Path | str, year: int, *, village_ids: frozenset[int] | None = None,
                    progress: Progress | None = None, cancelled: Callable[[], bool] | None = None) -> ExportResult:
    """The register in the canonical layout of SPEC §9, income of `year`, computed columns filled."""
    village_ids = access.narrow(session, village_ids)
    started = time.perf_counter()
    path, counts = _write_book(session, path, lambda tmp: _book(session, tmp),
                              lambda book, tw: _write_data(session, book, year, tw, village_ids, progress, cancelled),
                              progress)
    return ExportResult(path, year, counts["household"], counts["member"], counts["measure"], counts["income_line"],
                        path.stat().st_size, time.perf_counter() - started, closed=counts["closed"])


def _write_book(session: Session, path: Path | str, make_book: Callable[[Path], Book],
               write: Callable[[Book, object], dict], progress: Progress | None) -> tuple[Path, dict]:
    """What every export shares: an .xlsx in an existing folder, a configured township, the workbook written
    beside the target and renamed only when whole (a failure or cancel leaves nothing), and an open file said
    in Chinese. `write(book, township)` fills the book and returns its counts (with "done" and "total")."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ExchangeError(f"导出文件应为 .xlsx：{path.name}")
    if not path.parent.is_dir():
        raise ExchangeError(f"文件夹不存在：{path.parent}")
    tw = regions.township(session)
    if tw is None:
        raise ExchangeError("本数据库尚未配置乡镇：请先完成初始化")
    try:
        with written_whole(path, ".tmp.xlsx") as tmp:
            book = make_book(tmp)
            try:
                counts = write(book, tw)
            except BaseException:
                try:
                    book.close()  # release the half-written file so it can be removed
                except Exception:  # noqa: BLE001 - already closed or broken: the file goes anyway
                    pass
                raise
            _report(progress, counts["done"], counts["total"], "正在压缩保存文件")
            book.close()
    except OSError as exc:
        raise ExchangeError(f"无法写入“{path}”：文件可能正在 Excel 中打开，请关闭后重试（{exc.strerror}）") from None
    return path, counts


def _report(progress: Progress | None, done: int, total: int, stage: str) -> None:
    if progress is not None:
        progress(done, total, stage)


def _yes(v: bool | None) -> str | None:
    return None if v is None else (YES if v else NO)


def _names(key: str):
    """code → shown name of a code list, as a dict lookup (None for a blank or unknown code)."""
    return {c.code: c.name for c in codes(key)}.get


def _write_data(session: Session, book: Book, year: int, tw, village_ids, progress, cancelled) -> dict:
    H, M, MS, L = (sheets()[k] for k in ("household", "member", "measure", "income_line"))
    where, closed = _exported(session, village_ids)
    n_hh = session.scalar(select(func.count()).select_from(Household).where(*where)) or 0
    n_m = session.scalar(select(func.count()).select_from(Member).join(Household, Household.id == Member.household_id)
                         .where(*where)) or 0
    n_ms = session.scalar(select(func.count()).select_from(Measure)
                          .join(Household, Household.id == Measure.household_id).where(*where)) or 0
    standing = income.latest_record_ids(session, year)
    counts = {"household": 0, "member": 0, "measure": 0, "income_line": 0, "done": 0, "closed": closed}
    counts["total"] = n_hh + n_m + n_ms + len(standing) * 5
    state = {"next": EVERY}

    def tick(stage: str) -> None:
        counts["done"] += 1
        if counts["done"] >= state["next"]:
            state["next"] += EVERY
            _report(progress, counts["done"], counts["total"], stage)
            if cancelled is not None and cancelled():
                raise ExportCancelled("已取消导出")

    _report(progress, 0, counts["total"], "正在计算收入")
    ys = settings.get_year(session, year)
    point = ys.status_time_point if ys is not None else settings.default_period(year)[2]
    facts = assess.member_facts(session, point)
    totals = income.totals_for_year(session, year)
    signed = {hid: ok for hid, rid, ok in session.execute(
        select(IncomeRecord.household_id, IncomeRecord.id, IncomeRecord.signatures_collected)
        .where(IncomeRecord.year == year, income.ANNUAL)) if standing.get(hid) == rid}
    names = regions.names(session)
    category, status, tier = _names("category"), _names("monitoring_status"), _names("dibao_tier")
    risk, disaster, removal = _names("risk_type"), _names("disaster_type"), _names("removal_way")
    sep = setting("list_separator")

    # ---- 户信息
    ws = book.sheet(H.name, _columns(H, year), H.freeze_cols)
    ws.dropdowns()
    h = Household.__table__.c
    h_keys = [c.key for c in written(H)]
    after = [k for k in h_keys if k.startswith("after_")]
    q = select(h.id, h.household_no, h.village_id, h.group_id, h.phone, h.a1_relocation_site, h.a2_site_address,
               h.a3_category, h.a4_poverty_alleviated, h.monitoring_status, h.identified_on,
               h.whole_no_labor_guarantee, h.dibao_tier, h.a23_housing_unsafe, h.a24_school_dropout,
               h.a25_water_unsafe, h.a27_risk_types, h.a27_other_note, h.a27a_disaster_types, h.a53_removal_way,
               h.a54_removed_on, h.a55_contact_person, h.contact_phone, *(h[k] for k in after), h.petition,
               *(h[c] for c in POLICY_COLUMNS), h.policy_excluded_on).where(*where).order_by(h.household_no)
    bools = {"a1_relocation_site", "a4_poverty_alleviated", "whole_no_labor_guarantee", "a23_housing_unsafe",
             "a24_school_dropout", "a25_water_unsafe", "after_dropout", "after_housing_damaged",
             "after_medical_missing", "after_water_damaged", "petition", *POLICY_COLUMNS}
    plain = ["phone", "a2_site_address", "identified_on", "a54_removed_on", "a55_contact_person", "contact_phone",
             "a27_other_note", "policy_excluded_on", *(k for k in after if k not in bools)]
    for r in session.execute(q):
        members = facts.get(r.id, [])
        t = totals.get(r.id)
        result = income.compute(t, len(members)) if (t is not None and members) else None
        row = {k: getattr(r, k) for k in plain}
        row.update({k: _yes(getattr(r, k)) for k in bools})
        row.update(household_no=r.household_no, province=tw.province, city=tw.city, county=tw.county,
                   township=tw.name, village=names.get(r.village_id), group=names.get(r.group_id),
                   a3_category=category(r.a3_category), monitoring_status=status(r.monitoring_status),
                   dibao_tier=tier(r.dibao_tier), a26=_yes(rules.a26_stated(members)),
                   a27_risk_types=sep.join(risk(c) or c for c in r.a27_risk_types) if r.a27_risk_types else None,
                   a27a_disaster_types=(sep.join(disaster(c) or c for c in r.a27a_disaster_types)
                                        if r.a27a_disaster_types else None),
                   a53_removal_way=removal(r.a53_removal_way), signatures_collected=_yes(signed.get(r.id)))
        if t is not None:
            row.update(A28=t.A28, A29=t.A29, A30=t.A30, A31=t.A31, A32=t.A32, A35=t.A35, A36=t.A36)
        if result is not None:
            row.update(A33=result.A33, A34=result.A34, A37=result.A37, A38=result.A38)
        ws.row([row.get(k) for k in h_keys])
        counts["household"] += 1
        tick("正在导出户信息")
    del facts, totals

    # ---- 家庭成员
    ws = book.sheet(M.name, _columns(M, year), M.freeze_cols)
    ws.dropdowns()
    m = Member.__table__.c
    sex, relation, ethnicity = _names("sex"), _names("relation"), _names("ethnicity")
    political, education, school = _names("political"), _names("education"), _names("school")
    health, grade, labor, region = _names("health"), _names("disability_grade"), _names("labor"), _names("work_region")
    dibao, tekun, mstatus = _names("dibao"), _names("tekun"), _names("member_status")
    m_keys = [c.key for c in written(M)]
    m_bools = ("a17_medical", "a18_serious_illness", "a19_pension", "a22_relocated", "a17_resident_medical",
               "a17_employee_medical", "a19_employee_pension", "unemployed", "incapacitated", "studying_away")
    m_plain = ("name", "id_number", "work_months", "status_date", "school_absence_reason", "work_place",
               "a20_dibao_since", "a21_tekun_since", "public_post_months", "phone", "health_since")
    q = (select(h.household_no, m.name, m.sex, m.id_number, m.relation, m.ethnicity, m.political, m.education,
                m.school, m.health, m.disability_grade, m.labor, m.work_region, m.work_months, m.a17_medical,
                m.a18_serious_illness, m.a19_pension, m.a20_dibao, m.a21_tekun, m.a22_relocated, m.status,
                m.status_date, m.school_absence_reason, m.work_place, m.a17_resident_medical, m.a17_employee_medical,
                m.a19_employee_pension, m.a20_dibao_since, m.a21_tekun_since, m.public_post_months, m.phone,
                m.health_since, m.unemployed, m.incapacitated, m.studying_away)
         .join(Household.__table__, h.id == m.household_id).where(*where).order_by(h.household_no, m.seq, m.id))
    for r in session.execute(q):
        row = {k: getattr(r, k) for k in m_plain}
        row.update({k: _yes(getattr(r, k)) for k in m_bools})
        row.update(household_no=r.household_no, sex=sex(r.sex), relation=relation(r.relation),
                   ethnicity=ethnicity(r.ethnicity), political=political(r.political), education=education(r.education),
                   school=school(r.school), health=health(r.health), disability_grade=grade(r.disability_grade),
                   labor=labor(r.labor), work_region=region(r.work_region), a20_dibao=dibao(r.a20_dibao),
                   a21_tekun=tekun(r.a21_tekun), status=mstatus(r.status))
        ws.row([row.get(k) for k in m_keys])
        counts["member"] += 1
        tick("正在导出家庭成员")

    # ---- 帮扶措施
    ws = book.sheet(MS.name, _columns(MS, year), MS.freeze_cols)
    ws.dropdowns()
    cat = {c["code"]: c["name"] for c in measure_catalog()}
    s = Measure.__table__.c
    holder = Member.__table__.alias("holder")
    q = (select(h.household_no, holder.c.id_number.label("holder"), s.category, s.item, s.start_date, s.end_date,
                s.amount, s.responsible_unit, s.developmental_override)
         .join(Household.__table__, h.id == s.household_id).outerjoin(holder, holder.c.id == s.member_id)
         .where(*where).order_by(h.household_no, s.id))
    for r in session.execute(q):
        ws.row([r.household_no, r.holder, cat.get(r.category, r.category), r.item, r.start_date, r.end_date,
                r.amount, r.responsible_unit, _yes(r.developmental_override)])
        counts["measure"] += 1
        tick("正在导出帮扶措施")

    # ---- 收入明细 (lines of the record that stands for the year)
    ws = book.sheet(L.name, _columns(L, year), L.freeze_cols)
    ws.dropdowns()
    item_name = income.item_names()
    wanted = set(standing.values())
    order = case({item: i for i, item in enumerate(INCOME_ITEMS)}, value=IncomeLine.item, else_=99)
    q = (select(IncomeLine.record_id, h.household_no, IncomeLine.item, IncomeLine.line, IncomeLine.amount,
                IncomeLine.note)
         .join(IncomeRecord, IncomeRecord.id == IncomeLine.record_id)
         .join(Household.__table__, h.id == IncomeRecord.household_id)
         .where(IncomeRecord.year == year, *where).order_by(h.household_no, order, IncomeLine.id))
    for r in session.execute(q):
        if r.record_id not in wanted:
            continue
        ws.row([r.household_no, item_name.get(r.item, r.item), r.line, r.amount, r.note])
        counts["income_line"] += 1
        counts["done"] += 4
        tick("正在导出收入明细")
    return counts


# ---------------------------------------------------------------- template

def write_template(session: Session, path: Path | str, year: int | None = None) -> Path:
    """The blank workbook for villages to fill: same sheets, headers and dropdowns, and a sheet of
    instructions."""
    access.logged_in(session)
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ExchangeError(f"模板文件应为 .xlsx：{path.name}")
    year = year or settings.current_year(session)
    try:
        with written_whole(path, ".tmp.xlsx") as tmp:
            book = _book(session, tmp)
            for sh in sheets().values():
                ws = book.sheet(sh.name, _columns(sh, year), sh.freeze_cols)  # written columns only
                ws.dropdowns()
            help_ws = book.wb.add_worksheet(setting("sheet_help"))
            help_ws.set_column(0, 0, 120, book.wrap)
            for i, line in enumerate(raw()["help"]):
                help_ws.write_string(i, 0, line, book.title if i == 0 else book.wrap)
            book.close()
    except OSError as exc:
        raise ExchangeError(f"无法写入“{path}”：{exc.strerror or exc}") from None
    return path


# ---------------------------------------------------------------- errors of a rejected file

def errors_path(source: Path | str) -> Path:
    """NAME.errors.xlsx beside the input NAME.xlsx."""
    source = Path(source)
    return source.with_name(f"{source.stem}.errors.xlsx")


def write_error_workbook(errors: list[Issue], path: Path | str, *, source: Path | str | None = None,
                         total: int | None = None) -> Path:
    """The error list of a rejected import: 工作表, 行, 列, 值, 原因 — one error a row."""
    path = Path(path)
    try:
        with written_whole(path, ".tmp.xlsx") as tmp:
            book = Book(tmp)
            cols = [Col("工作表", TEXT, 12, "normal"), Col("行", INT, 7, "normal"), Col("列", TEXT, 26, "normal"),
                    Col("值", TEXT, 30, "normal"), Col("原因", TEXT, 80, "normal")]
            ws = book.sheet(setting("error_sheet"), cols, freeze_cols=0)
            book.formats[TEXT].set_text_wrap()
            book.formats[TEXT].set_align("top")
            book.formats[INT].set_align("top")
            for e in errors:
                ws.row([e.sheet or "（文件）", e.row, e.column, e.value, e.reason])
            info = book.wb.add_worksheet("说明")
            info.set_column(0, 0, 16, book.bold)
            info.set_column(1, 1, 90, book.wrap)
            wrap = book.style(font_name="等线", font_size=11, text_wrap=True, valign="top")
            total = len(errors) if total is None else total
            lines = [("导入文件", str(source) if source is not None else ""),
                     ("检查时间", datetime.now().strftime("%Y-%m-%d %H:%M")),
                     ("错误数", f"{total} 处" + (f"（列出前 {len(errors)} 处）" if total > len(errors) else "")),
                     ("结果", "文件未导入，数据库没有任何修改。请按“错误清单”逐条改正原文件后重新导入。")]
            for i, (k, v) in enumerate(lines):
                book.write(info, i, 0, k)
                book.write(info, i, 1, v, wrap)
            book.close()
    except OSError as exc:
        raise ExchangeError(f"无法写入错误清单“{path}”：{exc.strerror or exc}") from None
    return path
