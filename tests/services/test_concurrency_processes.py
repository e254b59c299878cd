"""Two seats as two real processes on one database (SQLite file or PostgreSQL, whichever the suite runs on), started
together: nothing lost, one winner where only one may win. Bounded: a few saves each, a 60-second limit."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop.models import AuditEntry, CaseStep
from desktop.services import auth, register, workflow
from tests.conftest import ADMIN_PASSWORD, TODAY, family

ROOT = Path(__file__).resolve().parents[2]
SAVES = 8
PASSWORD_B = "Shen-he-2024x"


def start(db, tmp_path, user, password, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tests.services.seat_process", db.url, user, password,
                             str(tmp_path / "go"), *map(str, args)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(procs):
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        outs.append(out.strip())
    return outs


@pytest.fixture
def two_users(db, township, admin):
    with db.session(admin) as s:
        auth.create_user(s, "wang", "王审核", "auditor", PASSWORD_B)
        s.commit()
    return admin


@pytest.mark.slow
def test_two_processes_editing_one_household_lose_nothing(db, township, two_users, tmp_path):
    with db.session(two_users) as s:
        data, members = family(township["villages"]["东村"])
        hid = register.save_household(s, data, members, TODAY)
        s.commit()
    procs = [start(db, tmp_path, "admin", ADMIN_PASSWORD, "edit", "note", SAVES, hid),
             start(db, tmp_path, "wang", PASSWORD_B, "edit", "address", SAVES, hid)]
    (tmp_path / "go").touch()
    outs = finish(procs)
    assert all(o.startswith(f"saved {SAVES} ") for o in outs), outs
    with db.session(two_users) as s:
        data, _members = register.get_household(s, hid)
        # each seat's last value stands: neither wrote the other's field back
        assert (data.note, data.address) == (f"note-admin-{SAVES - 1}", f"address-wang-{SAVES - 1}")
        by = {f: sorted(set(s.scalars(select(AuditEntry.user).where(AuditEntry.table_name == "household",
                                                                     AuditEntry.record_id == hid,
                                                                     AuditEntry.field == f))))
              for f in ("note", "address")}
        assert by == {"note": ["admin"], "address": ["wang"]}  # no save of one seat audited on the other's field
        assert data.version >= 2 * SAVES + 1


@pytest.mark.slow
def test_two_processes_completing_one_step_one_wins(db, township, two_users, tmp_path):
    with db.session(two_users) as s:
        data, members = family(township["villages"]["东村"])
        hid = register.save_household(s, data, members, TODAY)
        clue = workflow.record_clue(s, "01", date(2024, 6, 3), household_id=hid, description="户主住院")
        cid = workflow.open_identification(s, clue)
        s.commit()
    procs = [start(db, tmp_path, user, pw, "step", cid, "verify", "2024-06-05")
             for user, pw in (("admin", ADMIN_PASSWORD), ("wang", PASSWORD_B))]
    (tmp_path / "go").touch()
    outs = finish(procs)
    assert sorted(o.split()[0] for o in outs) == ["done", "refused"], outs
    loser = next(o for o in outs if o.startswith("refused"))
    assert "Conflict" in loser or "WorkflowError" in loser, loser  # a Chinese refusal, not a database error
    with db.session(two_users) as s:
        steps = list(s.scalars(select(CaseStep).where(CaseStep.case_id == cid).order_by(CaseStep.seq)))
        assert [(st.step, st.done_on is not None) for st in steps] == [("verify", True), ("county_compare", False)]
