"""Issue 19 problem 6: on 20,000 households no page switch or action stalls the window for more than 200 ms.

A watchdog timer ticks every 10 ms on the GUI thread; a gap between two ticks is time the window could not repaint
or react. Everything slow must run on the operations worker (views/operations.py); what the GUI thread does itself
(the switch, the action, showing the worker's result) must stay under 200 ms.

Known limit, measured and printed but not asserted: while the worker computes, the GUI thread must win the GIL
back, and SQLAlchemy's compiled row processing holds it for long stretches; on a loaded machine gaps of
200–400 ms occur then (see the report of issue 19). Gaps during which the worker ran are listed as
`while_worker_ran`. The GUI thread's own work (each action, each result shown) is timed directly as thread CPU
time and must stay under 200 ms.

A gap without the worker is also measured as the GUI thread's own time: the wall-clock gap less the time the
thread was ready to run but waited for a core (Linux's /proc/thread-self/schedstat), which is what a busy machine
adds. What is left is time the thread computed, slept or waited for something itself (a sleep, a lock, a file):
it must stay under 400 ms. Where the kernel does not say (not Linux), the wall-clock gap must stay under a
second.

Gaps while the worker computed are measured the same way and must stay under a second of the GUI thread's own
time: the long ones (0.3–1.3 s) were Python's full garbage collections on the worker, holding the GIL (measured
with gc.callbacks); views/operations.py now leaves the full collection for an idle moment (install_gc_policy, as
the program does at start). On a machine that is not oversubscribed (load average at most one per CPU) every
wall-clock gap, with or without the worker, must stay under 200 ms."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy
from PySide6.QtCore import QTimer

from desktop import app as desktop_app
from desktop.services import auth, demo, keys, regions, settings
from desktop.services import db as dbmod
from desktop.services.context import AppContext
from desktop.services.db import init_db, sqlite_url
from desktop.views.operations import Operation, install_gc_policy, operations
from tests import dbserver
from tests.bulk_rows import raw_bulk_inserts
from tests.conftest import TEST_KEY, copy_template

pytestmark = pytest.mark.slow(seconds=60)  # started first (tests/conftest.py)
AS_OF = date(2024, 11, 20)
LIMIT_MS = 200    # the GUI thread's own work per action or result shown (thread CPU time)
FREEZE_MS = 1000  # any wall-clock gap without the worker: a freeze like the 53 s of 预警中心 before issue 19
OWN_FREEZE_MS = 400  # a gap without the worker less the waits for a core: the window's own freeze


def runqueue_wait_ms() -> float | None:
    """How long the calling thread has waited, ready to run, for a core (ms since it started); None off Linux."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e6
    except (OSError, ValueError, IndexError):
        return None


HOUSEHOLDS, SEED = 20000, 1
CACHE = Path(os.environ.get("FANPIN_TEST_CACHE") or Path(tempfile.gettempdir()) / "fanpin-tests")
KEEP_DAYS = 2  # cached databases of other sources (other branches, older commits) are removed after this


def _source_key() -> str:
    """What the generated database depends on: the migrations, the models, the services (demo and all it calls),
    the code tables, SQLAlchemy, and this fixture's own steps and parameters. Any change there builds it again."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256(f"{HOUSEHOLDS} {SEED} {AS_OF} {sqlalchemy.__version__} {auth.SCRYPT_N}".encode())
    files = [*sorted((root / "desktop").glob("migrations/**/*.py")), *sorted((root / "desktop").glob("models/**/*.py")),
             *sorted((root / "desktop").glob("services/**/*.py")), *sorted((root / "resources").glob("*.json"))]
    for f in files:
        digest.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    for f in (root / "tests" / "bulk_rows.py", ):
        digest.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    digest.update(inspect.getsource(_generate).encode() + inspect.getsource(_fill).encode())
    return digest.hexdigest()[:16]


def _generate(path: Path, template: Path) -> None:
    copy_template(template, path)  # encrypted under the test key, with its key file
    db = init_db(sqlite_url(path), key=TEST_KEY)
    _fill(db)
    db.dispose()  # checkpoints the WAL: the main file is the whole database


def _fill(db, households: int = HOUSEHOLDS, shortcut: bool = True) -> None:
    _township(db)
    _demo(db, households, shortcut)


def _township(db) -> None:
    with db.session(bootstrap="test") as s:
        regions.init_township(s, "演示镇", county="演示县")
        auth.create_user(s, "admin", "管理员", "admin", "Jx-adm-2024")
        s.commit()


def _demo(db, households: int, shortcut: bool) -> None:
    with db.session() as s:
        user = auth.authenticate(s, "admin", "Jx-adm-2024")
        s.commit()
    with db.session(user) as s, (raw_bulk_inserts(s) if shortcut else contextlib.nullcontext()):
        demo.generate(s, households, seed=SEED, year=2024, as_of=AS_OF)  # the shortcut: the same rows, 2 s less
        s.commit()


@pytest.fixture(scope="session")
def big_database(migrated_template):
    """20,000 generated households (10 s of demo.generate), kept between runs in the temporary folder under a key
    of everything that makes them; each test works on its own copy (big_ctx). On PostgreSQL: generated once per
    test process into a database copied from the migrated template (about 30 s), each test working on a copy of
    that database (CREATE DATABASE … TEMPLATE)."""
    if dbserver.ON_POSTGRES:
        name = dbserver.server().new_name("big")
        db = init_db(dbserver.server().create(name, template=migrated_template.name))
        _fill(db)
        db.dispose()
        yield name
        dbserver.server().drop(name)
        return
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"big-{_source_key()}.sqlite3"
    if not path.exists():
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial")
        _generate(partial, migrated_template)
        os.replace(keys.key_path(partial), keys.key_path(path))
        os.replace(partial, path)  # whole or not at all, also with two runs at once
    for old in CACHE.glob("big-*"):
        if old != path and time.time() - old.stat().st_mtime > KEEP_DAYS * 86400:
            old.unlink(missing_ok=True)
    os.utime(path)
    yield path


def _stored(db) -> dict[str, list[tuple]]:
    """Every table's rows as SQLite stores them: each value with its storage class (typeof), in rowid order."""
    with db.engine.connect() as conn:
        tables = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table' "
                                      "AND name NOT LIKE 'sqlite_%' ORDER BY name").scalars().all()
        out = {}
        for t in tables:
            cols = [r[1] for r in conn.exec_driver_sql(f'PRAGMA table_info("{t}")')]
            picks = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
            out[t] = [tuple(r) for r in conn.exec_driver_sql(f'SELECT {picks} FROM "{t}" ORDER BY rowid')]
    return out


@pytest.mark.skipif(dbserver.ON_POSTGRES, reason="the shortcut is SQLite's (qmark executemany); PostgreSQL builds "
                                                 "through SQLAlchemy")
def test_the_raw_bulk_inserts_store_what_sqlalchemy_stores(migrated_template, tmp_path, monkeypatch):
    """big_database's shortcut (tests/bulk_rows.py) against SQLAlchemy's own inserts: 300 households built both ways
    from the same start give the same tables, value for value and storage class for storage class (dates as ISO
    text, money as integer fen, booleans as 0/1, JSON as text); only the clock is fixed for both."""
    from tests import bulk_rows

    start = tmp_path / "start.sqlite3"
    copy_template(migrated_template, start)
    db = init_db(sqlite_url(start), key=TEST_KEY)
    _township(db)
    db.dispose()
    monkeypatch.setattr(demo, "utcnow", lambda: datetime(2024, 11, 20, 9, 30, 15, 123456))  # the rows' timestamps
    stored, written = {}, {}
    for shortcut in (False, True):
        path = tmp_path / f"{shortcut}.sqlite3"
        copy_template(start, path)
        db = init_db(sqlite_url(path), key=TEST_KEY)
        before = dict(bulk_rows.stats)
        tables = set(bulk_rows.tables)
        _demo(db, 300, shortcut=shortcut)
        taken = {k: v - before[k] for k, v in bulk_rows.stats.items()}
        written[shortcut] = bulk_rows.tables - tables if shortcut else set()
        # with the shortcut every bulk insert took it: regions, the six tables of a round, the cases, steps and clues
        assert taken == ({"raw": 10, "declined": 0} if shortcut else {"raw": 0, "declined": 0}), taken
        stored[shortcut] = _stored(db)
        db.dispose()
    slow, fast = stored[False], stored[True]
    assert written[True] >= {"region", "household", "member", "income_record", "income_line", "measure"}
    for table in written[True]:
        assert len(slow[table]) > 0 and fast[table] == slow[table], table
    # The other tables (the audit log, the data version, the log-in) are written by SQLAlchemy both ways: their
    # timestamps differ, their rows are as many.
    assert {t: len(rows) for t, rows in fast.items()} == {t: len(rows) for t, rows in slow.items()}


@pytest.fixture
def big_ctx(big_database, tmp_path, monkeypatch):
    # The program's own engine, with its own dialect and statement cache, as the program runs: not the one the
    # suite's other SQLite databases share (tests/conftest.py), whose cache other tests have filled.
    monkeypatch.setattr(dbmod, "create_engine", sqlalchemy.create_engine)
    if dbserver.ON_POSTGRES:
        copy = dbserver.server().new_name("bigcopy")
        db = init_db(dbserver.server().create(copy, template=big_database))
        db.test_dbname = copy  # dropped by dbserver.release
    else:
        path = tmp_path / "big.sqlite3"
        copy_template(big_database, path)
        db = init_db(sqlite_url(path), key=TEST_KEY)
    with db.session() as s:
        user = auth.authenticate(s, "admin", "Jx-adm-2024")
        s.commit()
    with db.session(user) as s:
        year = settings.current_year(s)
    yield AppContext(db=db, user=user, year=year, today=lambda: AS_OF)
    dbserver.release(db)


class Watchdog:
    """Ticks every 10 ms on the GUI thread. A gap between two ticks is a time the window could not react. The GUI
    thread's own work (the action itself, showing a worker's result) is also timed directly."""

    def __init__(self):
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.last = time.perf_counter()
        self.last_waited = runqueue_wait_ms()
        self.doing = ""
        self.stalls: list[tuple[float, str]] = []  # wall-clock gaps without the worker
        self.freezes: list[tuple[float, float, str]] = []  # (own ms, wall ms, during): gaps the window made itself
        self.worker_freezes: list[tuple[float, float, str]] = []  # the same while the worker ran (GIL, GC)
        self.gui_stalls: list[tuple[float, str]] = []  # the GUI thread's own work over the limit
        self.while_worker_ran: list[tuple[float, str]] = []
        self._worker_seen = 0

    def _worker_activity(self) -> int:
        ops = operations()
        return ops.finished_count + (1 if ops.pool.activeThreadCount() else 0)

    def _tick(self) -> None:
        now, waited = time.perf_counter(), runqueue_wait_ms()
        gap = (now - self.last) * 1000
        activity = self._worker_activity()
        if gap > LIMIT_MS:
            worker = activity != self._worker_seen or operations().pool.activeThreadCount() > 0
            (self.while_worker_ran if worker else self.stalls).append((round(gap), self.doing))
            if waited is None or self.last_waited is None:
                own, limit = gap, FREEZE_MS
            else:
                own, limit = gap - (waited - self.last_waited), OWN_FREEZE_MS
            if not worker and own >= limit:
                self.freezes.append((round(own), round(gap), self.doing))
            elif worker and own >= FREEZE_MS:
                self.worker_freezes.append((round(own), round(gap), self.doing))
        self.last, self.last_waited = now, waited
        self._worker_seen = self._worker_activity()

    def start(self) -> None:
        self.last, self.last_waited = time.perf_counter(), runqueue_wait_ms()
        self.timer.start()

    def gui_work(self, what: str, fn):
        """Time a piece of GUI-thread work directly: the CPU time of the GUI thread, which the other processes of a
        busy machine (the parallel test workers) do not inflate."""
        started = time.thread_time()
        result = fn()
        took = (time.thread_time() - started) * 1000
        if took > LIMIT_MS:
            self.gui_stalls.append((round(took), what))
        return result

    def run(self, qtbot, what: str, action) -> None:
        qtbot.wait(30)  # a fresh tick just before the action
        self.doing = what
        self.gui_work(what, action)
        settle(qtbot)


def settle(qtbot) -> None:
    """Let the worker finish while the event loop keeps running (the watchdog keeps ticking)."""
    qtbot.waitUntil(lambda: not operations().busy(), timeout=300_000)
    qtbot.wait(50)


def test_no_stall_over_200_ms_in_page_switches_and_actions_on_20000_households(qtbot, big_ctx, monkeypatch):
    undo_gc_policy = install_gc_policy()  # as app.setup_application does for the program
    dog = Watchdog()
    succeeded = Operation._succeeded

    def timed(op, result):  # showing a worker's result is GUI-thread work: timed on its own
        dog.gui_work(f"{dog.doing}（显示结果）", lambda: succeeded(op, result))

    monkeypatch.setattr(Operation, "_succeeded", timed)
    window = desktop_app.create_main_window(big_ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    settle(qtbot)
    dog.start()
    for spec in window.specs:
        dog.run(qtbot, f"切换到{spec.title}", lambda k=spec.key: window.show_page(k))
    warnings = window.pages["warnings"]
    dog.run(qtbot, "预警中心 刷新", warnings.refresh)
    dog.run(qtbot, "预警中心 按类型筛选", lambda: warnings.set_kind("overdue"))
    dog.run(qtbot, "预警中心 全部", lambda: warnings.set_kind(None))
    quality = window.pages["quality"]
    window.show_page("quality")
    dog.run(qtbot, "数据质量 检查", quality.run_checks)
    dog.run(qtbot, "数据质量 按规则筛选", lambda: quality.set_rule("MEDICAL_INSURANCE_MISSING"))
    dog.run(qtbot, "数据质量 全部状态", lambda: quality.set_states("全部"))
    dog.run(qtbot, "数据质量 全部", lambda: quality.set_rule(None))
    window.show_page("cases")
    cases = window.pages["cases"]
    dog.run(qtbot, "认定流程 全部状态", lambda: cases.state_combo.set_value(None))
    dog.run(qtbot, "认定流程 刷新", cases.refresh)
    for spec in window.specs:  # again, with everything loaded once
        dog.run(qtbot, f"再次切换到{spec.title}", lambda k=spec.key: window.show_page(k))
    dog.timer.stop()
    undo_gc_policy()
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    print(f"load per CPU {load:.1f}; wall-clock gaps while the worker computed: {dog.while_worker_ran}; "
          f"without the worker (a busy machine inflates these): {dog.stalls}")
    assert warnings.dashboard is not None and quality.model.rowCount() > 0  # the work was really done
    assert not dog.gui_stalls, f"GUI-thread work over {LIMIT_MS} ms (ms, during): {dog.gui_stalls}"
    assert not dog.freezes, f"the window froze (own ms, wall ms, during): {dog.freezes}"
    assert not dog.worker_freezes, f"the window froze while the worker ran (own ms, wall ms): {dog.worker_freezes}"
    # Other test processes of a parallel run share the cores even when the 1-minute load average, which lags
    # behind them, does not show it yet (this test runs first): then only the checks above hold.
    shared = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1
    if load <= 1.0 and not shared:  # the machine is not oversubscribed: any gap is the program's doing
        gaps = dog.stalls + dog.while_worker_ran
        assert not gaps, f"wall-clock gaps over {LIMIT_MS} ms on an idle machine (ms, during): {gaps}"
