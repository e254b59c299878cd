"""Writing a checked file: new households with bulk inserts (keys chosen here, one summary audit
entry), existing ones through the ORM so the session hook of services.audit records every changed
field. Used by importer.apply inside the caller's transaction."""

from __future__ import annotations

import threading
from collections import defaultdict
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import Callable, Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ...models import Household, IncomeLine, IncomeRecord, Measure, Member, MemberEvent
from ...models.base import utcnow
from .. import access, dataversion, regions, rules
from .. import db as dbmod
from ..errors import ServiceError
from ..idnumber import normalize_id
from .layout import INCOME_ITEMS, norm_value, setting, sheet
from .plan import Data, Plan, StoredMeasures
from .reader import ParsedSheet
from .values import Month

CHUNK = 2000  # new households per bulk round
UPDATE_CHUNK = 400  # existing households per ORM round
ZERO = Decimal("0.00")
IMPORT_CACHE_KIB = 131072  # SQLite page cache during the writes of an import (128 MiB)
STATUS_EVENT = {"dead": "death", "married_out": "married_out", "moved_out": "moved_out", "other": "other_out",
                "normal": "restored"}

Progress = Callable[[int, int, str], None]


class ExchangeError(ServiceError):
    """An import or export that cannot go ahead; the message is Chinese."""


class ImportCancelled(ExchangeError):
    pass


def report(progress: Progress | None, done: int, total: int, stage: str) -> None:
    if progress is not None:
        progress(done, total, stage)


def check_cancel(cancelled: Callable[[], bool] | None) -> None:
    if cancelled is not None and cancelled():
        raise ImportCancelled("已取消导入，数据库未作任何修改")


def reserve_ids(session: Session, model, count: int) -> Sequence[int]:
    """`count` new ids of `model`'s table for rows this transaction is about to insert (the one place where a bulk
    write chooses keys), from services.db.reserve_ids: on PostgreSQL from the table's own sequence (another seat's
    inserts meanwhile get others; not necessarily consecutive); on SQLite max(id) + 1 onwards, read under the write
    lock, which the transaction takes here if it does not hold it yet and keeps until it ends — call it again only
    after the rows of the previous reservation are inserted."""
    access.logged_in(session)
    dataversion.take_write_lock(session)
    return dbmod.reserve_ids(session, model, count)


def bulk_insert(session: Session, table, names: tuple[str, ...], rows: list[tuple], bound: dict | None = None
                ) -> None:
    """INSERT many rows, given as tuples in the order of `names`; columns left out take their
    defaults (NULL for ours). On SQLite the values are turned into what is stored by the columns'
    own SQLAlchemy bind processors, a column at a time, and go to the driver's executemany: the
    per-row parameter handling of a compiled insert() costs more than SQLite's own work. Other
    databases get a Core insert(). `bound`: what each column's values were turned into, kept by a caller that
    inserts into the table chunk after chunk (amounts and dates repeat between chunks as within one)."""
    access.logged_in(session)
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    if dialect.name != "sqlite":
        conn.execute(insert(table), [dict(zip(names, r, strict=True)) for r in rows])
        return
    out = []
    kept = []
    for name, values in zip(names, zip(*rows, strict=True), strict=True):
        column = table.c[name]
        if values[0] is None and column.server_default is None and values.count(None) == len(values):
            continue  # NULL in every row: left out, NULL all the same (binding a None costs sqlcipher a call)
        kept.append(name)
        # (Boolean too: its processor gives 1 / 0, as the ORM stores them. A bool handed to the driver as it is
        # misses the driver's adapter lookup for every cell — bool is not exactly int — which cost a county import
        # more than SQLite's own work on those rows.)
        proc = column.type.dialect_impl(dialect).bind_processor(dialect)
        if proc is None:
            out.append(values)
            continue
        first = values[0]
        if not isinstance(first, (list, dict)) and values.count(first) == len(values):
            out.append((None if first is None else proc(first),) * len(values))  # created_at and the like
        else:
            out.append(_bound(values, proc, bound.setdefault(name, {}) if bound is not None else None))
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in kept)}) "
           f"VALUES ({', '.join('?' * len(kept))})")
    conn.exec_driver_sql(sql, list(zip(*out, strict=True)))


def _bound(values: tuple, proc, done: dict | None = None) -> list:
    """A column's values as stored, each distinct value through the column's bind processor once: amounts, dates
    and risk-type lists repeat from row to row (a processor of equal values gives equal results: fen of equal
    amounts, the text of equal dates). Lists and dicts (JSON columns) are told apart by their repr. `done`: the
    values of the column bound before (by earlier chunks of the same insert), added to."""
    if done is None:
        done = {}
    try:
        done.update({v: proc(v) for v in set(values).difference(done) if v is not None})
    except TypeError:  # lists (JSON columns)
        out, by_repr = [], {}
        for v in values:
            if v is None:
                out.append(None)
                continue
            key = repr(v)
            got = by_repr.get(key)
            if got is None:
                got = by_repr[key] = proc(v)
            out.append(got)
        return out
    done[None] = None
    return list(map(done.__getitem__, values))


@contextmanager
def page_cache(session: Session, kib: int = IMPORT_CACHE_KIB):
    """A larger SQLite page cache while many rows go in: the indexes of member and household are
    kept up to date in memory instead of being re-read page by page."""
    access.logged_in(session)
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


DEFERRED_TABLES = ("household", "member", "measure", "income_record", "income_line")
DEFER_FROM = 5000  # new households from which a first import into an empty register builds the indexes afterwards
INDEXES_BESIDE = True  # …and builds them on a thread of its own while the importer's thread does its own work
DEFERRED_CACHE_KIB = 32768  # …and keeps a smaller page cache meanwhile: the rows are only appended, no index is kept in
# order, so the import's 128 MiB held pages already written (80–100 MB of a county import's peak, no faster: the
# index builds, whose sorter is bounded by it, took as long)


@contextmanager
def _indexes_after(session: Session, households: int, beside: Callable[[], None] | None = None):
    """A first import into an empty register (SQLite): the secondary indexes of the tables written are dropped
    and built again, from their own CREATE INDEX text, once the rows are in — building an index from sorted keys
    costs less than keeping it in order row by row (member has six). Inside the import's transaction: a rollback
    puts them back as they were. Otherwise (rows already there, a small file, PostgreSQL) nothing changes.
    `beside`: work of the caller's that touches no database, done on this thread while the indexes are built (see
    _build_beside); not done otherwise (the caller then does it itself). Meanwhile the page cache is
    DEFERRED_CACHE_KIB."""
    conn = session.connection()
    if households < DEFER_FROM or conn.dialect.name != "sqlite" \
            or conn.exec_driver_sql("SELECT 1 FROM household LIMIT 1").first() is not None:
        yield
        return
    with page_cache(session, DEFERRED_CACHE_KIB):
        marks = ", ".join("?" * len(DEFERRED_TABLES))
        indexes = conn.exec_driver_sql(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                       f"AND tbl_name IN ({marks}) ORDER BY name", DEFERRED_TABLES).all()
        quote = conn.dialect.identifier_preparer.quote
        for name, _sql in indexes:
            conn.exec_driver_sql(f"DROP INDEX {quote(name)}")
        yield
        statements = [sql for _name, sql in indexes]
        if beside is not None and INDEXES_BESIDE and statements:
            statements = _build_beside(conn, statements, beside)
        for sql in statements:
            conn.exec_driver_sql(sql)


def _build_beside(conn, statements: list[str], beside: Callable[[], None]) -> list[str]:
    """The CREATE INDEX statements run on a thread of their own, through the transaction's own driver connection, while
    this thread runs `beside` (SQLite builds an index in one step, without the GIL: the importer's Python work goes on
    on the second core). Nothing else uses the connection meanwhile: `beside` touches no database, and the thread
    is waited for whatever happens. The statements left (from the one that failed, if one did) are returned, to be run
    here as the plain path runs them: a failure is raised as it always was."""
    dbapi = conn.connection.dbapi_connection
    done = [0]

    def build():
        cur = dbapi.cursor()
        try:
            for sql in statements:
                cur.execute(sql)
                done[0] += 1
        except Exception:  # noqa: BLE001 - run again on the caller's thread, where it fails as it always did
            pass
        finally:
            cur.close()

    thread = threading.Thread(target=build, name="indexes")
    thread.start()
    try:
        beside()
    finally:
        thread.join()
    return statements[done[0]:]


def _differs(stored, value) -> bool:
    """A value from the file changes what is stored; a month (YYYYMM) does not move a stored day of
    the same month."""
    if isinstance(value, Month) and isinstance(stored, date):
        return (stored.year, stored.month) != (value.year, value.month)
    return stored != value


MEDICAL_FLAGS = ("a17_resident_medical", "a17_employee_medical")


def keeps_status(stored, value) -> bool:
    """风险是否已消除=否 (the national list's only word on the state, → 监测中) is not a change of a stored 消除中 or
    绿色通道: both are steps of a case whose risk is not removed, which the register follows and the list cannot say."""
    return value == "monitoring" and stored in rules.UNREMOVED


def drop_implied_flags(changes: dict, stored: Callable[[str], object]) -> None:
    """Take out of a member's `changes` a national 医保 flag that only restates what A17 implies (the national export
    fills an unknown flag so: A17 否 → both 否; rules.medical_flags): the register keeps such a flag unknown, so its
    own list coming back changes nothing. Only where the file leaves A17 as stored (a member whose A17 changes
    keeps the flags the file states); judged with the other flag as it will be."""
    if "a17_medical" in changes:
        return
    for i, key in enumerate(MEDICAL_FLAGS):
        if key not in changes or stored(key) is not None:
            continue
        after = {k: changes.get(k, stored(k)) for k in ("a17_medical", *MEDICAL_FLAGS)}
        after[key] = None
        if rules.medical_flags(after["a17_medical"], after[MEDICAL_FLAGS[0]], after[MEDICAL_FLAGS[1]])[i] \
                == changes[key]:
            del changes[key]


class Writer:
    def __init__(self, session: Session, data: Data, plan: Plan, year: int, as_of: date,
                 progress: Progress | None, cancelled: Callable[[], bool] | None, source_file: str | None = None):
        self.s = session
        self.data = data
        self.plan = plan
        self.year = year
        self.as_of = as_of
        self.progress = progress
        self.cancelled = cancelled
        self.now = utcnow()
        self.user = session.info.get("user", "system")
        # An imported income record's source: the file and the importing user; its signatures are
        # unknown (NULL) unless the file has the column (services.income.RecordData, origin "imported").
        self.source_file = source_file or "（未知文件）"
        self.total = len(plan.new) + len(plan.existing)
        self.done = 0
        self.households_new = self.members_new = self.members_updated = 0
        self.new_ids: dict[str, int] = {}  # household number → id of the households inserted (insert_new)
        self.measures_new = self.measures_updated = self.income_records = 0
        self.H, self.M = sheet("household"), sheet("member")
        self.MS, self.L = sheet("measure"), sheet("income_line")
        self.group_ids: dict[tuple[int, str], int] = dict(plan.groups)
        self.village_ids: dict[str, int] = dict(plan.villages)
        self.total_line = setting("total_line")
        self.item_idx = [(item, self.H.index(item)) for item in INCOME_ITEMS]
        self.totals_of = itemgetter(*(i for _item, i in self.item_idx))  # a household's income totals, one call
        self.line_idx = tuple(self.L.index(k) for k in ("item", "line", "amount", "note"))

    def check_cancel(self) -> None:
        check_cancel(self.cancelled)

    def tick(self, n: int, stage: str) -> None:
        self.done += n
        report(self.progress, self.done, self.total, stage)
        self.check_cancel()

    # ------------------------------------------------------------ regions

    def regions(self) -> None:
        """The file's new villages and groups created (each only when there is one: creating is a manager's, and a
        village clerk's file of their own villages creates none)."""
        names = self.plan.villages_to_create
        if names:
            for name, vid in zip(names, regions.add_villages(self.s, names), strict=True):
                self.village_ids[norm_value(name)] = vid
        groups = [(self.village_ids[norm_value(vname)], gname) for vname, gname in self.plan.groups_to_create]
        if groups:
            for (vid, gname), gid in zip(groups, regions.add_groups(self.s, groups), strict=True):
                self.group_ids[(vid, norm_value(gname))] = gid

    def place(self, vals: list) -> tuple[int | None, int | None]:
        H = self.H
        vname, gname = vals[H.index("village")], vals[H.index("group")]
        vid = self.village_ids.get(norm_value(vname)) if vname is not None else None
        gid = self.group_ids.get((vid, norm_value(gname))) if (vid is not None and gname is not None) else None
        return vid, gid

    # ------------------------------------------------------------ income of the year

    def income_lines(self, no: str, hvals: list, base: dict[str, list[tuple[str, Decimal, str | None]]] | None
                     ) -> dict[str, list[tuple[str, Decimal, str | None]]] | None:
        """item → lines as the file says (None when the file says nothing about income).

        Detail lines replace an item; a total without lines becomes one line, unless the stored
        lines of the item already add up to it; a blank total keeps what is stored."""
        li, ll, la, ln_ = self.line_idx
        detail: dict[str, list] = {}
        for _row, vals in self.data.lines.get(no, ()):
            detail.setdefault(vals[li], []).append((vals[ll], vals[la], vals[ln_]))
        amounts = self.totals_of(hvals)
        if not detail and amounts.count(None) == len(amounts):
            return None
        out = {item: list(lines) for item, lines in base.items()} if base else {}
        for item, total in zip(INCOME_ITEMS, amounts, strict=True):
            if item in detail:
                out[item] = [ln for ln in detail[item] if ln[1] != 0 or ln[2]]
            elif total is not None:
                kept = out.get(item)
                if not kept or sum((ln[1] for ln in kept), ZERO) != total:
                    out[item] = [(self.total_line, total, None)] if total != 0 else []
        return out

    # ------------------------------------------------------------ new households (Core)

    HOUSEHOLD_COLUMNS = ("household_no", "phone", "a1_relocation_site", "a2_site_address", "a3_category",
                         "a4_poverty_alleviated", "a23_housing_unsafe", "a24_school_dropout", "a25_water_unsafe",
                         "a27_risk_types", "a27_other_note", "a27a_disaster_types", "monitoring_status",
                         "whole_no_labor_guarantee", "dibao_tier", "identified_on", "a53_removal_way", "a54_removed_on",
                         "a55_contact_person", "contact_phone", "after_dropout", "after_housing_damaged",
                         "after_medical_missing", "after_water_damaged", "after_a28", "after_a29", "after_a30",
                         "after_a31", "after_a32", "after_a33", "after_a34", "after_a35", "after_a36",
                         "petition", "policy_c2_cause_gone", "policy_c3_luxury_car",
                         "policy_c4_urban_home", "policy_c5_business", "policy_c6_public_servant",
                         "policy_c7_child_business", "policy_c8_child_support", "policy_e2_medical_burden",
                         "policy_e4_disaster", "policy_excluded_on")
    MEMBER_COLUMNS = ("name", "sex", "id_number", "relation", "ethnicity", "political", "education", "school",
                      "health", "disability_grade", "labor", "work_region", "work_months", "a17_medical",
                      "a18_serious_illness", "a19_pension", "a20_dibao", "a21_tekun", "a22_relocated", "status",
                      "status_date", "school_absence_reason", "work_place", "a17_resident_medical",
                      "a17_employee_medical", "a19_employee_pension", "a20_dibao_since", "a21_tekun_since",
                      "public_post_months", "phone", "health_since", "unemployed", "incapacitated", "studying_away")
    MEASURE_COLUMNS = ("category", "item", "start_date", "end_date", "amount", "responsible_unit",
                       "developmental_override")

    def insert_new(self, beside: Callable[[], None] | None = None) -> None:
        """The new households written. `beside`: work that touches no database, done while the indexes of a first
        import are built (_indexes_after); otherwise not done (the caller does it)."""
        if not self.plan.new:
            return
        with _indexes_after(self.s, len(self.plan.new), beside):
            self._insert_new()

    def _insert_new(self) -> None:
        nos = self.plan.new
        s = self.s
        H, M, MS = self.H, self.M, self.MS
        now = self.now
        hh_get = itemgetter(*(H.index(k) for k in self.HOUSEHOLD_COLUMNS))
        m_get = itemgetter(*(M.index(k) for k in self.MEMBER_COLUMNS))
        ms_get = itemgetter(*(MS.index(k) for k in self.MEASURE_COLUMNS))
        i_status = self.MEMBER_COLUMNS.index("status")
        i_relation = self.MEMBER_COLUMNS.index("relation")
        hh_names = ("id", "village_id", "group_id", "head_name", "size", *self.HOUSEHOLD_COLUMNS, "created_at",
                    "updated_at")
        m_names = ("id", "household_id", "seq", *self.MEMBER_COLUMNS, "created_at", "updated_at")
        ms_names = ("id", "household_id", "member_id", "raises_working_ability", *self.MEASURE_COLUMNS,
                    "developmental_note", "created_at", "updated_at")
        i_holder, i_id = MS.index("holder_id_number"), self.MEMBER_COLUMNS.index("id_number")
        ir_names = ("id", "household_id", "year", "signatures_collected", "origin", "source_file", "recorded_by",
                    "created_at", "updated_at")
        i_signed = H.index("signatures_collected")
        il_names = ("id", "record_id", "item", "line", "amount", "note")
        bound: dict = {}  # table → column → value → as stored, over the chunks (bulk_insert)
        hx = {k: i for i, k in enumerate(self.HOUSEHOLD_COLUMNS)}
        new_ids = self.new_ids
        for start in range(0, len(nos), CHUNK):
            hh_rows, m_rows, ms_rows, ir_rows, il_rows = [], [], [], [], []
            chunk = nos[start:start + CHUNK]
            incomes = [self.income_lines(no, self.data.households[no][1], None) for no in chunk]
            counts = {Household: len(chunk), Member: sum(len(self.data.members[no]) for no in chunk),
                      Measure: sum(len(self.data.measures.get(no, ())) for no in chunk),
                      IncomeRecord: sum(1 for x in incomes if x is not None),
                      IncomeLine: sum(len(x.get(item, ())) for x in incomes if x is not None for item in INCOME_ITEMS)}
            nxt = {m: iter(reserve_ids(s, m, n)).__next__ for m, n in counts.items()}
            for no, lines in zip(chunk, incomes, strict=True):
                _row, v = self.data.households[no]
                hid = new_ids[no] = nxt[Household]()
                vid, gid = self.place(v)
                size, head = 0, None
                ids: dict[str, int] = {}
                for seq, (_r, mv) in enumerate(self.data.members[no], 1):
                    fields = list(m_get(mv))
                    if fields[i_status] is None:
                        fields[i_status] = "normal"
                    mid = nxt[Member]()
                    m_rows.append((mid, hid, seq, *fields, now, now))
                    ids[fields[i_id]] = mid
                    if fields[i_status] == "normal":
                        size += 1
                        if head is None and fields[i_relation] == "01":
                            head = fields[0]
                h = list(hh_get(v))  # 是否脱贫户 and 整户兜底 stay None where the file does not say
                h[hx["a27_risk_types"]] = h[hx["a27_risk_types"]] or []
                h[hx["a27a_disaster_types"]] = h[hx["a27a_disaster_types"]] or []
                h[hx["monitoring_status"]] = h[hx["monitoring_status"]] or "none"
                hh_rows.append((hid, vid, gid, head, size, *h, now, now))
                for _r, mv in self.data.measures.get(no, ()):
                    holder = ids.get(mv[i_holder]) if mv[i_holder] is not None else None
                    values = list(ms_get(mv))
                    values[-1], note = self.override(values[0], values[1], values[-1])
                    ms_rows.append((nxt[Measure](), hid, holder, False, *values, note, now, now))
                if lines is not None:
                    rid = nxt[IncomeRecord]()
                    ir_rows.append((rid, hid, self.year, v[i_signed], "imported", self.source_file, self.user,
                                    now, now))
                    for item in INCOME_ITEMS:
                        for name, amount, note in lines.get(item, ()):
                            il_rows.append((nxt[IncomeLine](), rid, item, name, amount, note))
            for model, names, batch in ((Household, hh_names, hh_rows), (Member, m_names, m_rows),
                                        (Measure, ms_names, ms_rows), (IncomeRecord, ir_names, ir_rows),
                                        (IncomeLine, il_names, il_rows)):
                bulk_insert(s, model.__table__, names, batch, bound.setdefault(model, {}))
            self.households_new += len(hh_rows)
            self.members_new += len(m_rows)
            self.measures_new += len(ms_rows)
            self.income_records += len(ir_rows)
            self.tick(len(hh_rows), f"正在写入新户：{self.households_new:,} / {len(nos):,}")

    # ------------------------------------------------------------ existing households (ORM, audited)

    bulk = True  # existing households compared and written in bulk (update.py); False: the ORM reference path

    def coarse_status(self) -> bool:
        """The file's 监测状态 comes from 风险是否已消除 (a national list), not from a 监测状态 column."""
        hh_sheet = self.data.sheets["household"]
        return hh_sheet.has("risk_removed") and not hh_sheet.has("monitoring_status")

    def update_fields(self) -> tuple[list, list, ParsedSheet | None]:
        """The household and member columns the file can change, and its measure sheet (if any)."""
        hh_sheet = self.data.sheets["household"]
        h_fields = [c for c in self.H.columns
                    if hh_sheet.has(c.key) and c.key not in ("household_no", "province", "city", "county", "township",
                                                            "village", "group") and not c.computed
                    and not c.virtual and c.key not in INCOME_ITEMS and c.key != "signatures_collected"]
        if self.coarse_status():
            h_fields.append(self.H.column("monitoring_status"))  # derived from 风险是否已消除
        mem_sheet = self.data.sheets["member"]
        m_fields = [c for c in self.M.columns if mem_sheet.has(c.key) and c.key not in ("household_no", "id_number")
                    and not c.virtual]
        if (mem_sheet.has("a17_resident_medical") or mem_sheet.has("a17_employee_medical")
                or hh_sheet.has("a26_stated")) and not mem_sheet.has("a17_medical"):
            m_fields.append(self.M.column("a17_medical"))  # derived from the two national flags and A26
        return h_fields, m_fields, self.data.sheets.get("measure")

    @staticmethod
    def differs(stored, value) -> bool:
        return _differs(stored, value)

    def update_existing(self) -> None:
        """Existing households (same 户编号): only what the file changes is written, every changed field audited."""
        if not self.plan.existing:
            return
        if self.bulk:
            from .update import BulkUpdate
            BulkUpdate(self).run()
        else:
            self.update_existing_orm()

    def update_existing_orm(self) -> None:
        """The reference: household by household through the ORM, audited by the session hook of services.audit.
        The bulk path must give exactly its result (tests/services/test_exchange_bulk.py)."""
        from ..income import latest_record_ids
        from ..register import refresh_household
        existing = self.plan.existing
        if not existing:
            return
        s = self.s
        nos = list(existing)
        h_fields, m_fields, ms_sheet = self.update_fields()
        coarse = self.coarse_status()
        for start in range(0, len(nos), UPDATE_CHUNK):
            chunk = nos[start:start + UPDATE_CHUNK]
            ids = [existing[no] for no in chunk]
            rows = {h.id: h for h in s.scalars(select(Household).where(Household.id.in_(ids)))}
            members: dict[int, list[Member]] = defaultdict(list)
            for m in s.scalars(select(Member).where(Member.household_id.in_(ids)).order_by(Member.seq, Member.id)):
                members[m.household_id].append(m)
            measures: dict[int, list[Measure]] = defaultdict(list)
            if ms_sheet is not None:
                for m in s.scalars(select(Measure).where(Measure.household_id.in_(ids)).order_by(Measure.id)):
                    measures[m.household_id].append(m)
            standing = latest_record_ids(s, self.year, ids)
            for no in chunk:
                hh = rows[existing[no]]
                _row, v = self.data.households[no]
                for c in h_fields:
                    value = v[c.index]
                    if value is not None and _differs(getattr(hh, c.key), value) \
                            and not (c.key == "monitoring_status" and coarse and keeps_status(hh.monitoring_status,
                                                                                              value)):
                        setattr(hh, c.key, value)
                vid, gid = self.place(v)
                if vid is not None and vid != hh.village_id:
                    hh.village_id = vid
                    hh.group_id = gid
                elif gid is not None and gid != hh.group_id:
                    hh.group_id = gid
                by_number = self._members(hh, members[hh.id], no, m_fields)
                if ms_sheet is not None:
                    self._measures(hh, measures[hh.id], no, ms_sheet, by_number)
                self._income(hh, v, no, standing.get(hh.id))
            s.flush()
            for hid in ids:
                refresh_household(s, rows[hid])
            s.flush()
            s.expunge_all()
            self.tick(len(chunk), f"正在更新已有户：{min(start + UPDATE_CHUNK, len(nos)):,} / {len(nos):,}")

    def _members(self, hh: Household, stored: list[Member], no: str, fields: list) -> dict[str, Member]:
        M = self.M
        by_number: dict[str, Member] = {}
        for m in stored:
            by_number.setdefault(normalize_id(m.id_number), m)
        seq = max((m.seq for m in stored), default=0)
        for _row, mv in self.data.members[no]:
            number = mv[M.index("id_number")]
            row = by_number.get(number)
            if row is None:
                seq += 1
                row = Member(household_id=hh.id, seq=seq, id_number=number,
                             status=mv[M.index("status")] or "normal")
                for c in fields:
                    if c.key != "status" and mv[c.index] is not None:
                        setattr(row, c.key, mv[c.index])
                self.s.add(row)
                by_number[number] = row
                self.members_new += 1
                continue
            self.members_updated += 1
            old_status = row.status
            changes = {}
            for c in fields:
                value = mv[c.index]
                if value is not None and _differs(getattr(row, c.key), value):
                    changes[c.key] = value
            drop_implied_flags(changes, lambda key, row=row: getattr(row, key))
            for key, value in changes.items():
                setattr(row, key, value)
            if row.status != old_status:
                if mv[M.index("status_date")] is None:
                    row.status_date = self.as_of
                self.s.flush()
                self.s.add(MemberEvent(household_id=hh.id, member_id=row.id, kind=STATUS_EVENT[row.status],
                                       event_date=row.status_date or self.as_of, note="Excel 导入",
                                       recorded_by=self.user))
        return by_number

    def _measures(self, hh: Household, stored: list[Measure], no: str, ms_sheet: ParsedSheet,
                  members: dict[str, Member]) -> None:
        MS = self.MS
        keyed = StoredMeasures(stored, lambda m: (m.category, m.item, m.start_date))
        fields = [c for c in MS.columns if ms_sheet.has(c.key) and c.key not in ("household_no", "category", "item",
                                                                               "start_date", "holder_id_number")]
        i_holder = MS.index("holder_id_number")
        if any(mv[i_holder] is not None for _r, mv in self.data.measures.get(no, ())):
            self.s.flush()  # members added just now get their ids
        for _row, mv in self.data.measures.get(no, ()):
            key = (mv[MS.index("category")], mv[MS.index("item")], mv[MS.index("start_date")])
            row = keyed.find(key)
            holder = members.get(mv[i_holder]) if mv[i_holder] is not None else None
            if row is not None and holder is not None and row.member_id is None:
                row.member_id = holder.id
            if row is None:
                row = Measure(household_id=hh.id, category=key[0], item=key[1], start_date=key[2],
                              member_id=holder.id if holder is not None else None)
                for c in fields:
                    setattr(row, c.key, mv[c.index])
                row.developmental_override, row.developmental_note = self.override(
                    row.category, row.item, row.developmental_override)
                self.s.add(row)
                keyed.add(key, row)
                self.measures_new += 1
                continue
            changed = False
            for c in fields:
                value = mv[c.index]
                if c.key == "developmental_override":
                    value, note = self.override(row.category, row.item, value)
                    if value is not None and row.developmental_override != value:
                        row.developmental_note = note
                if value is not None and getattr(row, c.key) != value:
                    setattr(row, c.key, value)
                    changed = True
            self.measures_updated += changed

    def override(self, category: str, item: str | None, value: bool | None) -> tuple[bool | None, str | None]:
        """An imported 是否开发式 (SPEC §3: an override of the default carries a note): equal to the default
        of the item it is no override; otherwise the override's note names the file it came from."""
        if value is None or value == rules.is_developmental(category, item):
            return None, None
        return value, f"Excel 导入“{self.source_file}”标明{'是' if value else '不是'}开发式帮扶"

    def _income(self, hh: Household, v: list, no: str, record_id: int | None) -> None:
        s = self.s
        record = s.get(IncomeRecord, record_id) if record_id is not None else None
        stored_lines = list(s.scalars(select(IncomeLine).where(IncomeLine.record_id == record.id)
                                      .order_by(IncomeLine.id))) if record is not None else []
        base: dict[str, list] = defaultdict(list)
        for ln in stored_lines:
            base[ln.item].append((ln.line, ln.amount, ln.note))
        wanted = self.income_lines(no, v, base)
        if wanted is None:
            return
        created = record is None or record.quarter is not None
        if created:
            # A dated record stands for the year over an undated one: the annual record made here
            # must stand over the quarterly collection it replaces.
            dated = record.collected_on if record is not None else None
            record = IncomeRecord(household_id=hh.id, year=self.year,
                                  collected_on=max(dated, self.as_of) if dated is not None else None,
                                  origin="imported", source_file=self.source_file, recorded_by=self.user)
            s.add(record)
            s.flush()
            stored_lines = []
        by_item: dict[str, list[IncomeLine]] = defaultdict(list)
        for ln in stored_lines:
            by_item[ln.item].append(ln)
        changed = created
        signed = v[self.H.index("signatures_collected")]
        if signed is not None and record.signatures_collected != signed:
            record.signatures_collected = signed
            changed = True
        for item in INCOME_ITEMS:
            now = [(ln.line, ln.amount, ln.note) for ln in by_item.get(item, ())]
            if now == wanted.get(item, []):
                continue
            changed = True
            record.origin, record.source_file, record.recorded_by = "imported", self.source_file, self.user
            for ln in by_item.get(item, ()):
                s.delete(ln)
            for name, amount, note in wanted.get(item, ()):
                s.add(IncomeLine(record_id=record.id, item=item, line=name, amount=amount, note=note))
        self.income_records += changed
