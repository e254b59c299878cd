"""One seat in its own process, for tests/services/test_concurrency_processes.py (two of these at once).

    python -m tests.services.seat_process URL USER PASSWORD GO_FILE edit FIELD N HOUSEHOLD_ID
        saves FIELD of the household N times (value "<FIELD>-<USER>-<i>"), each on the newest data: a refused save
        (Conflict: the other seat saved first) is reloaded and done again. Prints "saved N refused K".
    python -m tests.services.seat_process URL USER PASSWORD GO_FILE step CASE_ID STEP DATE
        completes the step once. Prints "done" or "refused <message>".

Both wait for GO_FILE to exist, so that they start together.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

from desktop.services import auth, register, workflow
from desktop.services.concurrency import Conflict
from desktop.services.context import AppContext
from desktop.services.db import init_db
from desktop.services.errors import ServiceError
from tests.dbserver import TEST_KEY

TODAY = date(2024, 11, 20)


def main(argv: list[str]) -> int:
    url, user, password, go, what, *rest = argv
    # a test's SQLite file is a copy of the encrypted template: this seat has its key, as after a log-in
    db = init_db(url, key=TEST_KEY) if url.startswith("sqlite") else init_db(url)
    with db.session() as s:
        me = auth.authenticate(s, user, password)
        s.commit()
    ctx = AppContext(db=db, user=me, year=2024, today=lambda: TODAY)
    deadline = time.monotonic() + 30
    while not Path(go).exists():
        if time.monotonic() > deadline:
            print("no start signal", flush=True)
            return 2
        time.sleep(0.005)
    if what == "edit":
        field, n, hid = rest[0], int(rest[1]), int(rest[2])
        saved = refused = 0
        while saved < n:
            data, members = ctx.read(register.get_household, hid)
            setattr(data, field, f"{field}-{user}-{saved}")
            try:
                ctx.run(register.save_household, data, members, TODAY)
                saved += 1
            except Conflict:
                refused += 1
            if refused > 50 * n:
                break
        print(f"saved {saved} refused {refused}", flush=True)
    else:
        case_id, step, on = int(rest[0]), rest[1], date.fromisoformat(rest[2])
        try:
            ctx.run(workflow.complete_step, case_id, step, on, data={"authorized": True}, as_of=date(2026, 1, 31))
            print("done", flush=True)
        except ServiceError as exc:
            print(f"refused {type(exc).__name__} {exc}", flush=True)
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
