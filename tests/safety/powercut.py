"""A SQLite VFS that models a power cut: it passes every call to the system's own VFS ("unix"), and beside it keeps
what the disk is sure to hold — each file as it was at its last fsync. At a chosen operation the power goes:
from then on every call fails, and `survivors()` gives the files as a rebooted machine finds them: the synced
contents, plus (if asked) any subset of the writes not yet synced, since a disk may have written some of them in
any order.

Written in ctypes against the SQLite that the program's sqlite3 module (sqlcipher3) carries, so the program's own code
(SQLAlchemy, the services) runs unchanged on top of it while it is registered as the default VFS.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import random
from contextlib import contextmanager
from pathlib import Path

c_int, c_char_p, c_void_p, c_int64, c_double = ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int64, \
    ctypes.c_double
SQLITE_OK, SQLITE_IOERR = 0, 10
OPEN_MAIN_DB, OPEN_MAIN_JOURNAL, OPEN_WAL = 0x100, 0x800, 0x80000
VFS_NAME = b"powercut"


class IoMethods(ctypes.Structure):
    pass


class File(ctypes.Structure):
    _fields_ = [("pMethods", ctypes.POINTER(IoMethods))]


FILE_P = ctypes.POINTER(File)
X_CLOSE = ctypes.CFUNCTYPE(c_int, FILE_P)
X_READ = ctypes.CFUNCTYPE(c_int, FILE_P, c_void_p, c_int, c_int64)
X_WRITE = ctypes.CFUNCTYPE(c_int, FILE_P, c_void_p, c_int, c_int64)
X_TRUNCATE = ctypes.CFUNCTYPE(c_int, FILE_P, c_int64)
X_SYNC = ctypes.CFUNCTYPE(c_int, FILE_P, c_int)
X_FILESIZE = ctypes.CFUNCTYPE(c_int, FILE_P, ctypes.POINTER(c_int64))
X_LOCK = ctypes.CFUNCTYPE(c_int, FILE_P, c_int)
X_CHECKRESERVED = ctypes.CFUNCTYPE(c_int, FILE_P, ctypes.POINTER(c_int))
X_FILECONTROL = ctypes.CFUNCTYPE(c_int, FILE_P, c_int, c_void_p)
X_INT = ctypes.CFUNCTYPE(c_int, FILE_P)
X_SHMMAP = ctypes.CFUNCTYPE(c_int, FILE_P, c_int, c_int, c_int, c_void_p)
X_SHMLOCK = ctypes.CFUNCTYPE(c_int, FILE_P, c_int, c_int, c_int)
X_SHMBARRIER = ctypes.CFUNCTYPE(None, FILE_P)
X_SHMUNMAP = ctypes.CFUNCTYPE(c_int, FILE_P, c_int)

IoMethods._fields_ = [
    ("iVersion", c_int), ("xClose", X_CLOSE), ("xRead", X_READ), ("xWrite", X_WRITE), ("xTruncate", X_TRUNCATE),
    ("xSync", X_SYNC), ("xFileSize", X_FILESIZE), ("xLock", X_LOCK), ("xUnlock", X_LOCK),
    ("xCheckReservedLock", X_CHECKRESERVED), ("xFileControl", X_FILECONTROL), ("xSectorSize", X_INT),
    ("xDeviceCharacteristics", X_INT), ("xShmMap", X_SHMMAP), ("xShmLock", X_SHMLOCK),
    ("xShmBarrier", X_SHMBARRIER), ("xShmUnmap", X_SHMUNMAP), ("xFetch", c_void_p), ("xUnfetch", c_void_p)]


class Vfs(ctypes.Structure):
    pass


VFS_P = ctypes.POINTER(Vfs)
X_OPEN = ctypes.CFUNCTYPE(c_int, VFS_P, c_void_p, FILE_P, c_int, ctypes.POINTER(c_int))
X_DELETE = ctypes.CFUNCTYPE(c_int, VFS_P, c_char_p, c_int)
Vfs._fields_ = [
    ("iVersion", c_int), ("szOsFile", c_int), ("mxPathname", c_int), ("pNext", VFS_P), ("zName", c_char_p),
    ("pAppData", c_void_p), ("xOpen", X_OPEN), ("xDelete", X_DELETE), ("xAccess", c_void_p),
    ("xFullPathname", c_void_p), ("xDlOpen", c_void_p), ("xDlError", c_void_p), ("xDlSym", c_void_p),
    ("xDlClose", c_void_p), ("xRandomness", c_void_p), ("xSleep", c_void_p), ("xCurrentTime", c_void_p),
    ("xGetLastError", c_void_p), ("xCurrentTimeInt64", c_void_p), ("xSetSystemCall", c_void_p),
    ("xGetSystemCall", c_void_p), ("xNextSystemCall", c_void_p)]


def _library() -> ctypes.CDLL | None:
    """The SQLite the program runs on: SQLCipher's, linked into the sqlcipher3 extension module (loading it again
    by its path gives the copy already in the process, so a VFS registered here is the one its connections use)."""
    try:
        import sqlcipher3._sqlite3 as engine
    except ImportError:
        return None
    lib = ctypes.CDLL(engine.__file__)
    lib.sqlite3_vfs_find.restype = VFS_P
    lib.sqlite3_vfs_find.argtypes = [c_char_p]
    lib.sqlite3_vfs_register.argtypes = [VFS_P, c_int]
    lib.sqlite3_vfs_unregister.argtypes = [VFS_P]
    lib.sqlite3_filename_database.restype = c_char_p
    lib.sqlite3_filename_database.argtypes = [c_void_p]
    return lib


class Tracked:
    """One file's synced contents and the writes since its last sync."""

    def __init__(self, path: str, durable: bytes):
        self.path = path
        self.durable = bytearray(durable)
        self.pending: list[tuple[int, bytes | None]] = []  # (offset, data) or (size, None) for a truncate

    @staticmethod
    def apply(image: bytearray, op: tuple[int, bytes | None]) -> None:
        offset, data = op
        if data is None:
            del image[offset:]
            return
        if len(image) < offset:
            image.extend(b"\0" * (offset - len(image)))
        image[offset:offset + len(data)] = data

    def sync(self) -> None:
        for op in self.pending:
            self.apply(self.durable, op)
        self.pending.clear()


class PowerCut:
    """The layer. `cut_at`: the number of the write/truncate/sync operation at which the power goes (None: never).
    `ops` counts those operations on tracked files (database, WAL, journal)."""

    def __init__(self, cut_at: int | None = None, on_op=None):
        self.cut_at = cut_at
        self.on_op = on_op  # called with each operation's number before it is done (the kill tests pause there)
        self.log: list[tuple[str, str]] = []  # (operation, file) in order: write, truncate, sync, delete
        self.ops = 0
        self.dead = False
        self.files: dict[str, Tracked] = {}  # by path; a deleted file is removed
        self._by_address: dict[int, Tracked | None] = {}

    # what survives
    def survivors(self, rng: random.Random | None = None) -> dict[str, bytes]:
        """Each tracked file as the disk holds it after the cut: its synced contents, plus, with `rng`, a random
        subset of its unsynced writes applied in order (the disk wrote some of them before the power went)."""
        out = {}
        for path, t in self.files.items():
            image = bytearray(t.durable)
            for op in t.pending:
                if rng is not None and rng.random() < 0.5:
                    Tracked.apply(image, op)
            out[path] = bytes(image)
        return out

    def _tick(self, kind: str = "", path: str = "") -> bool:
        """Count an operation; True when the power is (now) off."""
        if self.dead:
            return True
        self.ops += 1
        self.log.append((kind, path))
        if self.on_op is not None:
            self.on_op(self.ops)
        if self.cut_at is not None and self.ops >= self.cut_at:
            self.dead = True
        return self.dead


_LIB = None
_KEEP: list = []  # ctypes objects that SQLite holds pointers to: alive for the life of the process


@contextmanager
def installed(layer: PowerCut):
    """Register the layer as SQLite's default VFS for the block (connections opened inside use it)."""
    global _LIB
    _LIB = _LIB or _library()
    if _LIB is None:
        raise RuntimeError("libsqlite3 not found")
    real = _LIB.sqlite3_vfs_find(b"unix")
    if not real:
        raise RuntimeError("no unix VFS")
    real_vfs = real.contents
    inner_offset = ctypes.sizeof(c_void_p)

    def inner(f) -> ctypes.POINTER(File):
        return ctypes.cast(ctypes.addressof(f.contents) + inner_offset, FILE_P)

    def real_methods(f) -> IoMethods:
        return inner(f).contents.pMethods.contents

    def tracked(f) -> Tracked | None:
        return layer._by_address.get(ctypes.addressof(f.contents))

    def x_close(f):
        layer._by_address.pop(ctypes.addressof(f.contents), None)
        i = inner(f)
        if not i.contents.pMethods:
            return SQLITE_OK
        return real_methods(f).xClose(i)

    def x_read(f, buf, amount, offset):
        return real_methods(f).xRead(inner(f), buf, amount, offset)

    def x_write(f, buf, amount, offset):
        t = tracked(f)
        if t is not None:
            if layer._tick("write", t.path):
                return SQLITE_IOERR
            t.pending.append((offset, ctypes.string_at(buf, amount)))
        return real_methods(f).xWrite(inner(f), buf, amount, offset)

    def x_truncate(f, size):
        t = tracked(f)
        if t is not None:
            if layer._tick("truncate", t.path):
                return SQLITE_IOERR
            t.pending.append((size, None))
        return real_methods(f).xTruncate(inner(f), size)

    def x_sync(f, flags):
        t = tracked(f)
        if t is not None and layer._tick("sync", t.path):
            return SQLITE_IOERR
        rc = real_methods(f).xSync(inner(f), flags)
        if t is not None and rc == SQLITE_OK:
            t.sync()
        return rc

    def passthrough(name):
        def call(f, *args):
            if layer.dead and name in ("xLock", "xShmLock", "xFileSize"):
                return SQLITE_IOERR
            return getattr(real_methods(f), name)(inner(f), *args)
        return call

    methods = IoMethods(
        2, X_CLOSE(x_close), X_READ(x_read), X_WRITE(x_write), X_TRUNCATE(x_truncate), X_SYNC(x_sync),
        X_FILESIZE(passthrough("xFileSize")), X_LOCK(passthrough("xLock")), X_LOCK(passthrough("xUnlock")),
        X_CHECKRESERVED(passthrough("xCheckReservedLock")), X_FILECONTROL(passthrough("xFileControl")),
        X_INT(passthrough("xSectorSize")), X_INT(passthrough("xDeviceCharacteristics")),
        X_SHMMAP(passthrough("xShmMap")), X_SHMLOCK(passthrough("xShmLock")),
        X_SHMBARRIER(passthrough("xShmBarrier")), X_SHMUNMAP(passthrough("xShmUnmap")), None, None)

    def x_open(vfs, name, f, flags, out_flags):
        f.contents.pMethods = ctypes.POINTER(IoMethods)()
        i = inner(f)
        i.contents.pMethods = ctypes.POINTER(IoMethods)()
        rc = real_vfs.xOpen(real, name, i, flags, out_flags)
        if not i.contents.pMethods:
            return rc  # nothing opened: SQLite will not call xClose
        f.contents.pMethods = ctypes.pointer(methods)
        if rc == SQLITE_OK and name and flags & (OPEN_MAIN_DB | OPEN_WAL | OPEN_MAIN_JOURNAL):
            path = ctypes.string_at(name).decode()
            t = layer.files.get(path)
            if t is None:
                p = Path(path)
                t = layer.files[path] = Tracked(path, p.read_bytes() if p.exists() else b"")
            layer._by_address[ctypes.addressof(f.contents)] = t
        return rc

    def x_delete(vfs, name, sync_dir):
        if layer.dead:
            return SQLITE_IOERR
        path = name.decode()
        if path in layer.files:
            if layer._tick("delete", path):
                return SQLITE_IOERR
            layer.files.pop(path)
        return real_vfs.xDelete(real, name, sync_dir)

    vfs = Vfs()
    ctypes.memmove(ctypes.byref(vfs), real, ctypes.sizeof(Vfs))
    vfs.iVersion = min(real_vfs.iVersion, 3)
    vfs.szOsFile = real_vfs.szOsFile + inner_offset
    vfs.pNext = VFS_P()
    vfs.zName = VFS_NAME
    vfs.xOpen = X_OPEN(x_open)
    vfs.xDelete = X_DELETE(x_delete)
    _KEEP.extend([methods, vfs, x_open, x_delete])
    _LIB.sqlite3_vfs_register(ctypes.byref(vfs), 1)
    try:
        yield layer
    finally:
        _LIB.sqlite3_vfs_register(real, 1)  # the system VFS is the default again
        _LIB.sqlite3_vfs_unregister(ctypes.byref(vfs))


def python_uses_this_library() -> bool:
    """Whether the program's SQLite module (sqlcipher3) runs on the library this layer registers with."""
    lib = _library()
    if lib is None:
        return False
    import sqlcipher3.dbapi2
    lib.sqlite3_libversion.restype = c_char_p
    return lib.sqlite3_libversion().decode() == sqlcipher3.dbapi2.sqlite_version
