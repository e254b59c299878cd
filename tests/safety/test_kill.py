"""A crash loses at most the edit in progress, and an import is all or nothing (SPEC §12): the process is killed
with SIGKILL at chosen points inside the transaction, and each point's own outcome is asserted.

The writer is a fork of the test process (no second start-up of Python), running the program's own code; it
stops at the chosen point — an ORM or engine event, an import's progress, or the K-th write or sync SQLite makes
(through tests/safety/powercut.py's layer, with no power cut) — says so through a pipe, and waits there to be
killed. Nothing depends on timing.
"""

from __future__ import annotations

import os
import signal
import time
import traceback
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from desktop.services import register
from desktop.services.context import AppContext
from desktop.services.db import init_db, sqlite_url
from tests.conftest import TODAY, family, raw_connect
from tests.safety import powercut

pytestmark = [pytest.mark.sqlite_only("在 SQLite 提交内部强行结束进程；PostgreSQL 的持久性由服务器的 WAL 保证"),
              pytest.mark.skipif(not hasattr(os, "fork"), reason="fork and SIGKILL are POSIX only")]


def killed_at(work) -> bool:
    """Run work(pause) in a forked child; the child calls pause() at the chosen point and is killed there.
    True when it was killed at the point, False when the work finished without reaching it."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.close(r)

            def pause():
                os.write(w, b"P")
                while True:
                    time.sleep(60)
            work(pause)
            os.write(w, b"F")
        except BaseException:  # noqa: BLE001 - reported to the parent, then exit
            os.write(w, b"E" + traceback.format_exc().encode()[-2000:])
            code = 3
        finally:
            os._exit(code)
    os.close(w)
    message = os.read(r, 4096)
    os.close(r)
    if message == b"P":
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert not message.startswith(b"E"), message.decode(errors="replace")
    if message == b"P":
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    return message == b"P"


# ------------------------------------------------------------------ edits

@pytest.fixture
def household(ctx, township):
    data, members = family(township["villages"]["东村"])
    data.note, members[0].note, data.phone = "0", "0", "13900000000"
    hid = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    ctx.db.dispose()
    return hid


def edits(path: Path, ctx: AppContext, hid: int, count: int, hooks=None, before_each=None) -> None:
    """The program's own edit, `count` times: each writes the edit number into the phone, the note and the first
    member's note, in one transaction, with its audit entries."""
    db = init_db(sqlite_url(path))
    if hooks:
        hooks(db)
    work = AppContext(db, ctx.user, ctx.year, ctx.today)
    for n in range(1, count + 1):
        data, members = work.read(register.get_household, hid)
        data.phone, data.note, members[0].note = f"139{n:08d}", str(n), str(n)
        if before_each:
            before_each(n)
        work.run(register.save_household, data, members, TODAY, ctx.user)
    db.dispose()


def state(path: Path, hid: int) -> int:
    """The edit the file holds, after checking it holds that edit whole (fields and audit entries agree)."""
    with closing(raw_connect(path)) as c, c:
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        phone, note = c.execute("SELECT phone, note FROM household WHERE id=?", (hid,)).fetchone()
        member_note = c.execute("SELECT note FROM member WHERE household_id=? ORDER BY seq LIMIT 1",
                                (hid,)).fetchone()[0]
        notes = c.execute("SELECT count(*) FROM audit_entry WHERE household_id=? AND table_name='household' "
                          "AND field='note'", (hid,)).fetchone()[0]
    n = int(note)
    assert phone == f"139{n:08d}" and member_note == note and notes == n
    return n


def reset(path: Path, pristine: bytes) -> None:
    path.write_bytes(pristine)
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)


# Where in the second edit's transaction the process dies, and the edit the file must then hold.
POINTS = {
    "after_begin": 1,    # the session began edit 2's transaction: nothing of it written
    "after_flush": 1,    # edit 2's rows sent to SQLite, not committed
    "engine_commit": 1,  # edit 2's COMMIT about to be sent
    "after_commit": 2,   # edit 2's COMMIT returned: it is kept
}


@pytest.mark.parametrize("point", list(POINTS))
def test_edit_killed_at_a_point_in_its_transaction(ctx, household, point):
    path = ctx.db.sqlite_path
    editing = {"n": 0}

    def work(pause):
        def at_point(*_args):
            if editing["n"] == 2:
                pause()

        def hooks(db):
            if point == "engine_commit":
                event.listen(db.engine, "commit", at_point)
            else:
                event.listen(Session, point, at_point)  # in the child only
        edits(path, ctx, household, 3, hooks, before_each=lambda n: editing.update(n=n))
    assert killed_at(work)
    assert state(path, household) == POINTS[point]


def test_edit_killed_at_each_write_and_sync_of_its_commit(ctx, household):
    """Inside SQLite's COMMIT: killed before the commit frame reaches the WAL, the edit is gone; once it is
    written (synced or not: a killed process leaves what it gave the system), the edit is kept."""
    path = ctx.db.sqlite_path
    pristine = path.read_bytes()
    layer = powercut.PowerCut()
    starts = {}
    with powercut.installed(layer):
        edits(path, ctx, household, 3, before_each=lambda n: starts.setdefault(n, layer.ops))
    assert state(path, household) == 3
    sync = next(i + 1 for i, (kind, name) in enumerate(layer.log)
                if i + 1 > starts[2] and kind == "sync" and name.endswith("-wal"))  # edit 2's commit
    assert [kind for kind, _ in layer.log[sync - 4:sync]] == ["write", "write", "write", "sync"]
    # K: the operation about to run when the process dies (ops 1..K-1 done). Op sync-1 writes the commit frame.
    expected = {starts[2] + 1: 1, sync - 2: 1, sync - 1: 1, sync: 2, sync + 1: 2}
    for k, outcome in expected.items():
        reset(path, pristine)

        def work(pause, k=k):
            with powercut.installed(powercut.PowerCut(on_op=lambda n, k=k: pause() if n == k else None)):
                edits(path, ctx, household, 3)
        assert killed_at(work), k
        assert state(path, household) == outcome, (k, layer.log[k - 1])


# ------------------------------------------------------------------ an import

@pytest.fixture(scope="module")
def county_book(tmp_path_factory):
    from desktop.services import demo, exchange, regions, settings
    folder = tmp_path_factory.mktemp("book")
    source = init_db(sqlite_url(folder / "source.sqlite3"))
    with source.session(bootstrap="tester") as s:
        regions.init_township(s, "稷下街道")
        settings.set_year(s, 2024, monitoring_line="7100")
        demo.generate(s, 300, seed=5, year=2024)
        s.commit()
        exchange.export_workbook(s, folder / "county.xlsx", 2024)
        counts = (s.scalar(text("SELECT count(*) FROM household")), s.scalar(text("SELECT count(*) FROM member")))
    source.dispose()
    return folder / "county.xlsx", counts


@pytest.mark.slow
@pytest.mark.parametrize("point,whole", [("first_insert", False), ("half_written", False),
                                         ("engine_commit", False), ("after_commit", True)])
def test_import_killed_at_a_point_is_all_or_nothing(tmp_path, county_book, point, whole):
    from desktop.services import exchange, regions, settings
    book, (households, members) = county_book
    target = tmp_path / "target.sqlite3"
    db = init_db(sqlite_url(target))
    with db.session(bootstrap="tester") as s:
        regions.init_township(s, "稷下街道")
        settings.set_year(s, 2024, monitoring_line="7100")
        s.commit()
    db.dispose()

    def work(pause):
        from desktop.services.exchange import writer
        writer.CHUNK = 100  # in the child only: 300 households written in three rounds, as a county file is
        db = init_db(sqlite_url(target))
        if point == "engine_commit":
            event.listen(db.engine, "commit", lambda _c: pause())

        def executed(_conn, _cursor, statement, *_args):
            if point == "first_insert" and statement.lstrip().upper().startswith("INSERT INTO HOUSEHOLD"):
                pause()

        def progress(done, total, stage):
            if point == "half_written" and 0 < done < total:  # after the first round of 100 households
                pause()
        with db.session(bootstrap="kill-test") as s:  # the target has no user yet
            pv = exchange.preview(s, book, 2024)
            assert pv.ok, pv.errors[:3]
            event.listen(db.engine, "after_cursor_execute", executed)  # after the preview: the import's own writes
            exchange.apply(s, pv, as_of=date(2024, 11, 20), check=False, take_backup=False, progress=progress)
            s.commit()
        if point == "after_commit":
            pause()
    assert killed_at(work)
    with closing(raw_connect(target)) as c, c:
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        got = (c.execute("SELECT count(*) FROM household").fetchone()[0],
               c.execute("SELECT count(*) FROM member").fetchone()[0])
    assert got == ((households, members) if whole else (0, 0))


# ------------------------------------------------------------------ converting a plain database to an encrypted one

# Where the conversion's process is killed (SIGKILL: no cleanup runs) and whether the path then holds the old plain
# file (True) or the new encrypted one (False).
CONVERSION_POINTS = {
    "_export": True,     # the encrypted copy being written beside the plain file
    "_users": True,      # the copy written and checked, the key file not yet
    "_rename": True,     # the key file written, the plain file linked under its second name
    "shred": False,      # the encrypted file in place, the plain copy not yet removed
}


@pytest.mark.parametrize("point", list(CONVERSION_POINTS))
def test_a_conversion_killed_leaves_the_old_or_the_new_database_usable(tmp_path, point, monkeypatch):
    from desktop.services import convert, keys, opening
    from tests.conftest import ADMIN_PASSWORD, CLERK_PASSWORD
    from tests.services.test_conversion import T0, grep, households, plain_township
    path = tmp_path / "workbench.sqlite3"
    id_number = plain_township(path)

    def work(pause):
        real = getattr(convert, point)

        def stop_here(*args, **kwargs):
            pause()  # the first call: for shred, the one after the rename (no stale copy to remove before)
            return real(*args, **kwargs)
        monkeypatch.setattr(convert, point, stop_here)
        opening.log_in(path, "admin", ADMIN_PASSWORD, now=T0)
    assert killed_at(work)
    keys._known.clear()
    assert keys.is_plain(path) == CONVERSION_POINTS[point]
    opened = opening.log_in(path, "admin", ADMIN_PASSWORD, now=T0)  # converts now, or opens the converted one
    assert households(opened) == 1
    opened.db.dispose()
    assert grep(tmp_path, id_number.encode()) == []  # nothing plain is left behind, whichever it was
    keys._known.clear()
    opened = opening.log_in(path, "clerk", CLERK_PASSWORD, now=T0)
    opened.db.dispose()
