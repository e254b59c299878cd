"""A crash or power cut loses at most the edit in progress (SPEC §12): kill the process with
SIGKILL in the middle of edits, many times, and check the database is intact and every
transaction is either wholly there or not at all. Bounded in count and time."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.services import register
from tests.conftest import TODAY, family

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 8

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX only")


def start(args: list[str]) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.stdout.readline().strip() == "ready", p.stderr.read()
    return p


@pytest.mark.slow
def test_killed_edits_leave_whole_transactions(ctx, township):
    data, members = family(township["villages"]["东村"])
    data.note = "0"
    members[0].note = "0"
    data.phone = "13900000000"
    hid = ctx.run(register.save_household, data, members, TODAY, ctx.user)
    path = str(ctx.db.sqlite_path)
    ctx.db.dispose()
    rng = random.Random(7)
    last = 0
    for _ in range(ROUNDS):
        p = start(["tests/safety/kill_worker.py", path, str(hid)])
        time.sleep(rng.uniform(0.05, 0.6))  # kill at a random moment of the loop
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        with sqlite3.connect(path) as c:
            assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            phone, note = c.execute("SELECT phone, note FROM household WHERE id=?", (hid,)).fetchone()
            member_note = c.execute("SELECT note FROM member WHERE household_id=? ORDER BY seq LIMIT 1",
                                    (hid,)).fetchone()[0]
            audits = c.execute("SELECT count(*) FROM audit_entry WHERE household_id=? AND field='note' "
                               "AND table_name='household'", (hid,)).fetchone()[0]
        n = int(note)
        assert phone == f"139{n:08d}" and member_note == note  # one transaction, never half of one
        assert audits == n  # and its audit entry with it
        last = n
    assert last > 0  # the worker did commit edits before being killed


@pytest.mark.slow
def test_killed_import_is_all_or_nothing(tmp_path):
    """The import of a county workbook is one transaction: killed at any moment, the file holds
    either none of its households or all of them, with their members."""
    from desktop.services import demo, exchange, regions, settings
    from desktop.services.db import init_db, sqlite_url
    source = init_db(sqlite_url(tmp_path / "source.sqlite3"))
    with source.session(bootstrap="tester") as s:
        regions.init_township(s, "稷下街道")
        settings.set_year(s, 2024, monitoring_line="7100")
        demo.generate(s, 1500, seed=5, year=2024)
        s.commit()
        book = tmp_path / "county.xlsx"
        exchange.export_workbook(s, book, 2024)
        households = s.execute(sqlite_text("SELECT count(*) FROM household")).scalar()
        members = s.execute(sqlite_text("SELECT count(*) FROM member")).scalar()
    source.dispose()
    rng = random.Random(11)
    outcomes = []
    for round_ in range(ROUNDS // 2):
        target = tmp_path / f"target{round_}.sqlite3"
        db = init_db(sqlite_url(target))
        with db.session(bootstrap="tester") as s:
            regions.init_township(s, "稷下街道")
            settings.set_year(s, 2024, monitoring_line="7100")
            s.commit()
        db.dispose()
        p = start(["tests/safety/import_worker.py", str(target), str(book)])
        while p.stdout.readline().strip() != "writing":  # wait until the transaction is under way
            assert p.poll() is None, p.stderr.read()
        time.sleep(rng.uniform(0.0, 0.4))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        with sqlite3.connect(target) as c:
            assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            got = (c.execute("SELECT count(*) FROM household").fetchone()[0],
                   c.execute("SELECT count(*) FROM member").fetchone()[0])
        outcomes.append(got)
        assert got in ((0, 0), (households, members)), got
    assert (0, 0) in outcomes  # at least one kill landed inside the transaction


def sqlite_text(sql):
    from sqlalchemy import text
    return text(sql)
