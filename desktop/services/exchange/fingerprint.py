"""Re-importing a county file without reading again what has not changed since the last import (issue 20).

A county re-imports its whole file every month; most households are as they were. Reading and converting every
cell costs more than the target for the whole re-import, so the rows of an unchanged household are recognised in
the worksheet's XML itself, before anything is converted:

- Each sheet that holds households (the national one-row-a-person sheets; ours: 户信息, 家庭成员, 帮扶措施, 收入明细)
  is cut into rows on the guards' own pass over it (Tap, fed by measure._scan_sheet through Book.tap; a sheet the
  tap could not follow is streamed once more, with the same limits). A row's bytes are made independent of its
  place — the row number in `<row r=…>` and in each cell reference are removed, the column letters kept — and
  hashed; the rows are grouped by the 户编号 cell as the XML holds it (a shared-string index, a number or an inline
  string). A household's fingerprint covers all its rows on every sheet, in order.
- Rows refer to the shared strings and styles by index, so they are comparable only while those parts (and the
  workbook part: sheet names, visibility, 1904 dates) are byte for byte the same: the file digest. Otherwise
  nothing is skipped (the whole file is read as before) and the new file's fingerprints are stored.
- The last import stores, per household, the fingerprint, the 户编号 cell, the counts the preview and summary show,
  its members' ID numbers, and whether the import said anything about it (noted) — all households packed into one
  value (pack) — and where its own audit entries lie.

A household is skipped at a re-import — its rows are not converted, compared or written — only when its
fingerprint and 户编号 cell are those stored, the file digest, year and header rows are those of the last import,
the last import noted nothing about it, it is still the same household in the database, and the audit log holds
no entry since that import that names it or that names none on a register table. Every byte of the file still
goes through the guards (measure.py) first. Anything the shortened read could answer differently from the whole
one — any error, a household number or ID number shared with a skipped household, a header in another place — and
the file is read whole instead (importer._preview). Writes that bypass the program (no audit entry) are not seen.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
import zlib
from collections import namedtuple
from dataclasses import dataclass
from typing import Callable, Iterator

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ...models import AppSetting, AuditEntry, Household, ImportFingerprint
from .. import access
from ..db import among
from .measure import LIMITS, _Stream, col_letters
from .reader import _DIMENSION_TAG, _SHEET_DATA
from .rowcut import _AGAIN, RowKeys, Scan, Tap, _key, _NotPlain, _rows_of

RUN_KEY = "import_fingerprint_run"
STORED = ("household_no", "household_id", "rawkey", "digest", "noted", "members", "measures", "lines", "income",
          "ids")  # what store() keeps of each household (pack), in the order of states()' rows
State = namedtuple("State", STORED)  # one household as the last import stored it
REGISTER_TABLES = frozenset({"household", "member", "member_event", "measure", "income_record", "income_line",
                             "region"})
FILE_PARTS = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml", "xl/styles.xml")
_NUM = re.compile(rb'( r="[A-Z]{0,3})\d+"')


@dataclass
class Prior:
    """What the last import stored, as it bears on this one."""

    run: dict
    states: dict[bytes, State]  # by 户编号 cell
    touched: set[int] | None  # households written since the last import (None: anything may have been)
    ids: dict[str, int]  # household number → id, as the database holds them now


@dataclass
class Shortcut:
    """A file read with its unchanged households left out."""

    scan: Scan
    skipped: dict[str, State]  # household number → its stored state


# ---------------------------------------------------------------- the file

def _file_digest(z: zipfile.ZipFile, parts: dict[str, str], sheets: dict[str, tuple[int, str]], year: int) -> bytes:
    h = hashlib.blake2b(digest_size=32)
    h.update(json.dumps([year, sorted(sheets.items()), sorted(parts.items())], ensure_ascii=False).encode())
    names = set(z.namelist())
    for name in FILE_PARTS:
        h.update(b"\0part " + name.encode())
        if name in names:
            with z.open(name) as f:
                while True:
                    piece = f.read(8 << 20)
                    if not piece:
                        break
                    h.update(piece)
    return h.digest()


def scan(book, sheets: dict[str, tuple[int, str]], year: int, first_on: str | None,
         hold: Callable[[bytes], bool] | None = None, last_digest: str | None = None) -> Scan | None:
    """Cut and fingerprint the rows of `sheets` (sheet → header row, 户编号 column letters). None when the file is not
    an .xlsx written as Excel writes it, or a sheet is read row by row (sparse): then nothing is skipped.
    `hold(key)`: the household's rows are read whatever its fingerprint (kept here, so that only the households
    whose fingerprint alone differs need a second pass, reduced()); not when the file's digest is not `last_digest`
    (the last import's): then nothing is skipped and every household is read anyway.
    The rows are cut on the guards' own pass over each sheet (Book.tap, measure._scan_sheet) when the book has a tap
    that saw them under these columns; otherwise the sheets are read once more here."""
    if book.kind != "xlsx" or not sheets:
        return None
    parts = {name: book._zip_parts.get(name) for name in sheets}
    if any(p is None for p in parts.values()):
        return None
    with zipfile.ZipFile(book.path) as z:
        digest = _file_digest(z, parts, sheets, year)
    if last_digest is not None and digest.hex() != last_digest:
        hold = None
    tap = getattr(book, "tap", None)
    if tap is not None and not any(name in book._scans for name in sheets):
        tap.arm(hold, sheets)  # (the guards have not read these sheets yet: their pass below feeds the tap)
    if any(book.is_sparse(name) for name in sheets):
        return None  # (is_sparse: the guards' scan of every sheet, before any of its bytes is read here)
    order = [sh.name for sh in book.sheets if sh.name in sheets]
    if tap is not None:
        book.tap = None  # (what it kept is grouped now, or of no use: a sheet under another column)
        got = tap.scan(sheets, order, digest, first_on, hold)
        if got is not _AGAIN:
            return got
    tap = Tap({letters for _h, letters in sheets.values()})
    tap.arm(hold, sheets)
    with zipfile.ZipFile(book.path) as z:
        for name in order:
            feed = tap(name)
            for piece in _pieces(z, book, name, parts[name]):
                feed(piece)
    return tap.scan(sheets, order, digest, first_on, hold)


def candidates(program: bool) -> set[str]:
    """The columns where 户编号 stands in the files this program (`program`: each sheet's first column, layout.py)
    or the national system writes (its place in §9.1)."""
    from .layout import national_columns, sheets
    out = set()
    if program:
        for sh in sheets().values():
            for i, col in enumerate(sh.columns):
                if col.key == "household_no":
                    out.add(col_letters(i + 1))
        return out
    for i, nc in enumerate(national_columns()):
        if nc.sheet == "household" and nc.key == "household_no":
            out.add(col_letters(i + 1))
    return out


def _pieces(z, book, name: str, part: str):
    info = z.getinfo(part)
    return _Stream(z, info, f"工作表“{name[:40]}”", getattr(book, "limits", LIMITS), b"</row>")


def _row_key(number: bytes, row: bytes, canon: bytes | None, letters: bytes) -> bytes | None:
    if canon is not None:
        return _key(canon, b'<c r="' + letters + b'"')
    return _key(row, b'<c r="' + letters + number + b'"')


def reduced(book, sc: Scan, skip: set[bytes]) -> _Subset:
    """The file with the rows of the skipped households taken out of their sheets, the rows kept numbered 1, 2 … (so
    that calamine's grid stays as small as the rows) and their own numbers remembered. The rows scan() held are
    used as they are; the sheets are read a second time only for households whose fingerprint alone differs."""
    late = {k for k in sc.groups if k not in skip and k not in sc.holds}
    buf = io.BytesIO()
    maps: dict[str, list[int]] = {}
    sheet_parts = {book._zip_parts[name]: name for name in sc.sheets}
    with zipfile.ZipFile(book.path) as z, zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as out:
        for info in z.infolist():
            name = sheet_parts.get(info.filename)
            if name is None:
                if info.filename.lower().endswith((".xml", ".rels")):
                    out.writestr(info.filename, z.read(info))
                continue
            col = sc.sheets[name][1].encode()
            kept = list(sc.held.get(name, ()))
            head = None
            for piece in _pieces(z, book, name, info.filename):
                if head is None:
                    m = _SHEET_DATA.search(piece)
                    if m is None:
                        raise _NotPlain
                    head = _DIMENSION_TAG.sub(b"", piece[:m.end()])
                    if not late:
                        break
                for number, row, canon in _rows_of(piece):
                    key = _row_key(number, row, canon, col)
                    if key is not None and key in late:
                        kept.append((int(number), number, row, canon is not None, True))
            if head is None:
                out.writestr(info.filename, z.read(info))
                continue
            kept.sort(key=lambda r: r[0])
            numbers: list[int] = []
            body: list[bytes] = []
            for n, number, row, plain, _keyed in kept:
                numbers.append(n)
                new = str(len(numbers)).encode()
                if plain:
                    at = row.find(b">") + 1
                    body.append(row[:at].replace(b' r="' + number + b'"', b' r="' + new + b'"', 1)
                                + row[at:].replace(number + b'"', new + b'"') + b"</row>")
                else:
                    got, count = _NUM.subn(lambda m, new=new: m.group(1) + new + b'"', row)
                    if count != row.count(b'<c r="') + 1:
                        raise _NotPlain  # a text holding ' r="…"': no shortcut for this file
                    body.append(got + b"</row>")
            maps[name] = numbers
            out.writestr(info.filename, head + b"".join(body) + b"</sheetData></worksheet>")
    sc.held = {}  # (now in the shortened workbook)
    return _Subset(buf.getvalue(), maps)


class _Subset:
    """The rows of the shortened sheets, read by calamine, numbered as in the file."""

    def __init__(self, data: bytes, maps: dict[str, list[int]]):
        self.data, self.maps, self._wb = data, maps, None

    def rows(self, name: str):
        from python_calamine import CalamineWorkbook

        from .reader import _calamine_rows
        if self._wb is None:
            self._wb = CalamineWorkbook.from_filelike(io.BytesIO(self.data))
        numbers = self.maps[name]
        for n, row in _calamine_rows(self._wb.get_sheet_by_name(name)):
            if n <= len(numbers):
                yield numbers[n - 1], row

    def close(self) -> None:
        if self._wb is not None:
            try:
                self._wb.close()
            except Exception:  # noqa: BLE001 - closing twice is harmless
                pass
            self._wb = None
        self.data = b""


# ---------------------------------------------------------------- the last import

def load(session: Session, year: int, user) -> Prior | None:
    """What the last import stored, if a re-import of `year` by this user may skip anything at all."""
    access.logged_in(session)
    if user is None or user.village_ids is not None:
        return None  # a village clerk's import checks each household's village: read whole
    raw = session.scalar(select(AppSetting.value).where(AppSetting.key == RUN_KEY))
    if not raw:
        return None
    try:
        run = json.loads(raw)
    except ValueError:
        return None
    if run.get("year") != year or run.get("program") != _program(session):
        return None  # another year, or another version of the program converted the last import: read whole
    touched = _touched(session, run)
    if touched is None:
        return None
    blob = session.scalar(select(ImportFingerprint.data).where(ImportFingerprint.id == 1))
    try:
        states = {st.rawkey: st for st in unpack(blob)} if blob else None
    except (ValueError, KeyError, TypeError, zlib.error):
        states = None  # (written by something else: read whole, and the import stores it anew)
    if not states:
        return None
    ids = dict(session.execute(select(Household.household_no, Household.id)).all())
    return Prior(run, states, touched, ids)


def _program(session: Session) -> str:
    """The program's version and its schema: what the stored households were converted and written by. After an
    upgrade (a conversion corrected, a migration that rewrote register rows without audit entries) nothing is
    skipped."""
    from ... import __version__
    from ..db import head_revision
    return f"{__version__} {head_revision(session.get_bind())}"


def _touched(session: Session, run: dict) -> set[int] | None:
    """Households written since the last import, from the audit log (its own entries aside); None when an entry on a
    register table names no household (a bulk write, a village renamed) or the last import's entries are not found."""
    start, count, text = run.get("audit_from"), run.get("audit_count"), run.get("summary")
    if start is None or not count:
        return None
    own = session.scalar(select(func.min(AuditEntry.id)).where(AuditEntry.id > start, AuditEntry.action == "import",
                                                                AuditEntry.new == text))
    if own is None:
        return None
    first = own - count + 1
    out: set[int] = set()
    for hid in session.scalars(select(AuditEntry.household_id).where(  # (not the import's own entries: many)
            AuditEntry.id > start, ~AuditEntry.id.between(first, own), AuditEntry.table_name.in_(REGISTER_TABLES))):
        if hid is None:
            return None
        out.add(hid)
    return out


def skippable(prior: Prior, sc: Scan) -> dict[bytes, State]:
    """The file's households that need not be read: 户编号 cell → stored state."""
    if prior.run.get("digest") != sc.file_digest.hex():
        return {}
    hold = holder(prior)
    return {key: prior.states[key] for key, digest in sc.groups.items()
            if key not in sc.poisoned and not hold(key) and prior.states[key].digest == digest}


def holder(prior: Prior) -> Callable[[bytes], bool]:
    """Whether a household (by its 户编号 cell) is read whatever its fingerprint: nothing stored for it, or noted,
    or written since, or no longer that household in the database."""
    states, touched, ids = prior.states, prior.touched, prior.ids

    def hold(key: bytes) -> bool:
        st = states.get(key)
        return st is None or st.noted or st.household_id in touched or ids.get(st.household_no) != st.household_id
    return hold


def order(sc: Scan, keys_to_no: dict[bytes, str]) -> list[str]:
    """Household numbers in the order of their first row (on 户信息 for ours, on any sheet for the national)."""
    out: dict[str, None] = {}
    sheets = [sc.first_on] if sc.first_on else list(sc.rows)
    for name in sheets:
        for _n, key in sc.rows.get(name, RowKeys()).items():
            no = keys_to_no.get(key)
            if no is not None:
                out.setdefault(no)
    return list(out)


# ---------------------------------------------------------------- after an import

def rows_of(data) -> Iterator[tuple[str, list[tuple[str, int]]]]:
    """Each household number with its (sheet, row) of every sheet read, as the file numbers them: the households in the
    order read, then the numbers that only other sheets name. One household's list at a time (a county's million rows
    as tuples all at once were 90 MB more at the import's peak, while its indexes are built)."""
    names = {key: ps.name for key, ps in data.sheets.items()}
    targets = (("member", data.members), ("measure", data.measures), ("income_line", data.lines))

    def rows(no: str, first: list) -> list[tuple[str, int]]:
        for key, target in targets:
            for row, _v in target.get(no, ()):
                first.append((getattr(row, "sheet", None) or names.get(key, ""), int(row)))
        return first

    for no, (row, _v) in data.households.items():
        yield no, rows(no, [(getattr(row, "sheet", None) or names["household"], int(row))])
    seen = data.households.keys()
    for i, (_name, target) in enumerate(targets):
        for no in target:
            if no not in seen and not any(no in other for _k, other in targets[:i]):
                yield no, rows(no, [])


def states(data, sc: Scan, household_ids: dict[str, int]) -> dict[str, tuple]:
    """What to store for each household of `data` (those read), a row in the order of STORED. When the file as a whole
    said something that may come from any row (hidden rows or columns, removed characters), every household is noted."""
    from .layout import sheet
    everything = any(ps.hidden_rows or ps.hidden_columns or ps.stripped for ps in data.read)
    M, MS = sheet("member"), sheet("measure")
    i_id, i_status = M.index("id_number"), M.index("status")
    i_cat, i_item, i_start = MS.index("category"), MS.index("item"), MS.index("start_date")
    H = sheet("household")
    from .layout import INCOME_ITEMS
    items = [H.index(item) for item in INCOME_ITEMS]
    noted_nos = getattr(data, "noted", set())
    key_of: dict[str, bytes | None] = {}  # household number → the one 户编号 cell its rows are under (None: not one)
    owner: dict[bytes, str] = {}  # 户编号 cell → the first household read with a row under it
    shared: set[bytes] = set()  # … and the cells under which rows of two households were read
    counted: dict[str, int] = {}
    nowhere = RowKeys()
    for no, rows in rows_of(data):
        distinct = set(rows)
        keys = {sc.rows.get(sheet_name, nowhere).get(row) for sheet_name, row in distinct}
        for key in keys:
            if owner.setdefault(key, no) != no:
                shared.add(key)
        key_of[no] = next(iter(keys)) if len(keys) == 1 else None
        counted[no] = len(distinct)
    out = {}
    for no, (_row, hv) in data.households.items():
        hid = household_ids.get(no)
        if hid is None:
            continue
        key = key_of.get(no)
        members = data.members.get(no, [])
        measures = data.measures.get(no, [])
        noted = everything or no in noted_nos or key is None or key in sc.poisoned or key in shared \
            or sc.sizes.get(key) != counted[no]
        ids = []
        for _r, mv in members:
            number = mv[i_id]
            if number is None:
                noted = True
                continue
            ids.append(number + ("*" if mv[i_status] in (None, "normal") else ""))
        keys3 = [(mv[i_cat], mv[i_item], mv[i_start]) for _r, mv in measures]
        if len(set(keys3)) != len(keys3):
            noted = True  # two rows of one measure: their updates depend on each other
        lines = data.lines.get(no, [])
        income = bool(lines) or any(hv[i] is not None for i in items)
        out[no] = (no, hid, key or b"", sc.digest(key) if key is not None else b"", noted, len(members),
                   len(measures), len(lines), income, ",".join(ids))  # a row, not an ORM object (20,000 of them)
    return out


def store(session: Session, data, sc: Scan | None, skipped: dict[str, State], year: int,
          audit_from: int, audit_count: int, summary: str, packed: bytes | None = None) -> None:
    """After the writes of an import, in its transaction: the fingerprints of the households read and those of the
    skipped ones, packed into one value that replaces the last import's; where this import's audit entries lie. No
    scan (a file that is not plain XML, a CSV): nothing stored, and the next import reads whole. `packed`: that
    value made already (packed(), with the ids of every household read: a first import's, while its indexes were
    built)."""
    access.logged_in(session)
    T = ImportFingerprint.__table__
    conn = session.connection()
    run_exists = session.scalar(select(func.count()).select_from(AppSetting).where(AppSetting.key == RUN_KEY))
    conn.execute(delete(T))
    if sc is None:
        if run_exists:
            conn.execute(delete(AppSetting.__table__).where(AppSetting.__table__.c.key == RUN_KEY))
        return
    if packed is None:
        ids = dict(session.execute(select(Household.household_no, Household.id)
                                   .where(among(Household.household_no, data.households))).all())
        packed = packed_states(data, sc, skipped, ids)
    conn.execute(T.insert().values(id=1, data=packed))
    run = json.dumps({"year": year, "program": _program(session), "digest": sc.file_digest.hex(),
                      "sheets": sc.sheets, "first_on": sc.first_on,
                      "audit_from": audit_from, "audit_count": audit_count, "summary": summary}, ensure_ascii=False)
    A = AppSetting.__table__
    if run_exists:
        conn.execute(A.update().where(A.c.key == RUN_KEY).values(value=run))
    else:
        conn.execute(A.insert().values(key=RUN_KEY, value=run))


def packed_states(data, sc: Scan, skipped: dict[str, State], household_ids: dict[str, int]) -> bytes:
    """What store() keeps: the states of the households read (those in `household_ids`, the ids they are stored under)
    and of the skipped ones, packed. Touches no database."""
    fresh = states(data, sc, household_ids)
    rows = list(fresh.values())
    rows.extend(tuple(st) for no, st in skipped.items() if no not in fresh)
    return pack(rows)


def pack(rows: list[tuple]) -> bytes:
    """Households' states (rows in the order of STORED) as one value: JSON by column, zlib-compressed. The 户编号
    cells and digests are bytes: as latin-1 text and hex."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(STORED)
    c = dict(zip(STORED, cols, strict=True))
    doc = {"v": 1, "household_no": c["household_no"], "household_id": c["household_id"],
           "rawkey": [k.decode("latin-1") for k in c["rawkey"]], "digest": [d.hex() for d in c["digest"]],
           "noted": "".join("1" if x else "0" for x in c["noted"]), "members": c["members"],
           "measures": c["measures"], "lines": c["lines"], "income": "".join("1" if x else "0" for x in c["income"]),
           "ids": c["ids"]}
    return zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 1)


def unpack(blob: bytes) -> list[State]:
    doc = json.loads(zlib.decompress(blob))
    if doc.get("v") != 1:
        raise ValueError("another packing")
    cols = [doc["household_no"], doc["household_id"], [k.encode("latin-1") for k in doc["rawkey"]],
            [bytes.fromhex(d) for d in doc["digest"]], [x == "1" for x in doc["noted"]], doc["members"],
            doc["measures"], doc["lines"], [x == "1" for x in doc["income"]], doc["ids"]]
    if len({len(col) for col in cols}) > 1:
        raise ValueError("columns of different lengths")
    return [State._make(row) for row in zip(*cols, strict=True)]


def key_sheets(data) -> dict[str, tuple[int, str]]:
    """The sheets read whose rows carry 户编号: sheet → (header row, the column's letters)."""
    out = {}
    for ps in data.read:
        col = getattr(ps, "key_column", None)
        if ps.header_row is not None and col is not None:
            out[ps.name] = (int(ps.header_row), col_letters(col + 1))
    return out
