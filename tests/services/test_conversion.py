"""A plain SQLite database from before encryption is converted at the first administrator's log-in (issue 15):
the database and every backup become SQLCipher files, the plain copy is removed once the encrypted one verifies,
every user keeps their password, and a conversion killed at any step leaves either the old or the new database
usable."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from desktop.services import audit, auth, backup, convert, keys, opening, regions, register
from desktop.services.auth import AuthError
from desktop.services.db import init_db, sqlite_url
from tests.conftest import ADMIN_PASSWORD, CLERK_PASSWORD, TODAY, family

T0 = datetime(2024, 11, 20, 8, 0, 0)


class Killed(BaseException):
    """The process ends here (as with a kill or a power cut): nothing after this point runs."""


def plain_township(path: Path) -> str:
    """A database as the program wrote it before encryption: plain SQLite, a household, two users, a backup.
    Returns a member's ID number."""
    db = init_db(sqlite_url(path), plain=True)
    with db.session(bootstrap="old") as s:
        regions.init_township(s, "稷下街道")
        east = regions.add_village(s, "东村")
        west = regions.add_village(s, "西村")
        auth.create_user(s, "admin", "管理员", "admin", ADMIN_PASSWORD)
        auth.create_user(s, "clerk", "村录入员", "clerk", CLERK_PASSWORD, village_ids=[west])
        s.commit()
    with db.session() as s:
        admin = auth.authenticate(s, "admin", ADMIN_PASSWORD, now=T0)
        s.commit()
    data, members = family(east)
    with db.session(admin) as s:
        register.save_household(s, data, members, as_of=TODAY)
        s.commit()
    db.dispose()
    backup.backup_sqlite(path, "manual", now=T0)
    assert keys.is_plain(path)
    return members[0].id_number


def forget(path: Path) -> None:
    keys._known.clear()


def grep(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def households(opened) -> int:
    with opened.db.session(opened.user) as s:
        return register.count_households(s)


def test_an_administrators_log_in_converts_the_database_and_every_backup(tmp_path):
    path = tmp_path / "workbench.sqlite3"
    id_number = plain_township(path)
    assert grep(tmp_path, id_number.encode())  # the control: before, the ID number is readable in the files
    opened = opening.log_in(path, "admin", ADMIN_PASSWORD, now=T0)
    assert opened.recovery_key and keys.unlock_recovery(path, opened.recovery_key) == opened.db.key
    assert households(opened) == 1
    with opened.db.session(opened.user) as s:
        assert audit.verify_chain(s).ok
        assert any(r.action == "加密数据库" for r in audit.recent(s))
    opened.db.dispose()
    assert grep(tmp_path, id_number.encode()) == []  # the database, its backups and no plain copy left
    assert grep(tmp_path, b"SQLite format 3") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backups", "workbench.sqlite3",
                                                          "workbench.sqlite3.keys"]
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(path).execute("SELECT * FROM member").fetchall()
    # every user keeps their password; the clerk's slot, opened through their old hash, becomes their own
    forget(path)
    clerk = opening.log_in(path, "clerk", CLERK_PASSWORD, now=T0)
    clerk.db.dispose()
    kf = keys.KeyFile.load(path)
    assert not any(slot.get("legacy") for slot in kf.slots.values())
    assert keys.unlock(path, "clerk", CLERK_PASSWORD) is not None
    backed = backup.list_backups(path)
    assert backed and all(keys.is_encrypted(b.path) for b in backed)
    assert backup.verify(backed[-1].path, full=True) is None  # an encrypted backup that restores


def test_only_an_administrator_converts(tmp_path):
    path = tmp_path / "workbench.sqlite3"
    plain_township(path)
    before = path.read_bytes()
    with pytest.raises(AuthError, match="请管理员先登录一次"):
        opening.log_in(path, "clerk", CLERK_PASSWORD, now=T0)
    assert keys.is_plain(path) and not keys.exists(path)
    assert len(path.read_bytes()) == len(before)


def killed_at(monkeypatch, module, name: str, after_calls: int = 0):
    """Make module.name end the process at its (after_calls+1)-th call."""
    real = getattr(module, name)
    calls = []

    def fake(*args, **kwargs):
        calls.append(1)
        if len(calls) > after_calls:
            raise Killed(name)
        return real(*args, **kwargs)
    monkeypatch.setattr(module, name, fake)


STEPS = [
    ("export", lambda mp: killed_at(mp, convert, "_export")),  # while writing the encrypted copy
    ("key file", lambda mp: killed_at(mp, keys, "create")),  # the copy written, no key file yet
    ("slots", lambda mp: killed_at(mp, keys.Vault, "set_legacy")),  # the key file half written
    ("before the rename", lambda mp: killed_at(mp, convert, "_rename")),  # the plain copy linked
    ("before the plain copy is removed", lambda mp: killed_at(mp, convert, "shred")),
    ("during the backups", lambda mp: killed_at(mp, convert, "_export", after_calls=1)),
]


@pytest.mark.parametrize("step", [s[0] for s in STEPS])
def test_a_conversion_killed_at_any_step_leaves_a_usable_database(tmp_path, monkeypatch, step):
    path = tmp_path / "workbench.sqlite3"
    id_number = plain_township(path)
    with monkeypatch.context() as mp:
        dict(STEPS)[step](mp)
        with pytest.raises(Killed):
            opening.log_in(path, "admin", ADMIN_PASSWORD, now=T0)
    forget(path)
    # the program starts again: the database at its path is the old plain one or the new encrypted one
    was_plain = keys.is_plain(path)
    assert was_plain == (step in ("export", "key file", "slots", "before the rename"))
    opened = opening.log_in(path, "admin", ADMIN_PASSWORD, now=T0 + timedelta(minutes=1))
    assert households(opened) == 1
    with opened.db.session(opened.user) as s:
        assert audit.verify_chain(s).ok
    opened.db.dispose()
    # whichever it was, after this log-in everything is encrypted and no plain copy is left
    assert grep(tmp_path, id_number.encode()) == []
    assert not any(p.name.endswith(convert.PLAIN_COPY) for p in tmp_path.rglob("*"))
    forget(path)
    assert opening.log_in(path, "clerk", CLERK_PASSWORD, now=T0 + timedelta(minutes=2)).user.username == "clerk"


def test_shred_never_overwrites_a_file_still_in_use_under_another_name(tmp_path):
    original = tmp_path / "a"
    original.write_bytes(b"register" * 100)
    link = tmp_path / "b"
    link.hardlink_to(original)
    convert.shred(link)
    assert not link.exists() and original.read_bytes() == b"register" * 100
    convert.shred(original)
    assert not original.exists()
