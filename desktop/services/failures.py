"""The one place that turns database and file errors into Chinese messages that say what to do.

A full disk, a database locked by another window or program, a read-only file or folder, a file that vanished
while the program ran: none of these is the program's fault or the user's typing, and all of them can be put
right by a person. `translate(exc)` recognises them (SQLite's result codes, OS errno values, SQLAlchemy's wrapped
errors) and returns a StorageError with the message; anything it does not recognise is a program fault and stays
as it is (None), for the log and the crash dialog. The window (AppContext, log-in, start-up), the command line
and the import wizard all call it at their boundary. Tracebacks go to the log only.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import sys
from pathlib import Path

from .errors import ServiceError

try:  # SQLCipher's module raises its own classes, with SQLite's result codes
    from sqlcipher3.dbapi2 import Error as _SqlcipherError
    _SQLITE_ERRORS: tuple = (sqlite3.Error, _SqlcipherError)
except ImportError:  # pragma: no cover - the program requires it; a bare check of files still works
    _SQLITE_ERRORS = (sqlite3.Error,)

log = logging.getLogger(__name__)

# SQLite primary result codes (sqlite3.h); Python 3.11 exposes them as exc.sqlite_errorcode.
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CORRUPT = 5, 6, 8, 10, 11
SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 13, 14, 26
SQLITE_READONLY_DBMOVED = SQLITE_READONLY | (4 << 8)

FULL, LOCKED, READONLY, READONLY_FOLDER, GONE, MISSING, IO, DAMAGED = (
    "full", "locked", "readonly", "readonly_folder", "gone", "missing", "io", "damaged")
UNCHANGED = "本次操作没有完成，数据未改变。"


class StorageError(ServiceError):
    """The disk, the file or another program stopped an operation. `kind` is one of the constants above."""

    def __init__(self, message: str, kind: str, path: Path | None = None):
        super().__init__(message)
        self.kind = kind
        self.path = path


class DatabaseGone(StorageError):
    """The database file was deleted, moved or replaced while the program had it open: writing stops."""

    def __init__(self, path: Path):
        super().__init__(gone_message(path), GONE, path)


def gone_message(path: Path) -> str:
    return (f"数据库文件已被删除、移动或替换：{path}\n为免数据丢失，程序已停止保存，本次修改没有保存。"
            "请关闭程序，找回该文件（例如从回收站中还原，或把移走的文件放回原处）后重新打开；"
            "找不到时，重新打开程序并从“数据备份”恢复最新的备份。")


def translate(exc: BaseException, path: Path | str | None = None) -> StorageError | None:
    """A StorageError for a fault a person can put right, or None for anything else (a program fault).

    `path` is the database or file the operation worked on, when the caller knows it; an OSError's own filename
    is used otherwise. Already translated errors come back unchanged."""
    if isinstance(exc, ServiceError):  # already said in Chinese by the service: leave it as it is
        return exc if isinstance(exc, StorageError) else None
    for e in _chain(exc):
        if isinstance(e, StorageError):
            return e
    path = Path(path) if path is not None else None
    for e in _chain(exc):
        kind = _kind(e, path)
        if kind is None:
            continue
        target = path
        if isinstance(e, OSError) and e.filename:
            target = Path(os.fsdecode(e.filename))
        failure = StorageError(message(kind, target, detail=str(e)), kind, target)
        log.warning("%s: %s", kind, target, exc_info=exc)
        return failure
    return None


def message(kind: str, path: Path | None, detail: str = "") -> str:
    """What happened and what to do, in Chinese."""
    where = f"：{path}" if path is not None else ""
    folder = path.parent if path is not None else None
    if kind == FULL:
        disk = f"（{folder} 所在的磁盘）" if folder is not None else ""
        return (f"磁盘空间已满{disk}，文件没能写完{where}\n{UNCHANGED}"
                "请删除不需要的文件、清空回收站，或把“backups”文件夹中较早的备份移到别的磁盘或 U 盘，然后重试。")
    if kind == LOCKED:
        who = holders(path) if path is not None else []
        name = "、".join(who) if who else "另一个窗口或程序"
        return (f"数据库正被{name}使用，等待后仍未释放{where}\n{UNCHANGED}"
                "请到另一个窗口完成或取消正在进行的操作（例如导入），或关闭打开了该数据库的其他程序，然后重试。")
    if kind == READONLY:
        return (f"数据库文件是只读的，不能保存修改{where}\n{UNCHANGED}"
                "请在文件属性中取消“只读”，并确认当前用户有修改该文件的权限；"
                "文件在光盘或写保护的 U 盘上时，请先复制到电脑上再打开。")
    if kind == READONLY_FOLDER:
        return (f"文件夹不允许写入：{folder if folder is not None else ''}\n{UNCHANGED}"
                "程序需要在数据库所在的文件夹中写入临时文件（-wal、-shm）和备份。"
                "请确认当前用户有该文件夹的写入权限，或把数据库移到可以写入的文件夹后再打开。")
    if kind == GONE:
        return gone_message(path) if path is not None else gone_message(Path("（数据库文件）"))
    if kind == MISSING:
        return (f"找不到文件或文件夹{where}\n{UNCHANGED}"
                "它可能已被删除、移动或改名，或所在的 U 盘、网络盘已断开。请确认位置后重试。")
    if kind == DAMAGED:
        return (f"数据库文件已损坏{where}\n{UNCHANGED}"
                "请关闭程序后重新打开：程序会检查文件，并提供用最新的完好备份恢复。")
    return (f"读写文件时出错{where}（{detail}）\n{UNCHANGED}"
            "可能是磁盘、U 盘或网络盘出了故障或已断开。请检查后重试；反复出现时请尽快备份并联系技术支持。")


# ------------------------------------------------------------------ recognising a fault

def _chain(exc: BaseException):
    """The error, what it wraps (SQLAlchemy's .orig) and its causes, each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]


def _kind(e: BaseException, path: Path | None) -> str | None:
    if isinstance(e, _SQLITE_ERRORS):
        return _sqlite_kind(e, path)
    if isinstance(e, OSError):
        return _os_kind(e, path)
    return None


def _sqlite_kind(e: Exception, path: Path | None) -> str | None:
    code = getattr(e, "sqlite_errorcode", None)
    text = str(e).lower()
    if code is None:  # raised without a code: go by SQLite's standard texts
        code = next((c for t, c in (("disk is full", SQLITE_FULL), ("database is locked", SQLITE_BUSY),
                                    ("table is locked", SQLITE_LOCKED), ("readonly database", SQLITE_READONLY),
                                    ("unable to open database", SQLITE_CANTOPEN), ("disk i/o error", SQLITE_IOERR),
                                    ("malformed", SQLITE_CORRUPT), ("not a database", SQLITE_NOTADB))
                     if t in text), None)
        if code is None:
            return None
    if code == SQLITE_READONLY_DBMOVED:
        return GONE
    primary = code & 0xFF
    if primary == SQLITE_FULL:
        return FULL
    if primary in (SQLITE_BUSY, SQLITE_LOCKED):
        return LOCKED
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return DAMAGED
    if primary in (SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_IOERR):
        return _probe(path, primary)
    return None


def _os_kind(e: OSError, path: Path | None) -> str | None:
    if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return FULL
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        target = Path(os.fsdecode(e.filename)) if e.filename else path
        if target is not None and not target.exists() and not _folder_writable(target.parent):
            return READONLY_FOLDER
        return READONLY
    if e.errno == errno.ENOENT:
        return MISSING
    if e.errno == errno.EIO:
        return IO
    return None


def _probe(path: Path | None, primary: int) -> str:
    """SQLite says 'read-only', 'cannot open' or 'I/O error': look at the file and its folder to say which."""
    if path is not None:
        if not path.parent.is_dir() or (primary != SQLITE_CANTOPEN and not path.exists()):
            return GONE
        if path.exists() and not _file_writable(path):
            return READONLY
        if not _folder_writable(path.parent):
            return READONLY_FOLDER
        if primary == SQLITE_IOERR and _free_bytes(path.parent) < 1 << 20:
            return FULL
    return READONLY if primary == SQLITE_READONLY else IO


def _file_writable(path: Path) -> bool:
    """Whether this process may open the file for writing (asked of the system: works for root, read-only
    mounts and immutable files, where os.access would say yes)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


def check_writable(path: Path) -> None:
    """Before the log-in (an encrypted database cannot be opened without its key): a read-only database file or
    folder is said at start, not at the first save."""
    path = Path(path)
    if path.exists() and not _file_writable(path):
        raise StorageError(message(READONLY, path), READONLY, path)
    if path.parent.is_dir() and not _folder_writable(path.parent):
        raise StorageError(message(READONLY_FOLDER, path), READONLY_FOLDER, path)


def _folder_writable(folder: Path) -> bool:
    probe = folder / f".write-probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return True
    except OSError:
        return False
    os.close(fd)
    probe.unlink(missing_ok=True)
    return True


def _free_bytes(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 1 << 62


# ------------------------------------------------------------------ who holds the file

def holders(path: Path) -> list[str]:
    """Other processes that have the database (or its -wal) open, named for a person: '本程序的另一个窗口（进程
    1234）', 'sqlite3（进程 99）'. Empty where the system does not tell (Windows) or nobody else has it open."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        wanted = {str(path.resolve()), f"{path.resolve()}-wal"}
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
    except OSError:
        return []
    found = []
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            targets = {os.readlink(f"{fd_dir}/{fd}") for fd in os.listdir(fd_dir)}
        except OSError:
            continue  # gone meanwhile, or not ours to look at
        if targets & wanted:
            found.append(f"{_process_name(pid)}（进程 {pid}）")
    return found


def _process_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        args = []
    joined = " ".join(args)
    if "fanpin" in joined or "-m desktop" in joined or " desktop " in f" {joined} ":
        return "本程序的另一个窗口"
    if args:
        return Path(args[0]).name
    return "另一个程序"
