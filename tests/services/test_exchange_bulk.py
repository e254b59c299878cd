"""The bulk update path of an import (issue 20) gives exactly what the ORM path gives: the same rows with the same
values and ids, and the same audit entries (one per changed field, old → new; one per inserted row).

A small register (the demo generator plus a household without income) is exported; a copy of the export is
changed as a village clerk would change it (phone, a village move, a member's months of work, a death without
a date, a newborn, a measure's amount, a new measure held by a member, an income total without detail lines, a
detail line, 双签字, income for a household that had none). The same file goes into two copies of the database,
once through each path, and every table is compared."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import make_url

from desktop.models import Base, Household, Member
from desktop.services import audit, demo, exchange, keys, register
from desktop.services.db import init_db, sqlite_url
from desktop.services.exchange import writer
from desktop.services.idnumber import make_id

from .. import dbserver
from ..conftest import ADMIN_PASSWORD, TEST_KEY, TODAY, YEAR, family, login, raw_connect

TABLES = ("household", "member", "member_event", "measure", "income_record", "income_line", "region")
# Not compared: the times, and the version (the bulk path bumps every row it writes, the ORM only rows whose values
# changed: both refuse a seat's later save of what it read before the import).
STAMPS = {"created_at", "updated_at", "version"}


@pytest.fixture
def register_db(ctx, township):
    ctx.run(demo.generate, 60, seed=11, year=YEAR, as_of=date(2024, 10, 31))
    data, members = family(township["villages"]["东村"], no="NOINCOME01", serial=70)
    ctx.run(register.save_household, data, members, TODAY)
    return ctx


def _copy(db, folder: Path, name: str) -> str:
    """A copy of the test's database, by its URL: a file, or on PostgreSQL a database made from it on the server."""
    if db.sqlite_path is not None:
        path = folder / f"{name}.sqlite3"
        src = raw_connect(db.sqlite_path)
        dst = raw_connect(path, TEST_KEY)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        shutil.copyfile(keys.key_path(db.sqlite_path), keys.key_path(path))  # its users' slots: they log in
        return sqlite_url(path)
    db.dispose()  # CREATE DATABASE … TEMPLATE copies a database nobody is connected to
    return dbserver.server().create(dbserver.server().new_name(name), template=make_url(db.url).database)


def _open(url: str):
    """The program's engine on a copy: an SQLite copy is encrypted with the test key."""
    return init_db(url, key=TEST_KEY if url.startswith("sqlite") else None, run_migrations=False)


def _contents(url: str) -> tuple[dict, list]:
    opened = _open(url)
    engine = opened.engine
    try:
        with engine.connect() as con:
            tables = {}
            for t in TABLES:
                table = Base.metadata.tables[t]
                cols = [c for c in table.columns if c.name not in STAMPS]
                tables[t] = [tuple(r) for r in con.execute(select(*cols).order_by(table.c.id))]
            a = Base.metadata.tables["audit_entry"].c
            entries = sorted((tuple(r) for r in con.execute(select(a.user, a.action, a.table_name, a.record_id,
                                                                 a.household_id, a.field, a.old, a.new))), key=repr)
        return tables, entries
    finally:
        opened.dispose()


def _import(url: str, book: Path, bulk: bool, monkeypatch) -> exchange.ImportResult:
    monkeypatch.setattr(writer.Writer, "bulk", bulk)
    db = _open(url)
    try:
        admin = login(db, "admin", ADMIN_PASSWORD)
        with db.session(admin) as s:
            pv = exchange.preview(s, book, YEAR)
            assert pv.ok, [e.text() for e in pv.errors[:5]]
            result = exchange.apply(s, pv, as_of=TODAY, check=False, take_backup=False)
            s.commit()
        with db.session(admin) as s:  # the entries written in bulk continue the audit chain
            assert audit.verify_chain(s).problems == []
        return result
    finally:
        db.dispose()


def _both(ctx, tmp_path, book: Path, monkeypatch):
    a, b = _copy(ctx.db, tmp_path, "orm"), _copy(ctx.db, tmp_path, "bulk")
    ra = _import(a, book, False, monkeypatch)
    rb = _import(b, book, True, monkeypatch)
    return (ra, _contents(a)), (rb, _contents(b))


def _counts(r: exchange.ImportResult) -> tuple:
    return (r.households_new, r.households_updated, r.members_new, r.members_updated, r.measures_new,
            r.measures_updated, r.income_records, r.changed_fields)


class Sheet:
    """A sheet of the exported workbook edited by header name."""

    def __init__(self, ws):
        self.ws = ws
        self.cols = {c.value: c.column for c in ws[1]}

    def rows(self):
        return range(2, self.ws.max_row + 1)

    def get(self, row: int, header: str):
        return self.ws.cell(row, self.cols[header]).value

    def set(self, row: int, header: str, value) -> None:
        self.ws.cell(row, self.cols[header]).value = value

    def find(self, **where) -> list[int]:
        return [r for r in self.rows() if all(self.get(r, k) == v for k, v in where.items())]

    def append(self, values: dict) -> None:
        self.ws.append([values.get(h) for h in self.cols])


def _changed_book(src: Path, dst: Path) -> dict:
    wb = openpyxl.load_workbook(src)
    hs, ms, mx, lines = (Sheet(wb[n]) for n in ("户信息", "家庭成员", "帮扶措施", "收入明细"))
    nos = [hs.get(r, "户编号") for r in hs.rows()]
    with_lines = sorted({lines.get(r, "户编号") for r in lines.rows()})
    done = {}
    # 1. phone and a risk fact
    r = hs.find(户编号=nos[0])[0]
    hs.set(r, "联系电话", "13911112222")
    hs.set(r, "住房出现安全问题", "是")
    # 2. moved to the village and group of another household
    r2 = hs.find(户编号=nos[1])[0]
    ro = next(r for r in hs.rows() if hs.get(r, "行政村") != hs.get(r2, "行政村"))
    hs.set(r2, "行政村", hs.get(ro, "行政村"))
    hs.set(r2, "自然村", hs.get(ro, "自然村"))
    # 3. a member's months of work; a death without a date; a newborn
    m0 = ms.find(户编号=nos[0])[0]
    ms.set(m0, "务工时间（月）", 7)

    def living_non_heads(n):  # a death is a change only for someone alive in the file
        return [r for r in ms.find(户编号=n)
                if ms.get(r, "与户主关系") != "户主" and ms.get(r, "成员状态") in (None, "正常")]

    several = next(n for n in nos[2:] if living_non_heads(n))
    dead = living_non_heads(several)[0]
    ms.set(dead, "成员状态", "死亡")
    ms.set(dead, "状态变化日期", None)
    baby = make_id("370305", date(2024, 3, 3), 88, "2")
    ms.append({"户编号": several, "姓名": "新生儿", "性别": "女", "证件号码": baby, "与户主关系": "之女",
               "成员状态": "正常"})
    done["several"] = several
    # 4. a measure's amount; a new measure held by a member
    if list(mx.rows()):
        first = next(iter(mx.rows()))
        mx.set(first, "金额", (mx.get(first, "金额") or 0) + 500)
        holder_no = mx.get(first, "户编号")
        holder = ms.get(ms.find(户编号=holder_no)[0], "证件号码")
        if not mx.get(first, "享受人证件号码"):
            mx.set(first, "享受人证件号码", holder)  # the stored measure gets its holder
        mx.append({"户编号": holder_no, "享受人证件号码": holder, "措施类别": mx.get(first, "措施类别"),
                   "措施项目": mx.get(first, "措施项目"), "开始日期": date(2024, 6, 1), "金额": 1200,
                   "责任单位": "县人社局"})
        done["measure"] = holder_no
    # 5. an income total without its detail lines: the item becomes one line
    n5 = with_lines[0]
    r5 = hs.find(户编号=n5)[0]
    hs.set(r5, "工资性收入", (hs.get(r5, "工资性收入") or 0) + 1000)
    for r in sorted(lines.find(户编号=n5, 收入项="工资性收入"), reverse=True):
        lines.ws.delete_rows(r)
    # 6. one detail line changed, the total with it; 双签字 turned
    n6 = with_lines[1]
    r6 = hs.find(户编号=n6)[0]
    line = lines.find(户编号=n6)[0]
    item = lines.get(line, "收入项")
    lines.set(line, "金额", lines.get(line, "金额") + 250)
    hs.set(r6, item, hs.get(r6, item) + 250)
    hs.set(r6, "收入核算已双签字", "否" if hs.get(r6, "收入核算已双签字") == "是" else "是")
    # 7. income for the household that had none
    r7 = hs.find(户编号="NOINCOME01")[0]
    hs.set(r7, "工资性收入", 5000)
    hs.set(r7, "收入核算已双签字", "是")
    wb.save(dst)
    return done


def test_a_changed_file_gives_the_same_rows_and_audit_on_both_paths(register_db, tmp_path, monkeypatch):
    exported = tmp_path / "export.xlsx"
    register_db.read(exchange.export_workbook, exported, YEAR)
    changed = tmp_path / "changed.xlsx"
    done = _changed_book(exported, changed)
    (ra, (ta, aa)), (rb, (tb, ab)) = _both(register_db, tmp_path, changed, monkeypatch)
    assert _counts(ra) == _counts(rb)
    for t in TABLES:
        assert ta[t] == tb[t], t
    assert aa == ab
    # The changes are really there (the comparison is not of two empty imports).
    assert ra.members_new == 1 and ra.changed_fields >= 8 and ra.measures_new >= 1
    actions = {(a[1], a[2]) for a in ab}
    assert {("insert", "member"), ("insert", "member_event"), ("insert", "income_record"), ("insert", "income_line"),
            ("update", "household"), ("update", "member"), ("update", "income_record")} <= actions
    fields = {(a[2], a[5]) for a in ab if a[1] == "update"}
    assert {("household", "phone"), ("household", "village_id"), ("member", "work_months"), ("member", "status"),
            ("member", "status_date"), ("measure", "amount"), ("measure", "member_id")} <= fields
    assert done["several"]


def test_the_bulk_writes_hand_sqlite_no_python_bool(register_db, tmp_path, monkeypatch):
    """Boolean columns reach SQLite as 1 / 0 (their own bind processor, as the ORM writes them), never as Python bools:
    bool is not exactly int, so the driver looks up an adapter for every such cell — at 20,000 households that cost
    more than SQLite's own work on the member rows. A new household (inserted) and the changes of _changed_book
    (updated, a newborn inserted), with their stored values the same as the ORM path's."""
    exported = tmp_path / "export.xlsx"
    register_db.read(exchange.export_workbook, exported, YEAR)
    changed = tmp_path / "changed.xlsx"
    _changed_book(exported, changed)
    wb = openpyxl.load_workbook(changed)
    first = Sheet(wb["户信息"])
    old = first.get(next(iter(first.rows())), "户编号")
    people = Sheet(wb["家庭成员"])
    ids = {people.get(r, "证件号码"): make_id("370305", date(1970, 1, 1 + k), 60 + k, "1")
           for k, r in enumerate(people.find(户编号=old))}  # (one person cannot be in two households)
    for name in ("户信息", "家庭成员", "帮扶措施", "收入明细"):  # one household under a number new to the register
        sh = Sheet(wb[name])
        for r in sh.find(户编号=old):
            sh.set(r, "户编号", "NEWHH00001")
            for header in ("证件号码", "享受人证件号码"):
                if header in sh.cols and sh.get(r, header) in ids:
                    sh.set(r, header, ids[sh.get(r, header)])
    wb.save(changed)
    url = _copy(register_db.db, tmp_path, "bulk")
    if not url.startswith("sqlite"):
        pytest.skip("the driver's adapters are SQLite's")
    seen: list = []

    def listen(_conn, _cursor, statement, parameters, _context, executemany):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            seen.append(statement.split("(")[0].split(" SET ")[0])
            rows = parameters if executemany else [parameters]  # (one row: SQLAlchemy executes it alone)
            bools = [v for row in rows for v in (row.values() if isinstance(row, dict) else row) if v.__class__ is bool]
            assert not bools, statement[:80]

    monkeypatch.setattr(writer.Writer, "bulk", True)
    db = _open(url)
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        admin = login(db, "admin", ADMIN_PASSWORD)
        with db.session(admin) as s:
            pv = exchange.preview(s, changed, YEAR)
            assert pv.ok, [e.text() for e in pv.errors[:5]]
            result = exchange.apply(s, pv, as_of=TODAY, check=False, take_backup=False)
            s.commit()
    finally:
        db.dispose()
    assert result.households_new == 1 and result.members_new >= 2 and result.changed_fields >= 8
    assert any("INTO member" in x for x in seen) and any("UPDATE household" in x for x in seen), seen
    orm = _copy(register_db.db, tmp_path, "orm")
    _import(orm, changed, False, monkeypatch)
    assert _contents(orm) == _contents(url)


def test_the_unchanged_file_again_changes_nothing_on_either_path(register_db, tmp_path, monkeypatch):
    exported = tmp_path / "export.xlsx"
    register_db.read(exchange.export_workbook, exported, YEAR)
    (ra, (ta, aa)), (rb, (tb, ab)) = _both(register_db, tmp_path, exported, monkeypatch)
    assert _counts(ra) == _counts(rb) and ra.changed_fields == 0 and ra.households_updated == 61
    assert ta == tb and aa == ab


def test_the_national_export_back_into_its_own_register_changes_nothing_on_either_path(register_db, tmp_path,
                                                                                     monkeypatch):
    """The national list is coarser than the register in two places, and neither is a change when the list comes
    back: 风险是否已消除=否 says only that the risk is not removed (监测中), which a case in 消除中 or 绿色通道 is;
    and the export fills the two 医保 flags with what A17 implies (A17 否: both 否), which the register keeps as A17
    with the flags unknown."""
    def shape(s):
        rows = s.scalars(select(Household).where(Household.a3_category.is_not(None))
                         .order_by(Household.id)).all()
        assert len(rows) >= 2, [(h.monitoring_status, h.a3_category) for h in rows]
        rows[0].monitoring_status, rows[1].monitoring_status = "removing", "green"
        m = s.scalars(select(Member).where(Member.a17_medical.is_(False)).order_by(Member.id)).first()
        if m is None:
            m = s.scalars(select(Member).order_by(Member.id)).first()
            m.a17_medical = False
        m.a17_resident_medical = m.a17_employee_medical = None
        s.commit()
    register_db.run(shape)
    exported = tmp_path / "national.xlsx"
    register_db.read(exchange.export_national, exported, YEAR)
    before = _contents(_copy(register_db.db, tmp_path, "before"))
    (ra, (ta, aa)), (rb, (tb, ab)) = _both(register_db, tmp_path, exported, monkeypatch)
    assert _counts(ra) == _counts(rb) and ra.households_updated == 61 and ra.changed_fields == 0
    for t in TABLES:
        assert ta[t] == tb[t] == before[0][t], t
    assert aa == ab


@pytest.mark.parametrize("stored, value, kept", [
    ("removing", "monitoring", True), ("green", "monitoring", True), ("monitoring", "monitoring", True),
    ("removing", "removed", False), ("none", "monitoring", False), (None, "monitoring", False),
    ("removed", "monitoring", False), ("identifying", "monitoring", False)])
def test_risk_not_removed_keeps_only_a_state_of_an_unremoved_case(stored, value, kept):
    assert writer.keeps_status(stored, value) is kept


@pytest.mark.parametrize("stored, changes, left", [
    # A17 否 with both flags unknown: the list's 否/否 restates it
    ((False, None, None), {"a17_resident_medical": False, "a17_employee_medical": False}, {}),
    # A17 是, 城乡居民 否, 职工 unknown: 职工 是 is what 是 means
    ((True, False, None), {"a17_employee_medical": True}, {}),
    # the file also says A17 是 and 城乡居民 是: 职工 否 is a fact, not an echo of A17
    ((False, None, None), {"a17_medical": True, "a17_resident_medical": True, "a17_employee_medical": False},
     {"a17_medical": True, "a17_resident_medical": True, "a17_employee_medical": False}),
    # a flag already stored is compared as it is (a change of it stays a change)
    ((False, True, None), {"a17_resident_medical": False}, {"a17_resident_medical": False}),
    # A17 unknown implies nothing
    ((None, None, None), {"a17_employee_medical": False}, {"a17_employee_medical": False}),
    # A17 是 and one flag 是: the other is not implied
    ((True, True, None), {"a17_employee_medical": True}, {"a17_employee_medical": True}),
])
def test_a_medical_flag_that_restates_a17_is_not_a_change(stored, changes, left):
    stored = dict(zip(("a17_medical", *writer.MEDICAL_FLAGS), stored, strict=True))
    changes = dict(changes)
    writer.drop_implied_flags(changes, stored.get)
    assert changes == left


def test_the_national_export_re_imported_gives_the_same_on_both_paths(register_db, tmp_path, monkeypatch):
    exported = tmp_path / "national.xlsx"
    register_db.read(exchange.export_national, exported, YEAR)
    wb = openpyxl.load_workbook(exported)
    ws = wb.worksheets[0]
    header = next(r for r in range(1, 10) if any(c.value == "户编号" for c in ws[r]))
    cols = {c.value: c.column for c in ws[header]}
    for r in range(header + 1, header + 4):  # a few people's months of work changed
        if ws.cell(r, cols["户编号"]).value:
            ws.cell(r, cols["务工时间"]).value = "9"
    wb.save(exported)
    (ra, (ta, aa)), (rb, (tb, ab)) = _both(register_db, tmp_path, exported, monkeypatch)
    assert _counts(ra) == _counts(rb) and ra.households_updated == 61
    for t in TABLES:
        assert ta[t] == tb[t], t
    assert aa == ab and any(a[5] == "work_months" for a in ab)


def test_the_national_export_back_into_its_register_adds_no_dateless_copy_of_a_measure(register_db, tmp_path,
                                                                                      monkeypatch):
    """The national list names a household's measures by category and item, never with dates: re-imported into the
    register it came from, each matches the stored measure whatever its start date (a blank cell keeps what is
    stored), on both paths; an item the register lacks is added once, without a date."""
    from desktop.services.exchange.layout import national_columns
    from desktop.services.exchange.values import measure_items
    before = _contents(_copy(register_db.db, tmp_path, "before"))[0]["measure"]
    assert any(r[6] is not None for r in before)  # (start_date) measures with dates, as a clerk enters them
    exported = tmp_path / "national.xlsx"
    register_db.read(exchange.export_national, exported, YEAR)
    wb = openpyxl.load_workbook(exported)
    ws = wb.worksheets[0]
    header = next(r for r in range(1, 10) if any(c.value == "户编号" for c in ws[r]))
    cols = {c.value: c.column for c in ws[header]}
    measure_cols = {nc.key: cols[nc.header] for nc in national_columns() if nc.sheet == "measure"}
    rows = [r for r in range(header + 1, ws.max_row + 1) if ws.cell(r, cols["户编号"]).value]
    # a household with no 产业帮扶 (A39) in the file gets one item of it, on each of its rows
    no = next(ws.cell(r, cols["户编号"]).value for r in rows if not ws.cell(r, measure_cols["A39"]).value)
    item = next(iter(measure_items()["A39"].values()))
    for r in rows:
        if ws.cell(r, cols["户编号"]).value == no:
            ws.cell(r, measure_cols["A39"]).value = item
    wb.save(exported)
    (ra, (ta, _aa)), (rb, (tb, _ab)) = _both(register_db, tmp_path, exported, monkeypatch)
    assert _counts(ra) == _counts(rb) and ra.measures_new == 1
    assert ta["measure"] == tb["measure"]
    assert ta["measure"][:len(before)] == before  # every stored measure as it was, its dates kept
    (added,) = ta["measure"][len(before):]
    hid = next(h[0] for h in ta["household"] if h[1] == no)
    cols_ms = [c.name for c in Base.metadata.tables["measure"].columns if c.name not in STAMPS]
    got = dict(zip(cols_ms, added, strict=True))
    assert (got["household_id"], got["category"], got["item"], got["start_date"]) == (hid, "A39", item, None)


def test_a_bulk_import_refreshes_the_planners_statistics_on_postgresql(ctx, township):
    """After a county file is written into empty tables, PostgreSQL must know they are not empty any more, or the
    checks that follow in the same transaction join the new members by nested loops (over ten minutes for 20,000
    households). On SQLite nothing is run."""
    from sqlalchemy import text

    from desktop.services.exchange import importer

    ctx.run(register.save_household, *family(township["villages"]["东村"]), TODAY, ctx.user)
    q = text("SELECT reltuples FROM pg_class WHERE relname = 'member'")
    with ctx.db.session(ctx.user) as s:
        if s.get_bind().dialect.name != "postgresql":
            importer._refresh_statistics(s, 20_000)  # a no-op on SQLite: nothing to refresh, nothing fails
            return
        stale = s.scalar(q)  # what the last ANALYZE (an earlier test on this database, or none: -1) counted
    if stale == 3:  # make the true count differ from it, so that only a fresh ANALYZE can give it
        ctx.run(register.save_household, *family(township["villages"]["东村"], no="3703050010010002", serial=20),
                TODAY, ctx.user)
    with ctx.db.session(ctx.user) as s:
        members = s.scalar(text("SELECT count(*) FROM member"))
        importer._refresh_statistics(s, 999)  # a small import: not worth an ANALYZE
        assert s.scalar(q) == stale != members
        importer._refresh_statistics(s, 20_000)
        assert s.scalar(q) == members  # the new members are counted


def test_a_first_import_in_many_chunks_stores_what_one_chunk_does(ctx, township, tmp_path, monkeypatch):
    """The inserts of new households go chunk by chunk, each column's bound values remembered over the chunks
    (writer.bulk_insert): a register imported into an empty database in chunks of 7 households is stored exactly as
    in one chunk — every table, every id, the audit entries."""
    one, many = _copy(ctx.db, tmp_path, "one"), _copy(ctx.db, tmp_path, "many")
    ctx.run(demo.generate, 60, seed=11, year=YEAR, as_of=date(2024, 10, 31))
    exported = tmp_path / "export.xlsx"
    ctx.read(exchange.export_workbook, exported, YEAR)
    ra = _import(one, exported, True, monkeypatch)
    monkeypatch.setattr(writer, "CHUNK", 7)
    rb = _import(many, exported, True, monkeypatch)
    assert ra.households_new == 60 and ra.income_records > 0
    assert _counts(ra) == _counts(rb)
    assert _contents(one) == _contents(many)


@pytest.mark.parametrize("layout", ["program", "national"])
def test_a_first_imports_indexes_built_beside_the_fingerprints_store_what_one_thread_does(ctx, township, tmp_path,
                                                                                         monkeypatch, layout):
    """A first import into an empty register builds its indexes after the rows (writer._indexes_after), on a thread
    of their own while the importer's thread packs the fingerprints' states with the writer's ids (writer.
    _build_beside, fingerprint.packed_states): every table, id, audit entry, the indexes and the stored fingerprints
    are those of the plain path (ids read back from the database, the indexes built one after the other here)."""
    if ctx.db.sqlite_path is None:
        pytest.skip("the indexes are built afterwards on SQLite only")
    import threading

    from desktop.models import AppSetting, ImportFingerprint
    from desktop.services.exchange import fingerprint
    plain, beside = _copy(ctx.db, tmp_path, "plain"), _copy(ctx.db, tmp_path, "beside")
    ctx.run(demo.generate, 60, seed=11, year=YEAR, as_of=date(2024, 10, 31))
    exported = tmp_path / "export.xlsx"
    ctx.read(exchange.export_national if layout == "national" else exchange.export_workbook, exported, YEAR)
    monkeypatch.setattr(writer, "DEFER_FROM", 1)
    seen, inside, built_on = [], [False], []
    real, real_build = fingerprint.packed_states, writer._build_beside

    def packed_states(*a):
        seen.append((threading.current_thread() is threading.main_thread(), inside[0]))
        return real(*a)

    def build_beside(conn, statements, beside):
        inside[0] = True
        try:
            return real_build(conn, statements, beside)
        finally:
            inside[0] = False

    class Thread(threading.Thread):
        def run(self):
            if self.name == "indexes":  # (not calamine's)
                built_on.append(threading.current_thread() is threading.main_thread())
            super().run()

    monkeypatch.setattr(fingerprint, "packed_states", packed_states)
    monkeypatch.setattr(writer, "_build_beside", build_beside)
    monkeypatch.setattr(writer.threading, "Thread", Thread)
    monkeypatch.setattr(writer, "INDEXES_BESIDE", False)
    ra = _import(plain, exported, True, monkeypatch)
    assert seen == [(True, False)] and not built_on  # (store() packed them itself, after the indexes)
    seen.clear()
    monkeypatch.setattr(writer, "INDEXES_BESIDE", True)
    rb = _import(beside, exported, True, monkeypatch)
    assert seen == [(True, True)]  # packed on this thread while the indexes were built on their own
    assert built_on == [False]
    assert ra.households_new == 60
    assert _counts(ra) == _counts(rb)
    assert _contents(plain) == _contents(beside)

    def stored(url):
        opened = _open(url)
        try:
            with opened.engine.connect() as con:
                blob = con.execute(select(ImportFingerprint.data)).scalar()
                run = con.execute(select(AppSetting.value).where(AppSetting.key == fingerprint.RUN_KEY)).scalar()
                indexes = con.exec_driver_sql("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' "
                                              "ORDER BY name").all()
            return fingerprint.unpack(blob), run, indexes
        finally:
            opened.dispose()

    a, b = stored(plain), stored(beside)
    assert a[0] and a == b


def test_an_index_that_fails_beside_is_raised_as_the_plain_path_raises_it(ctx, township, tmp_path, monkeypatch):
    """A CREATE INDEX that fails on the indexes' thread is run again on the importer's thread, where it fails as it
    always did (SQLAlchemy's error, the transaction rolled back by the caller), after the work beside it ended."""
    if ctx.db.sqlite_path is None:
        pytest.skip("the indexes are built afterwards on SQLite only")
    import sqlalchemy.exc

    target = _copy(ctx.db, tmp_path, "target")
    ctx.run(demo.generate, 20, seed=11, year=YEAR, as_of=date(2024, 10, 31))
    exported = tmp_path / "export.xlsx"
    ctx.read(exchange.export_workbook, exported, YEAR)
    monkeypatch.setattr(writer, "DEFER_FROM", 1)
    real = writer._build_beside
    calls = []

    def build_beside(conn, statements, beside):
        calls.append(len(statements))
        return real(conn, ["CREATE INDEX nowhere_ix ON no_such_table (x)", *statements], beside)

    monkeypatch.setattr(writer, "_build_beside", build_beside)
    with pytest.raises(sqlalchemy.exc.OperationalError, match="no_such_table"):
        _import(target, exported, True, monkeypatch)
    assert calls and calls[0] > 0
    tables, entries = _contents(target)
    assert not tables["household"] and not tables["member"]  # nothing stayed
    assert not [e for e in entries if e[1] == "import" or e[2] == "household"]
