"""A child process that edits the register in a loop until it is killed (SIGKILL test).

Each transaction writes the same counter into the household's phone, its note and the
first member's note, through the real service (register.save_household), so a torn
transaction would show as fields that disagree.
"""

import sys
from datetime import date

from desktop.services import register
from desktop.services.auth import authenticate
from desktop.services.context import AppContext
from desktop.services.db import init_db, sqlite_url


def main(path: str, household_id: int) -> None:
    db = init_db(sqlite_url(path))
    with db.session() as s:
        user = authenticate(s, "admin", "Jx-adm-2024")
        s.commit()
    ctx = AppContext(db=db, user=user, year=2024, today=lambda: date(2024, 11, 20))
    n = int(ctx.read(register.get_household, household_id)[0].note or 0)  # go on from the last commit
    print("ready", flush=True)
    while True:
        n += 1
        data, members = ctx.read(register.get_household, household_id)
        data.phone = f"139{n:08d}"
        data.note = str(n)
        members[0].note = str(n)
        ctx.run(register.save_household, data, members, ctx.today(), user)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
