"""Converting a plain SQLite database from before encryption, and its plain backups, to SQLCipher files.

Done at the first administrator's log-in after upgrading (services.opening), whole or not at all:
  1. the plain file is settled (its WAL written into it; refused while another window has it open);
  2. `sqlcipher_export` writes an encrypted copy beside it under a new random data key; the copy is checked
     (SQLite's integrity check, and every table holds as many rows as in the plain file);
  3. the key file is written: the recovery key, the administrator's slot, and for every other active user a slot
     opened by their existing password (derived from their stored scrypt hash; replaced by a slot of its own at
     their first log-in);
  4. the plain file gets a second name (a hard link, or a copy), the encrypted copy replaces it in one rename, the
     result is opened with the key, and only then is the plain copy securely removed (overwritten, then deleted);
  5. every plain backup in the backups folder is converted the same way.
Killed at any moment, the database at its path is either the old plain file (converted again at the next log-in;
a key file written before the rename is simply made anew) or the new encrypted one with its key file; a plain copy
left behind is removed, and plain backups not yet reached are encrypted, at the next log-in (finish).

Overwriting before deleting defeats undelete tools on ordinary disks; on SSDs and journaling or copy-on-write file
systems old blocks may survive elsewhere on the device (said in the README).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from pathlib import Path

from . import backup, keys
from .backup import _fsync, _fsync_dir  # the one way this program makes a file and a rename durable
from .errors import ServiceError

log = logging.getLogger(__name__)

PLAIN_COPY = ".plain-before-encryption"
ENCRYPTING = ".encrypting"


class ConversionError(ServiceError):
    pass


def convert(path: Path, admin_name: str, admin_password: str) -> tuple[bytes, str]:
    """Encrypt the plain database at `path` and its plain backups; returns the data key and the recovery key
    (to be shown once). Nothing of the program may have the file open."""
    path = Path(path).resolve()
    _settle(path)
    data_key = secrets.token_bytes(32)
    target = path.with_name(f".{path.name}{ENCRYPTING}")
    _export(path, target, data_key)
    users = _users(path)
    _, recovery = keys.create(path, data_key)
    vault = keys.Vault(path, data_key)
    for name, password_hash, active in users:
        if name == admin_name:
            vault.set_password(name, admin_password)
        elif active:
            vault.set_legacy(name, password_hash)
    _swap(path, target, data_key)
    keys.private(path)
    keys.remember(path, data_key)
    _encrypt_backups(path, data_key)
    return data_key, recovery


def _settle(path: Path) -> None:
    """The plain file alone: its WAL checkpointed into it and the journal mode set back to DELETE (which SQLite
    allows only when no other connection has the file open)."""
    try:
        con = keys.connect(path, None, "rw")
        try:
            con.execute("PRAGMA busy_timeout=2000")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            mode = con.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        finally:
            con.close()
    except keys.ERRORS as exc:
        raise ConversionError(f"数据库正被另一个窗口或程序使用，不能转换为加密文件：请关闭其他窗口后重新登录"
                              f"（{exc}）") from exc
    if str(mode).lower() != "delete":
        raise ConversionError("数据库正被另一个窗口或程序使用，不能转换为加密文件：请关闭其他窗口后重新登录")
    Path(f"{path}-shm").unlink(missing_ok=True)


def _export(source: Path, target: Path, data_key: bytes) -> None:
    """An encrypted copy of a plain file, written beside it and checked."""
    for stale in (target, Path(f"{target}-journal")):
        stale.unlink(missing_ok=True)
    try:
        con = keys.connect(source, None, "ro")
        try:
            con.execute(f"ATTACH DATABASE ? AS encrypted KEY \"x'{data_key.hex()}'\"", (str(target),))
            con.execute("SELECT sqlcipher_export('encrypted')")
            con.execute("DETACH DATABASE encrypted")
            counts = _counts(con)
        finally:
            con.close()
        _fsync(target)
        check = keys.connect(target, data_key, "ro")
        try:
            problem = check.execute("PRAGMA quick_check").fetchone()[0]
            copied = _counts(check)
        finally:
            check.close()
    except keys.ERRORS as exc:
        target.unlink(missing_ok=True)
        raise ConversionError(f"不能把 {source.name} 转换为加密文件，原文件未改变：{exc}") from exc
    if problem != "ok" or copied != counts:
        target.unlink(missing_ok=True)
        raise ConversionError(f"{source.name} 的加密副本检查未通过，原文件未改变（{problem}）")


def _counts(con) -> dict[str, int]:
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                        "AND name NOT LIKE 'sqlite_%'")]
    return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def _users(path: Path) -> list[tuple[str, str, bool]]:
    con = keys.connect(path, None, "ro")
    try:
        return [(r[0], r[1], bool(r[2])) for r in con.execute("SELECT username, password_hash, active FROM user_")]
    finally:
        con.close()


def _swap(path: Path, encrypted: Path, data_key: bytes) -> None:
    """Put the checked encrypted copy in place of the plain file, then securely remove the plain content."""
    plain = path.with_name(path.name + PLAIN_COPY)
    if plain.exists():
        shred(plain)  # from a conversion killed earlier (a hard link to the file is only unlinked)
    try:
        os.link(path, plain)
    except OSError:  # no hard links here (some USB disks): a copy
        shutil.copyfile(path, plain)
        _fsync(plain)
    _rename(encrypted, path)
    _fsync_dir(path.parent)
    if not keys.opens_with(path, data_key):
        os.replace(plain, path)
        raise ConversionError(f"加密后的 {path.name} 无法打开，已放回原文件")
    shred(plain)


def _rename(source: Path, target: Path) -> None:
    """The one step that puts the encrypted file in place: atomic (the path is the old or the new file)."""
    os.replace(source, target)


def shred(path: Path) -> None:
    """Overwrite a file's content with zeros, sync, then delete it. A file with other names (hard links) is
    only unlinked: its content is still in use under the other name."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_nlink <= 1:
        chunk = b"\0" * (1 << 20)
        with open(path, "r+b") as f:
            left = st.st_size
            while left > 0:
                n = min(left, len(chunk))
                f.write(chunk[:n])
                left -= n
            f.flush()
            os.fsync(f.fileno())
    path.unlink()


def finish(path: Path, data_key: bytes) -> list[Path]:
    """After the encrypted database has opened with its key: remove the plain copies a conversion killed after
    the rename left behind, and encrypt the plain backups it did not reach. Returns the plain files removed."""
    path = Path(path)
    removed = []
    folder = backup.backup_dir_for(path)
    copies = [path.with_name(path.name + PLAIN_COPY)] + (list(folder.glob(f"*{PLAIN_COPY}")) if folder.is_dir()
                                                          else [])
    for plain in copies:
        original = plain.with_name(plain.name[:-len(PLAIN_COPY)])
        if plain.exists() and keys.is_encrypted(original):
            shred(plain)
            removed.append(plain)
    for stale in [path.with_name(f".{path.name}{ENCRYPTING}")] + (list(folder.glob(f".*{ENCRYPTING}"))
                                                                  if folder.is_dir() else []):
        stale.unlink(missing_ok=True)
    _encrypt_backups(path, data_key)
    return removed


def _encrypt_backups(path: Path, data_key: bytes) -> None:
    for info in backup.list_backups(path):
        if keys.is_plain(info.path):
            try:
                tmp = info.path.with_name(f".{info.path.name}{ENCRYPTING}")
                _export(info.path, tmp, data_key)
                _swap(info.path, tmp, data_key)
                keys.private(info.path)
            except ServiceError as exc:  # one unreadable old backup does not stop the rest
                log.warning("could not encrypt the backup %s: %s", info.path, exc)
