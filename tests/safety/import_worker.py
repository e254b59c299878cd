"""A child process that imports one workbook (preview, then apply and commit, as the CLI does)
and says when the writing starts, so the test can kill it in the middle of the transaction."""

import sys
from datetime import date
from pathlib import Path

from desktop.services import exchange
from desktop.services.db import init_db, sqlite_url


def main(db_path: str, book: str) -> None:
    db = init_db(sqlite_url(db_path))
    print("ready", flush=True)
    with db.session(bootstrap="kill-test") as s:  # the target has no user yet
        pv = exchange.preview(s, Path(book), 2024)
        assert pv.ok, pv.errors[:3]
        print("writing", flush=True)
        exchange.apply(s, pv, as_of=date(2024, 11, 20), check=False,
                       progress=lambda done, total, stage: print(f"progress {done} {total}", flush=True))
        s.commit()
    print("committed", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
