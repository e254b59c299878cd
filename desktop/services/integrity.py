"""Integrity check of the SQLite database file at start (SPEC §12), before any migration.

On PostgreSQL (the county edition) there is no file to check: the server keeps its own data sound (WAL, checksums
if the cluster has them); its administrator can run `pg_amcheck` on a schedule (README “县级数据库”). The program
checks nothing there at start."""

from __future__ import annotations

from pathlib import Path

from . import failures, keys

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
