"""Who the benchmarks act as. Every service asks who acts (SPEC §12), so a benchmark logs in like the window does.
The benchmark databases are demo databases: their administrator is the demo's admin / admin123 (as
`python -m desktop demo` creates on a new database; exempt from the password rule, for demonstration only)."""

from __future__ import annotations

ADMIN, PASSWORD = "admin", "admin123"


def create_admin(db) -> None:
    """The demo administrator on a database that has no user yet (the first-run setup, as `demo` does)."""
    from desktop.services import auth
    with db.session(bootstrap="bench") as s:
        auth.create_user(s, ADMIN, "管理员", "admin", PASSWORD, exempt_from_rule=True)
        s.commit()


def login(db, username: str = ADMIN, password: str = PASSWORD):
    """The logged-in administrator (a CurrentUser): `db.session(login(db))` acts as them."""
    from desktop.services import auth
    with db.session() as s:
        user = auth.authenticate(s, username, password)
        s.commit()
    return user


def plain() -> bool:
    """FANPIN_BENCH_PLAIN=1: the benchmark databases are plain SQLite (as before encryption), to measure what the
    encryption costs on the same machine. Otherwise they are encrypted, as the program makes them."""
    import os
    return os.environ.get("FANPIN_BENCH_PLAIN") == "1"


def open_db(path):
    """A benchmark database, opened as the program opens it: a PostgreSQL URL as it is; a new file is created
    (encrypted unless plain()); an existing encrypted one through the log-in (the password unwraps its key, then
    the quick check and the migrations run), an existing plain one as it is."""
    from pathlib import Path

    from desktop.services import keys, opening
    from desktop.services.db import database_url, init_db, is_url, sqlite_url
    if is_url(str(path)) and not str(path).startswith("sqlite"):
        return init_db(database_url(str(path)))  # the county edition: the server keeps the data
    path = Path(path)
    exists = path.exists() and path.stat().st_size > 0
    if plain() or (exists and keys.is_plain(path)):
        return init_db(sqlite_url(path), plain=True)
    if exists:
        return opening.log_in(path, ADMIN, PASSWORD).db
    return init_db(sqlite_url(path))


def copy_db(source, target) -> None:
    """A copy of a benchmark database (and of its key file), through SQLite's backup API."""
    import shutil
    from pathlib import Path

    from desktop.services import keys
    source, target = Path(source), Path(target)
    for suffix in ("", "-wal", "-shm", keys.KEY_SUFFIX, keys.GUARD_SUFFIX):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    key = None if keys.is_plain(source) else keys.unlock(source, ADMIN, PASSWORD)
    a, b = keys.connect(source, key), keys.connect(target, key, "rwc")
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()
    if key is not None:
        shutil.copyfile(keys.key_path(source), keys.key_path(target))
