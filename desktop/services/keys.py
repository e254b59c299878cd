"""Encryption at rest (SPEC §12): the SQLite file and every backup are SQLCipher 4 databases under one random
256-bit data key, and that key is stored only wrapped.

The key file beside the database (`workbench.sqlite3.keys`, JSON, mode 0600) holds the data key wrapped once per
user password and once by the recovery key printed at the first run: a slot is the data key sealed with AES-256-GCM
under a key derived from the password by scrypt (the same cost as the password hashes). Slots are named by an HMAC
of the user name, so the file does not list the names. The data key is given to SQLCipher raw (`x'…'`), so opening
a connection costs no key derivation; the only slow step is the one scrypt of a log-in.

Log-in comes first: the password unwraps the data key, then the database is opened. Changing or resetting a
password rewrites that user's slot (when the transaction commits); disabling a user removes it.

Before the database can be opened there is nowhere encrypted to write a failed log-in, so the delay/lock-out
state and the failed attempts not yet audited live in a second small file beside it (`….guard`, JSON, 0600); the
next successful log-in moves the attempts into the audit log (with their own times) and clears that name's state.
Whoever can edit files in the data folder can reset this state; they can also copy the key file and guess offline,
against which only the scrypt cost protects: the delay and lock-out are for guesses made through the program.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlcipher3.dbapi2 as _sqlcipher

from .errors import ServiceError

log = logging.getLogger(__name__)

KEY_SUFFIX = ".keys"
GUARD_SUFFIX = ".guard"
FORMAT = "fanpin-keys"
RECOVERY = "recovery"
PLAIN_HEADER = b"SQLite format 3\x00"
RECOVERY_GROUPS, RECOVERY_GROUP = 6, 5  # 30 base32 characters: 150 random bits
_B32 = "ABCDEFGHJKMNPQRSTVWXYZ0123456789"  # no I, L, O, U: read aloud and typed without confusion
MAX_PENDING = 2000  # failed log-ins kept for the audit while nobody logs in


class KeyFileError(ServiceError):
    """The key file is missing, unreadable or not this database's."""


class NoKey(ServiceError):
    """An encrypted file whose key this process has not unlocked (nobody has logged in)."""


# ------------------------------------------------------------------ files and connections

def key_path(db_path: Path) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + KEY_SUFFIX)


def guard_path(db_path: Path) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + GUARD_SUFFIX)


def is_plain(path: Path) -> bool:
    """An unencrypted SQLite file (a database from before encryption, or an export of one)."""
    try:
        with open(path, "rb") as f:
            return f.read(16) == PLAIN_HEADER
    except OSError:
        return False


def is_encrypted(path: Path) -> bool:
    """A non-empty file that is not plain SQLite: this program's encrypted database (or not a database at all)."""
    path = Path(path)
    try:
        return path.stat().st_size > 0 and not is_plain(path)
    except OSError:
        return False


def dbapi():
    """The SQLCipher DB-API module (sqlcipher3): the SQLite engine with encryption, used for every connection."""
    return _sqlcipher


def _quiet() -> None:
    """SQLCipher writes every failed page decryption to stderr (a wrong key tried on a file is not news: the caller
    says what it means, in Chinese)."""
    try:
        con = _sqlcipher.connect(":memory:")
        try:
            con.execute("PRAGMA cipher_log_level = NONE")
        finally:
            con.close()
    except _sqlcipher.Error:
        pass


_quiet()

# A None parameter: sqlcipher3's module (a fork of pysqlite3) finds no adapter for it in its table and then goes the
# long way through the adaptation protocol on every one it binds — about 4× what Python's own sqlite3 spends — so
# that an import, whose rows are full of empty cells, spent a third more CPU than before encryption, cipher or no
# cipher (bench/bench_crypt.py). Found in the table, None comes back as itself and is bound as NULL at once.
_sqlcipher.register_adapter(type(None), lambda value: value)

# What an SQLite connection raises: SQLCipher's module has its own classes, with the same result codes.
ERRORS = (sqlite3.Error, _sqlcipher.Error)


def apply_key(con, key: bytes | None) -> None:
    """The key must be the first statement on a connection. A raw key (x'…') skips SQLCipher's own KDF."""
    if key is not None:
        con.execute(f"PRAGMA key = \"x'{key.hex()}'\"")


def connect(path: Path, key: bytes | None, mode: str = "rw"):
    """A DB-API connection to a database file, keyed (`key` None: a plain SQLite file). `mode` ro/rw/rwc as in
    SQLite URIs: never creates a file unless asked."""
    con = dbapi().connect(f"{Path(path).resolve().as_uri()}?mode={mode}", uri=True)
    try:
        apply_key(con, key)
    except BaseException:
        con.close()
        raise
    return con


def opens_with(path: Path, key: bytes | None) -> bool:
    """Whether `key` opens the file (reads its schema)."""
    try:
        con = connect(path, key, "ro")
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return True
        finally:
            con.close()
    except Exception:  # noqa: BLE001 - any failure means: not with this key
        return False


def private(path: Path, folder: bool = False) -> None:
    """Owner-only access where the OS has it (0700 folders, 0600 files); Windows ACLs are left as they are."""
    if os.name != "posix":
        return
    try:
        os.chmod(path, 0o700 if folder else 0o600)
    except OSError:
        log.warning("could not restrict %s", path, exc_info=True)


def _write_json(path: Path, data: dict) -> None:
    """Written whole (beside, synced, renamed), readable by the owner only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------ the keys this process has unlocked

_known: dict[Path, bytes] = {}
_known_lock = threading.Lock()


def remember(db_path: Path, key: bytes) -> None:
    """The data key of an open database, kept for its backups and checks (in this process's memory only)."""
    with _known_lock:
        _known[Path(db_path).resolve()] = key


def known(db_path: Path) -> bytes | None:
    return _known.get(Path(db_path).resolve())


def key_for(path: Path) -> bytes | None:
    """The key of a database file or of a copy of it (a backup, a file being written beside it), when this
    process has unlocked that database; None for a file that is plain SQLite or unknown here."""
    path = Path(path).resolve()
    if path in _known:
        return _known[path]
    if not is_encrypted(path):
        return None
    with _known_lock:
        candidates = [(db, k) for db, k in _known.items()
                      if path.parent in (db.parent, db.parent / "backups")]
    distinct = list(dict.fromkeys(k for _db, k in candidates))
    if len(distinct) == 1:
        return distinct[0]
    return next((k for k in distinct if opens_with(path, k)), None)


# ------------------------------------------------------------------ slots

def _scrypt_params() -> tuple[int, int, int]:
    from . import auth  # the password hashes' cost (tests lower it for the whole process)
    return auth.SCRYPT_N, auth.SCRYPT_R, auth.SCRYPT_P


def _kek(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=2**27)


def _seal(data_key: bytes, secret: str, label: str) -> dict:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    n, r, p = _scrypt_params()
    salt = os.urandom(16)
    nonce = os.urandom(12)
    sealed = AESGCM(_kek(secret, salt, n, r, p)).encrypt(nonce, data_key, label.encode())
    return dict(kdf="scrypt", n=n, r=r, p=p, salt=salt.hex(), nonce=nonce.hex(), sealed=sealed.hex())


def _open_slot(slot: dict, secret: str, label: str) -> bytes | None:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    try:
        kek = _kek(secret, bytes.fromhex(slot["salt"]), int(slot["n"]), int(slot["r"]), int(slot["p"]))
        if slot.get("legacy"):
            kek = hmac.digest(kek, b"fanpin legacy slot", "sha256")
        return AESGCM(kek).decrypt(bytes.fromhex(slot["nonce"]), bytes.fromhex(slot["sealed"]), label.encode())
    except (InvalidTag, KeyError, ValueError, TypeError):
        return None


def _dummy_slot() -> dict:
    """A slot of the production cost that opens with no password: tried for a name that has no slot, so that an
    unknown name costs the same scrypt as a known one."""
    n, r, p = _scrypt_params()
    return dict(kdf="scrypt", n=n, r=r, p=p, salt="00" * 16, nonce="00" * 12, sealed="00" * 48)


def new_recovery_key() -> str:
    chars = "".join(secrets.choice(_B32) for _ in range(RECOVERY_GROUPS * RECOVERY_GROUP))
    return "-".join(chars[i:i + RECOVERY_GROUP] for i in range(0, len(chars), RECOVERY_GROUP))


def normalise_recovery(text: str) -> str:
    """As printed, whatever the case, spaces or dashes typed; O→0, I/L→1 as people misread them."""
    raw = "".join(ch for ch in text.upper() if ch.isalnum()).replace("O", "0").replace("I", "1").replace("L", "1")
    return "-".join(raw[i:i + RECOVERY_GROUP] for i in range(0, len(raw), RECOVERY_GROUP))


@dataclass
class KeyFile:
    path: Path
    salt: bytes  # names the slots (HMAC of the user name)
    slots: dict[str, dict] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # not secret: the township's name for the log-in screen

    def slot_name(self, username: str) -> str:
        return "user:" + hmac.digest(self.salt, username.strip().encode("utf-8"), "sha256").hex()[:32]

    @classmethod
    def load(cls, db_path: Path) -> KeyFile:
        path = key_path(db_path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError("format")
            return cls(path, bytes.fromhex(data["salt"]), dict(data.get("slots", {})), dict(data.get("extra", {})))
        except FileNotFoundError:
            raise KeyFileError(f"找不到数据库的密钥文件：{path}\n数据库已加密，没有密钥文件无法打开。"
                               "请把密钥文件放回数据库所在的文件夹（它和数据库一起复制、一起备份）。") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyFileError(f"数据库的密钥文件无法读取或已损坏：{path}（{exc}）") from None

    def save(self) -> None:
        _write_json(self.path, {"format": FORMAT, "version": 1, "salt": self.salt.hex(), "slots": self.slots,
                                "extra": self.extra})


def exists(db_path: Path) -> bool:
    return key_path(db_path).is_file()


def create(db_path: Path, data_key: bytes | None = None) -> tuple[bytes, str]:
    """A new data key and key file for a new (or converted) database: returns the data key and the recovery key,
    which is shown once and stored nowhere in clear."""
    data_key = data_key or secrets.token_bytes(32)
    recovery = new_recovery_key()
    kf = KeyFile(key_path(db_path), secrets.token_bytes(16))
    kf.slots[RECOVERY] = _seal(data_key, recovery, RECOVERY)
    kf.save()
    return data_key, recovery


def unlock(db_path: Path, username: str, password: str) -> bytes | None:
    """The data key when the password opens the user's slot, else None (after the same work for any name)."""
    kf = KeyFile.load(db_path)
    name = kf.slot_name(username)
    slot = kf.slots.get(name)
    key = _open_slot(slot or _dummy_slot(), password, name if slot else "dummy")
    if key is not None and slot and slot.get("legacy"):  # first log-in since the conversion: a slot of its own
        kf.slots[name] = _seal(key, password, name)
        kf.save()
    return key if slot else None


def unlock_recovery(db_path: Path, recovery_key: str) -> bytes | None:
    kf = KeyFile.load(db_path)
    slot = kf.slots.get(RECOVERY)
    return _open_slot(slot, normalise_recovery(recovery_key), RECOVERY) if slot else None


class Vault:
    """An unlocked key file: the data key in memory and the slots to rewrite. Travels with the sessions of an
    encrypted database (session.info["vault"]); changes are written when the transaction commits."""

    def __init__(self, db_path: Path, data_key: bytes):
        self.db_path = Path(db_path)
        self.data_key = data_key
        self._lock = threading.Lock()

    def _change(self, fn) -> None:
        with self._lock:
            kf = KeyFile.load(self.db_path)
            fn(kf)
            kf.save()

    def set_password(self, username: str, password: str) -> None:
        self._change(lambda kf: kf.slots.__setitem__(kf.slot_name(username), _seal(
            self.data_key, password, kf.slot_name(username))))

    def set_legacy(self, username: str, password_hash: str) -> None:
        """A slot opened by the password whose scrypt hash is given (the users of a database converted from plain
        SQLite, whose passwords the program never saw): replaced by a slot of its own at their first log-in."""
        scheme, n, r, p, salt, digest = password_hash.split("$")
        if scheme != "scrypt":
            return

        def put(kf: KeyFile) -> None:
            name = kf.slot_name(username)
            kek = hmac.digest(bytes.fromhex(digest), b"fanpin legacy slot", "sha256")
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            nonce = os.urandom(12)
            kf.slots[name] = dict(kdf="scrypt", n=int(n), r=int(r), p=int(p), salt=salt, nonce=nonce.hex(),
                                  legacy=True, sealed=AESGCM(kek).encrypt(nonce, self.data_key, name.encode()).hex())
        if len(digest) == 64:
            self._change(put)

    def remove(self, username: str) -> None:
        self._change(lambda kf: kf.slots.pop(kf.slot_name(username), None))

    def has(self, username: str) -> bool:
        kf = KeyFile.load(self.db_path)
        return kf.slot_name(username) in kf.slots

    def check(self, username: str, password: str) -> bool:
        kf = KeyFile.load(self.db_path)
        name = kf.slot_name(username)
        slot = kf.slots.get(name)
        return slot is not None and _open_slot(slot, password, name) == self.data_key

    def set_recovery(self, recovery_key: str) -> None:
        self._change(lambda kf: kf.slots.__setitem__(RECOVERY, _seal(self.data_key, normalise_recovery(
            recovery_key), RECOVERY)))

    def set_extra(self, **values) -> None:
        self._change(lambda kf: kf.extra.update(values))

    def set_township(self, name: str) -> None:
        self.set_extra(township=name)

    def clear_guard(self, username: str) -> bool:
        """Lift the delay and lock-out kept before the database opens (管理员 解除锁定, a password reset)."""
        with self._lock:
            guard = GuardFile(self.db_path)
            if not guard.clear(username):
                return False
            guard.save()
            return True

    def locked(self, usernames: list[str], now: datetime) -> dict[str, datetime]:
        guard = GuardFile(self.db_path)
        out = {}
        for name in usernames:
            _failures, _retry, until = guard.state(name)
            if until is not None and until > now:
                out[name] = until
        return out


def township_hint(db_path: Path) -> str | None:
    """The township's name for the log-in screen (not secret; kept in the key file)."""
    try:
        return KeyFile.load(db_path).extra.get("township")
    except KeyFileError:
        return None


# ------------------------------------------------------------------ staged changes (written at commit)

def stage(session, op: str, *args) -> None:
    """Queue a key-file change for the commit of this session: written before the database commits, so a key
    file that cannot be written stops the change (nothing saved) instead of leaving a password only half
    changed. No vault (PostgreSQL, a plain database being converted): nothing to do."""
    vault = session.info.get("vault")
    if vault is None:
        return
    session.info.setdefault("_key_changes", []).append((op, args))


def _apply_staged(session) -> None:
    changes = session.info.pop("_key_changes", None)
    vault = session.info.get("vault")
    if not changes or vault is None:
        return
    for op, args in changes:
        getattr(vault, op)(*args)


def _drop_staged(session) -> None:
    session.info.pop("_key_changes", None)


def install_session_hooks() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session
    if not event.contains(Session, "before_commit", _apply_staged):
        event.listen(Session, "before_commit", _apply_staged)
        event.listen(Session, "after_rollback", _drop_staged)


install_session_hooks()


# ------------------------------------------------------------------ the log-in guard before the database opens

def _guard_name(salt: bytes, username: str) -> str:
    return hmac.digest(salt, ("guard:" + username).encode("utf-8"), "sha256").hex()[:32]


class GuardFile:
    """Delay and lock-out state per typed name (named by an HMAC, as the slots), and failed attempts waiting to
    be written to the audit log."""

    def __init__(self, db_path: Path):
        self.path = guard_path(db_path)
        try:
            self.salt = KeyFile.load(db_path).salt
        except KeyFileError:
            self.salt = b"\0" * 16
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        self.names: dict[str, dict] = dict(data.get("names", {}))
        self.pending: list[dict] = list(data.get("pending", []))

    def state(self, username: str) -> tuple[int, datetime | None, datetime | None]:
        row = self.names.get(_guard_name(self.salt, username), {})

        def when(key):
            return datetime.fromisoformat(row[key]) if row.get(key) else None
        return int(row.get("failures", 0)), when("retry_at"), when("locked_until")

    def set(self, username: str, failures: int, retry_at: datetime | None, locked_until: datetime | None) -> None:
        self.names[_guard_name(self.salt, username)] = {
            "failures": failures, "retry_at": retry_at.isoformat() if retry_at else None,
            "locked_until": locked_until.isoformat() if locked_until else None}

    def clear(self, username: str) -> bool:
        return self.names.pop(_guard_name(self.salt, username), None) is not None

    def add_pending(self, at: datetime, username: str, reason: str) -> None:
        self.pending.append({"at": at.isoformat(), "user": username[:64], "reason": reason})
        del self.pending[:-MAX_PENDING]

    def take_pending(self) -> list[dict]:
        taken, self.pending = self.pending, []
        return taken

    def save(self) -> None:
        _write_json(self.path, {"names": self.names, "pending": self.pending})
