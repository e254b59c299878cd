"""Encryption at rest (issue 15, SPEC §12): the file and its backups are SQLCipher databases; log-in unwraps the
data key, then the database opens; attacks that used to work with any SQLite tool now fail.

The attacker here is "anyone who can sit at the PC": they can copy and edit every file in the data folder with the
standard sqlite3 module and grep, but they have no password and no recovery key."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from desktop.services import audit, auth, backup, backups, keys, opening, regions
from desktop.services.auth import AuthError
from desktop.services.db import DatabaseLocked, init_db, sqlite_url
from tests.conftest import ADMIN_PASSWORD, CLERK_PASSWORD, TEST_KEY, TODAY, family

T0 = datetime(2024, 11, 20, 8, 0, 0)

pytestmark = pytest.mark.sqlite_only("SQLCipher 加密的是 SQLite 文件；县级数据库的静态加密由服务器负责"
                                     "（README“县级数据库”）")


def household_with_ids(db, admin, township) -> tuple[str, str]:
    """A household of three: returns one member's ID number and name, as the register holds them."""
    from desktop.services import register
    data, members = family(township["villages"]["东村"], township["groups"][("东村", "一组")])
    with db.session(admin) as s:
        register.save_household(s, data, members, as_of=TODAY)
        s.commit()
    return members[0].id_number, members[0].name


def folder_bytes(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()}


def fresh_process(path: Path) -> None:
    """What a new start of the program knows: no key of any database (the log-in must unwrap it again)."""
    keys._known.pop(Path(path).resolve(), None)


# ------------------------------------------------------------------ the plain-SQLite attacks fail

def test_the_file_and_its_backups_hold_no_id_number_or_name_in_the_clear(db, township, admin):
    id_number, name = household_with_ids(db, admin, township)
    with db.session(admin) as s:
        taken = backups.take_backup(s)
    db.dispose()  # the WAL written into the file: what is on the disk is the whole database
    files = folder_bytes(db.sqlite_path.parent)
    assert db.sqlite_path in files and taken in files
    for path, data in files.items():
        assert id_number.encode() not in data, path
        assert name.encode("utf-8") not in data, path
        assert b"SQLite format 3" not in data, path  # not a plain SQLite file, not a plain page anywhere
    # the control: the same household IS in the file once decrypted (the search above could have found it)
    con = keys.connect(db.sqlite_path, TEST_KEY)
    try:
        assert con.execute("SELECT count(*) FROM member WHERE id_number = ?", (id_number,)).fetchone()[0] == 1
    finally:
        con.close()


def test_the_standard_sqlite3_module_cannot_read_or_edit_the_file(db, township, admin):
    household_with_ids(db, admin, township)
    db.dispose()
    for path in [db.sqlite_path] + [b.path for b in backup.list_backups(db.sqlite_path)]:
        con = sqlite3.connect(path)
        try:
            with pytest.raises(sqlite3.DatabaseError, match="not a database"):
                con.execute("SELECT password_hash FROM user_").fetchall()
            # the attack of the issue: put a known password's hash in the administrator's row
            with pytest.raises(sqlite3.DatabaseError, match="not a database"):
                con.execute("UPDATE user_ SET password_hash = ? WHERE username = 'admin'",
                            (auth.hash_password("Attacker-2024"),))
        finally:
            con.close()
    fresh_process(db.sqlite_path)
    with pytest.raises(AuthError):
        opening.log_in(db.sqlite_path, "admin", "Attacker-2024", now=T0)
    opened = opening.log_in(db.sqlite_path, "admin", ADMIN_PASSWORD, now=T0 + timedelta(seconds=5))
    assert opened.user.username == "admin"
    opened.db.dispose()


def test_without_a_log_in_the_program_itself_cannot_open_the_file(db, township):
    db.dispose()
    fresh_process(db.sqlite_path)
    with pytest.raises(DatabaseLocked):
        init_db(sqlite_url(db.sqlite_path))


def test_the_key_file_alone_does_not_give_the_key(db, township):
    """The key file holds the data key only sealed: no password, no key."""
    text = keys.key_path(db.sqlite_path).read_text()
    assert TEST_KEY.hex() not in text
    assert "clerk" not in text and "admin" not in text  # slots are named by an HMAC, not by the user name
    kf = keys.KeyFile.load(db.sqlite_path)
    assert len([n for n in kf.slots if n.startswith("user:")]) == 2 and keys.RECOVERY in kf.slots


def test_files_are_the_owners_only(db, township, admin):
    if os.name != "posix":
        pytest.skip("file modes are POSIX")
    with db.session(admin) as s:
        taken = backups.take_backup(s)
    for path in (db.sqlite_path, keys.key_path(db.sqlite_path), taken):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(taken.parent.stat().st_mode) == 0o700
    from desktop.paths import data_dir
    assert stat.S_IMODE(data_dir().stat().st_mode) == 0o700


# ------------------------------------------------------------------ log-in first, then the database opens

def test_log_in_unwraps_the_key_and_opens_the_database(db, township):
    db.dispose()
    fresh_process(db.sqlite_path)
    opened = opening.log_in(db.sqlite_path, "clerk", CLERK_PASSWORD, now=T0)
    try:
        assert opened.db.key == TEST_KEY
        assert opened.user.role == "clerk" and opened.user.village_ids == {township["villages"]["西村"]}
    finally:
        opened.db.dispose()


def patient_attack(path: Path, name: str, tries: int, start: datetime = T0) -> tuple[list[str], datetime]:
    """`tries` wrong passwords against a closed database, each as soon as the delay allows."""
    now, answers = start, []
    for i in range(tries):
        try:
            opening.log_in(path, name, f"Wrong-{i:03d}", now=now)
            answers.append("opened")
        except AuthError as exc:
            answers.append(str(exc))
        _failures, retry_at, _locked = keys.GuardFile(path).state(name)
        now = max(now, retry_at or now) + timedelta(milliseconds=100)
    return answers, now


def test_fifty_wrong_passwords_lock_the_account_before_the_database_opens(db, township, admin):
    db.dispose()
    fresh_process(db.sqlite_path)
    answers, now = patient_attack(db.sqlite_path, "clerk", 50)
    checked = [a for a in answers if a.startswith("用户名或密码不正确")]
    assert len(checked) == auth.LOCK_AFTER
    assert all("已锁定" in a for a in answers[auth.LOCK_AFTER:])
    with pytest.raises(AuthError, match="已锁定"):  # the right password does not open it either
        opening.log_in(db.sqlite_path, "clerk", CLERK_PASSWORD, now=now)
    # once the lock is over, the log-in works, and all 51 refusals are in the audit log with their own times
    opened = opening.log_in(db.sqlite_path, "clerk", CLERK_PASSWORD, now=now + timedelta(minutes=16))
    with opened.db.session(admin) as s:
        failed = [r for r in audit.recent(s, limit=5000) if r.action == "登录失败"]
    opened.db.dispose()
    assert len(failed) == 51
    assert failed[-1].at == T0 and {r.user for r in failed} == {"村录入员"}  # the log names the user
    assert keys.GuardFile(db.sqlite_path).state("clerk") == (0, None, None)  # a success starts afresh


def test_unknown_and_known_names_get_the_same_answers_before_the_database_opens(db, township):
    db.dispose()
    fresh_process(db.sqlite_path)
    known, _ = patient_attack(db.sqlite_path, "clerk", 8)
    unknown, _ = patient_attack(db.sqlite_path, "clerkk", 8)
    assert known == unknown


def test_unknown_and_known_names_run_the_same_key_derivation_before_the_database_opens(db, township,
                                                                                     monkeypatch):
    calls = []
    real = keys.hashlib.scrypt
    monkeypatch.setattr(keys.hashlib, "scrypt", lambda pw, **k: calls.append((k["n"], k["r"], k["p"]))
                        or real(pw, **k))
    for name in ("clerk", "nobody"):
        with pytest.raises(AuthError):
            opening.log_in(db.sqlite_path, name, "Wrong-pass-1", now=T0)
    assert len(calls) == 2 and calls[0] == calls[1] == (auth.SCRYPT_N, auth.SCRYPT_R, auth.SCRYPT_P)


def test_an_administrator_lifts_a_lock_made_before_the_database_opened(db, township, admin):
    _, now = patient_attack(db.sqlite_path, "clerk", auth.LOCK_AFTER)
    with db.session(admin) as s:
        row = next(u for u in auth.list_users(s, now) if u.username == "clerk")
        assert row.locked_minutes == 15
        auth.unlock_user(s, row.id)
        s.commit()
    assert opening.log_in(db.sqlite_path, "clerk", CLERK_PASSWORD, db=db, now=now).user.username == "clerk"


# ------------------------------------------------------------------ passwords rewrap the key

def test_a_changed_password_rewraps_the_key(db, township, admin, clerk):
    before = keys.KeyFile.load(db.sqlite_path).slots
    with db.session(clerk) as s:
        auth.change_password(s, clerk.id, CLERK_PASSWORD, "Xin-mima-2025")
        s.commit()
    after = keys.KeyFile.load(db.sqlite_path).slots
    changed = [n for n in after if after[n] != before.get(n)]
    assert len(changed) == 1  # only the clerk's slot; the data key itself is unchanged
    assert keys.unlock(db.sqlite_path, "clerk", CLERK_PASSWORD) is None
    assert keys.unlock(db.sqlite_path, "clerk", "Xin-mima-2025") == TEST_KEY
    assert keys.unlock(db.sqlite_path, "admin", ADMIN_PASSWORD) == TEST_KEY


def test_a_password_reset_rewraps_the_key_and_a_refused_change_leaves_it(db, township, admin):
    with db.session(admin) as s:
        uid = next(u.id for u in auth.list_users(s) if u.username == "clerk")
        auth.reset_password(s, uid, "Chong-zhi-2025")
        s.rollback()  # not saved: the key file must not change either
    assert keys.unlock(db.sqlite_path, "clerk", CLERK_PASSWORD) == TEST_KEY
    with db.session(admin) as s:
        auth.reset_password(s, uid, "Chong-zhi-2025")
        s.commit()
    assert keys.unlock(db.sqlite_path, "clerk", CLERK_PASSWORD) is None
    assert keys.unlock(db.sqlite_path, "clerk", "Chong-zhi-2025") == TEST_KEY


def test_a_disabled_users_password_no_longer_opens_the_key(db, township, admin):
    with db.session(admin) as s:
        uid = next(u.id for u in auth.list_users(s) if u.username == "clerk")
        auth.set_user_active(s, uid, False)
        s.commit()
        assert keys.unlock(db.sqlite_path, "clerk", CLERK_PASSWORD) is None
        auth.set_user_active(s, uid, True)
        s.commit()
        assert next(u for u in auth.list_users(s) if u.username == "clerk").needs_password
        auth.reset_password(s, uid, "Chong-zhi-2025")
        s.commit()
        assert not next(u for u in auth.list_users(s) if u.username == "clerk").needs_password
    assert keys.unlock(db.sqlite_path, "clerk", "Chong-zhi-2025") == TEST_KEY


# ------------------------------------------------------------------ the recovery key

def new_township(path: Path) -> str:
    """A new database as `init` makes it: returns its recovery key."""
    db = init_db(sqlite_url(path))
    recovery = db.recovery_key
    with db.session(bootstrap="init") as s:
        regions.init_township(s, "稷下街道")
        auth.create_user(s, "admin", "管理员", "admin", ADMIN_PASSWORD)
        s.commit()
    db.dispose()
    fresh_process(path)
    return recovery


def test_every_password_lost_the_recovery_key_sets_a_new_one(tmp_path):
    path = tmp_path / "w.sqlite3"
    recovery = new_township(path)
    assert len(recovery.replace("-", "")) == 30
    with pytest.raises(AuthError, match="恢复密钥不正确"):
        opening.recover(path, "ABCDE-ABCDE-ABCDE-ABCDE-ABCDE-ABCDE", "admin", "Xin-mima-2025")
    typed = recovery.lower().replace("-", " ")  # as people type it
    opened = opening.recover(path, typed, "admin", "Xin-mima-2025")
    with opened.db.session(opened.user) as s:
        assert any(r.action == "用恢复密钥重设密码" for r in audit.recent(s))
        assert audit.verify_chain(s).ok
    opened.db.dispose()
    fresh_process(path)
    with pytest.raises(AuthError):
        opening.log_in(path, "admin", ADMIN_PASSWORD, now=T0)
    assert opening.log_in(path, "admin", "Xin-mima-2025", now=T0 + timedelta(seconds=5)).user.is_admin


def test_the_recovery_key_sets_only_an_administrators_password(db, township):
    recovery = keys.new_recovery_key()
    db.vault.set_recovery(recovery)
    with pytest.raises(AuthError, match="不是管理员"):
        opening.recover(db.sqlite_path, recovery, "clerk", "Xin-mima-2025")
    assert keys.unlock(db.sqlite_path, "clerk", CLERK_PASSWORD) == TEST_KEY  # nothing changed


def test_init_prints_the_recovery_key_once_and_it_is_stored_nowhere_in_the_clear(tmp_path):
    path = tmp_path / "w.sqlite3"
    recovery = new_township(path)
    for data in folder_bytes(tmp_path).values():
        assert recovery.encode() not in data and recovery.replace("-", "").encode() not in data
    assert keys.unlock_recovery(path, recovery) is not None


# ------------------------------------------------------------------ what encryption costs

def test_binding_empty_values_costs_no_more_than_before_encryption():
    """Imports bind mostly NULLs. Without the NoneType adapter in services/keys.py, sqlcipher3 spent about 4× what
    Python's own sqlite3 module (the program before encryption) spends on a None; with it, about half."""
    import time

    def cost(module) -> float:
        con = module.connect(":memory:")
        try:
            con.execute("CREATE TABLE t (" + ", ".join(f"c{j}" for j in range(40)) + ")")
            insert = "INSERT INTO t VALUES (" + ", ".join("?" * 40) + ")"
            rows = [(None,) * 40] * 20_000
            con.executemany(insert, rows)  # warm
            spent = []
            for _ in range(3):
                started = time.process_time()
                con.executemany(insert, rows)
                spent.append(time.process_time() - started)
            assert con.execute("SELECT count(*) FROM t WHERE c0 IS NULL AND c39 IS NULL").fetchone()[0] == 80_000
            return min(spent)
        finally:
            con.close()
    before, now = cost(sqlite3), cost(keys.dbapi())
    assert now < 1.5 * before, (now, before)
