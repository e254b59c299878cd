"""Integrity check of the SQLite database file at start (SPEC §12), before any migration.

On PostgreSQL (the county edition) there is no file to check: the server keeps its own data sound (WAL, data page
checksums when the cluster was made with them); its administrator can run `pg_amcheck` on a schedule (README
“县级数据库”). The program checks nothing there at start; the daily check asks the server instead whether it has met
damaged pages in this database (`server_check`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from . import failures, keys
from .errors import ServiceError

MAX_LINES = 20


def integrity_check(path: Path, quick: bool = False) -> str | None:
    """None when the file is a sound SQLite database; otherwise SQLite's description of the problem.

    Runs `PRAGMA integrity_check` (or the faster `quick_check`, used at start) on a plain sqlite3 connection (no
    engine, no migration), so a damaged file is reported before anything writes to it. A missing file is a
    problem too: the caller decides whether a new file is expected. A file that cannot be read for another
    reason (a read-only folder, a lock, a disk error) is not called damaged: that raises a
    failures.StorageError saying what to do.
    """
    path = Path(path)
    if not path.is_file():
        return f"文件不存在：{path}"
    key = keys.key_for(path)
    if key is None and keys.is_encrypted(path):
        if keys.exists(path):
            raise keys.NoKey(f"文件已加密，登录后才能检查：{path}")
        return f"文件不是有效的数据库（不是 SQLite 文件，旁边也没有它的密钥文件 {keys.key_path(path).name}）"
    try:
        con = keys.connect(path, key, "rw")  # never creates a file
        try:
            # quick_check skips index/table cross-checks: 0.5 s instead of 2–3 s on a county file.
            rows = con.execute("PRAGMA quick_check" if quick else "PRAGMA integrity_check").fetchall()
        finally:
            con.close()
    except keys.ERRORS as exc:
        failure = failures.translate(exc, path)
        if failure is not None and failure.kind != failures.DAMAGED:
            raise failure from exc
        return _describe(exc)
    lines = [str(r[0]) for r in rows]
    if lines == ["ok"]:
        return None
    more = len(lines) - MAX_LINES
    text = "\n".join(lines[:MAX_LINES])
    return f"{text}\n……（另有 {more} 处）" if more > 0 else text


def _describe(exc: Exception) -> str:
    msg = str(exc)
    if "not a database" in msg:
        return f"文件不是有效的数据库（{msg}）"
    if "malformed" in msg:
        return f"数据库文件已损坏（{msg}）"
    return msg


def server_check(engine: Engine) -> str | None:
    """The daily check on PostgreSQL: None unless the server has counted data page checksum failures in this
    database (pg_stat_database.checksum_failures, PostgreSQL 12+; readable by any user, no extension needed). A
    cluster made without data checksums counts nothing: then there is nothing the program can check, and it says
    nothing (the README asks the county to make the cluster with --data-checksums and to run pg_amcheck)."""
    try:
        with engine.connect() as c:
            row = c.execute(text("SELECT checksum_failures, checksum_last_failure FROM pg_stat_database "
                                 "WHERE datname = current_database()")).first()
            name = c.execute(text("SELECT current_database()")).scalar()
    except SQLAlchemyError as exc:  # the server did not answer: not "damaged"
        raise ServiceError(f"无法向数据库服务器查询检查结果（{exc.__class__.__name__}）：请检查网络，"
                           "或联系县级数据库管理员") from exc
    failures_seen, last = (row if row is not None else (None, None))
    return checksum_problem(name, failures_seen, last)


def checksum_problem(database: str, failures_seen: int | None, last) -> str | None:
    """What the server's count of checksum failures means to the person at the seat (None: nothing found)."""
    if not failures_seen:
        return None
    when = f"（最近一次：{last:%Y-%m-%d %H:%M}）" if last is not None else ""
    return (f"PostgreSQL 服务器在数据库“{database}”中发现 {failures_seen} 处数据页校验失败{when}："
            "磁盘上的数据可能已损坏。请县级数据库管理员用 pg_amcheck 检查，必要时从 pg_dump 备份恢复。")
