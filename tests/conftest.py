"""Fixtures: a fresh database file per test, a configured township, a logged-in context.

Speed: the schema is migrated once per run into a template file that each test copies (a migration costs far
more than a file copy), and passwords are hashed with a cheap scrypt cost in this process only. Both are test
settings: the program itself always migrates and always uses auth.SCRYPT_N's production cost."""

from __future__ import annotations

import copy
import filecmp
import json
import os
import sys
import threading
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from desktop.services import auth, keys, regions, settings
from desktop.services import db as dbmod
from desktop.services.context import AppContext
from desktop.services.idnumber import make_id
from desktop.services.register import HouseholdData, MemberData
from tests import dbserver

TODAY = date(2024, 11, 20)
YEAR = 2024


# ---------------------------------------------------------------------------- order of the run

TYPICAL_SECONDS = 0.3  # most tests: a template copy and a few service calls
SLOW_SECONDS = 10      # a test marked slow without its own estimate


def expected_seconds(item) -> float:
    """A test's rough duration on the 2-core machine: `@pytest.mark.slow(seconds=60)`, 10 s for a plain slow mark."""
    marker = item.get_closest_marker("slow")
    if marker is None:
        return TYPICAL_SECONDS
    return float(marker.kwargs.get("seconds", SLOW_SECONDS))


# Each file's measured seconds (the sum of its tests' setup, call and teardown in one process), written by
# `./test.sh --store-file-seconds`: the order of the run takes a file's measured time when there is one and the
# marks' estimate above for a file not measured yet. Only the order depends on it, never a result.
FILE_SECONDS = Path(__file__).with_name("file_seconds.json")


def pytest_addoption(parser):
    parser.addoption("--store-file-seconds", action="store_true",
                     help=f"write each file's measured seconds to {FILE_SECONDS.name} (the order of later runs)")


def _measured_file_seconds() -> dict[str, float]:
    try:
        return json.loads(FILE_SECONDS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def pytest_collection_modifyitems(config, items):
    """Longest files first. test.sh hands whole files to the workers (pytest-xdist --dist loadfile, so a module's
    fixtures are built once) in this order (--no-loadscope-reorder), and a worker that finishes its file takes the
    next: the 60 s window test starts at once on one worker while the other takes the next files, and the run ends
    with short files on both workers instead of one worker alone with a long file (a few heavy tests in a file of
    few tests were estimated short from their number and came last: 10 s of one idle core at the end). A file's
    weight is its measured seconds (file_seconds.json), else the marks' estimate. Within a file the written order
    is kept."""
    by_file: dict[str, list] = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    measured = _measured_file_seconds()
    weight = {f: measured[f] if f in measured else sum(expected_seconds(i) for i in its) for f, its in by_file.items()}
    items[:] = [i for f in sorted(by_file, key=lambda f: -weight[f]) for i in by_file[f]]
    _skip_sqlite_only_on_postgres(items)


_file_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report):
    if report.when in ("setup", "call", "teardown"):
        f = report.nodeid.split("::", 1)[0]
        _file_seconds[f] = _file_seconds.get(f, 0.0) + report.duration


def pytest_sessionfinish(session):
    """--store-file-seconds: the run's measured seconds per file, in the process that sees every report (the
    xdist controller, or the only process with -n 0); a file this run did not reach keeps its old figure."""
    config = session.config
    if not config.getoption("--store-file-seconds") or hasattr(config, "workerinput") or not _file_seconds:
        return
    merged = {**_measured_file_seconds(), **{f: round(s, 2) for f, s in _file_seconds.items()}}
    FILE_SECONDS.write_text(json.dumps(dict(sorted(merged.items())), indent=0, ensure_ascii=False) + "\n",
                            encoding="utf-8")


# ---------------------------------------------------------------------------- cheap settings of the tests

TEST_SCRYPT_N = 2**4  # hashes stay real scrypt hashes, verified as in production, just cheap to make


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes():
    production = auth.SCRYPT_N
    auth.SCRYPT_N = TEST_SCRYPT_N
    yield
    auth.SCRYPT_N = production


PRODUCTION_SYNCHRONOUS = dbmod.SYNCHRONOUS


@pytest.fixture(autouse=True, scope="session")
def _commits_without_fsync():
    """Commits are not synced to the disk in tests (5 ms each here): only durability after a power cut needs it,
    and tests/safety/ runs with the program's own setting (FULL) to test exactly that."""
    dbmod.SYNCHRONOUS = "NORMAL"
    yield
    dbmod.SYNCHRONOUS = PRODUCTION_SYNCHRONOUS


@pytest.fixture(autouse=True, scope="session")
def _one_sqlite_dialect_for_the_run():
    """Every SQLite engine of the run shares the first one's dialect and compiled-statement cache. The program
    opens one engine a process and compiles each statement once; the tests open one a test, and each new dialect
    compiled every statement again (a quarter of a simple test's time). Compiled SQL depends only on the
    statement and the dialect, never on the file. The DB-API module (SQLCipher's, since encryption) is part of the
    dialect: engines of one module share. A key is set by each engine's own connect event, not by the dialect.
    tests/test_suite_speed.py checks that two test databases do share (a new create_engine argument once stopped
    it silently, and every test compiled every statement again: a third of the run)."""
    create_engine = dbmod.create_engine
    shared = {}

    def sharing(url, **kw):
        engine = create_engine(url, **kw)
        # (connect_args go to the pool's connect function, not to the dialect)
        if engine.dialect.name == "sqlite" and not kw.keys() - {"future", "module", "connect_args"}:
            engine.dialect, engine._compiled_cache = shared.setdefault(
                ("sqlite", kw.get("module")), (engine.dialect, engine._compiled_cache))
            engine.pool._dialect = engine.dialect
        return engine

    dbmod.create_engine = sharing
    yield
    dbmod.create_engine = create_engine


@pytest.fixture(autouse=True, scope="session")
def _data_folder_of_the_run(tmp_path_factory):
    """Nothing a test runs (the log file, a default database, a CLI in a process) writes the user's data folder."""
    before = os.environ.get("FANPIN_DATA_DIR")
    os.environ["FANPIN_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    yield
    if before is None:
        os.environ.pop("FANPIN_DATA_DIR", None)
    else:
        os.environ["FANPIN_DATA_DIR"] = before


# The data key of the template and of every test database copied from it (tests/dbserver.py): fixed and given raw,
# so that a test opens its encrypted database without unwrapping anything (the key file beside it is real: its
# slots are made by create_user at the cheap scrypt cost above, and log-ins and the command line unwrap them as in
# production). PostgreSQL databases have no key: the server's encryption at rest is not the program's.
TEST_KEY = dbserver.TEST_KEY
copy_template = dbserver.copy_template


def raw_connect(path, key: bytes | None = None, users=()):
    """A DB-API connection to a test's encrypted database file (or any copy of it), as another program with the
    key would have: for tests that look into the file or change it behind the program's back. The key: given, or
    known to this process, or unwrapped by the first of `users` ((name, password): a database made by the command
    line in another process), or the fixed test key."""
    key = key or keys.key_for(path)
    for name, password in users if key is None else ():
        key = keys.unlock(path, name, password)
        if key is not None:
            break
    return keys.connect(path, key or TEST_KEY, "rwc")


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only(reason): about the SQLite file itself; skipped on PostgreSQL")


def _skip_sqlite_only_on_postgres(items):
    if not dbserver.ON_POSTGRES:
        return
    for item in items:
        mark = item.get_closest_marker("sqlite_only")
        if mark is not None:
            reason = mark.args[0] if mark.args else "SQLite 文件本身的测试"
            item.add_marker(pytest.mark.skip(reason=f"仅 SQLite：{reason}"))


@pytest.fixture(autouse=True)
def _closed_widgets_deleted():
    """The widgets a test closed are deleted when it ends, not somewhere in a later test. pytest-qt closes them and
    calls deleteLater, but a deletion asked for outside an event loop waits for the next event loop, which is the
    next window test's first wait: until then the old window lived on, its timers firing and its application event
    filter (main_window.ShortcutFirst) seeing every event of the next test (up to five windows at once were seen).
    Runs after the test's other fixtures are gone (autouse here: set up first, torn down last)."""
    yield
    widgets = sys.modules.get("PySide6.QtWidgets")
    if widgets is not None and widgets.QApplication.instance() is not None:
        from PySide6.QtCore import QCoreApplication, QEvent
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture(autouse=True)
def _exception_hooks_of_the_test():
    """A test that starts the window (app.run_gui installs the crash reporter) or a command leaves the process's
    exception hooks as it found them."""
    saved = sys.excepthook, threading.excepthook, sys.unraisablehook
    yield
    sys.excepthook, threading.excepthook, sys.unraisablehook = saved


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory, _cheap_password_hashes):
    """One database migrated to the newest schema, copied (with its key file) by every test that wants a fresh one
    (an encrypted file on SQLite, a template database on the PostgreSQL server of FANPIN_TEST_DB_URL:
    tests/dbserver.py)."""
    template = dbserver.Template(tmp_path_factory.mktemp("template"))
    yield template
    template.close()


@pytest.fixture
def db(request, tmp_path, monkeypatch, migrated_template):
    """A new database at the newest schema for the test: a copy of the migrated template, or straight away a copy
    of the township template or of the one after the administrator's log-in when the test asks for `township` or
    `admin` and nothing else can write to the database before them (_preset): the file those fixtures would have
    made by replacing the copy, without the copy, the check and the two replacements (about 10 ms a test)."""
    monkeypatch.setenv("FANPIN_DATA_DIR", str(tmp_path / "data"))
    preset = _preset(request)
    if preset is None:
        database = migrated_template.fresh(tmp_path)  # a copy of the file at the head: not even a look at the revision
    else:
        path = tmp_path / "test.sqlite3"
        copy_template(request.getfixturevalue(f"{preset}_template")[0], path)
        # a copy of a file at the head: Alembic's look at the revision (2 ms) left out (tests/test_suite_speed.py)
        database = dbmod.init_db(dbmod.sqlite_url(path), key=TEST_KEY, run_migrations=False)
        database.test_preset = preset
    yield database
    _window_work_done()
    dbserver.release(database)


def _preset(request) -> str | None:
    """"admin" or "township" when the test's fixtures make the database the township template (after the
    administrator's log-in, for "admin") before anything else can write to it: `township` (and `admin`) are the
    suite's own, not overridden, and every other fixture of the test that uses the database uses that one too, so
    it is set up after it (pytest sets a fixture's own fixtures up first). None otherwise (then the fixtures below
    take their steps or replace the file as before), and on PostgreSQL."""
    if dbserver.ON_POSTGRES:
        return None
    defs = request.node._fixtureinfo.name2fixturedefs
    names = request.fixturenames
    target = "admin" if "admin" in names else "township" if "township" in names else None
    if target is None or any(len(defs.get(n, ())) != 1 for n in ("db", "township", target)):
        return None

    def uses(name: str, wanted: str, seen: set[str]) -> bool:
        if name == wanted:
            return True
        if name in seen or name not in defs:
            return False
        seen.add(name)
        return any(uses(arg, wanted, seen) for arg in defs[name][-1].argnames)

    for name in names:
        if name in ("db", "township", target) or not uses(name, "db", set()):
            continue
        if not uses(name, target, set()):
            return None  # may write before the township is there: the fixtures replace or configure as before
    return target


def _window_work_done() -> None:
    """A window test's page may still have work on the worker thread (a load its last action started): it finishes
    before the database goes (on PostgreSQL the next test gets the same database put back, under the same URL)."""
    operations = sys.modules.get("desktop.views.operations")
    if operations is not None and operations._operations is not None:
        import shiboken6
        if shiboken6.isValid(operations._operations):
            assert operations._operations.wait(), "work on the window's worker did not finish in 60 s"


def _configure_township(db):
    with db.session(bootstrap="test") as s:
        regions.init_township(s, "稷下街道", county="临淄区", city="淄博市", province="山东省")
        v1 = regions.add_village(s, "东村", rural_population=1200)
        v2 = regions.add_village(s, "西村", rural_population=800)
        g1 = regions.add_group(s, v1, "一组")
        g2 = regions.add_group(s, v1, "二组")
        g3 = regions.add_group(s, v2, "一组")
        settings.set_year(s, YEAR, monitoring_line="7100")
        settings.set_current_year(s, YEAR)
        auth.create_user(s, "admin", "管理员", "admin", "Jx-adm-2024")
        auth.create_user(s, "clerk", "村录入员", "clerk", "Xc-cun-2024", village_ids=[v2])
        s.commit()
    return {"villages": {"东村": v1, "西村": v2}, "groups": {("东村", "一组"): g1, ("东村", "二组"): g2,
                                                              ("西村", "一组"): g3}}


@pytest.fixture(scope="session")
def township_template(migrated_template, tmp_path_factory):
    """The migrated template with the township configured (_configure_township), once per run: (path, its ids);
    its key file beside it holds the admin's and the clerk's slots. None on PostgreSQL (no file to copy)."""
    if migrated_template.path is None:
        return None
    path = tmp_path_factory.mktemp("township") / "township.sqlite3"
    copy_template(migrated_template, path)
    database = dbmod.init_db(dbmod.sqlite_url(path), key=TEST_KEY)
    ids = _configure_township(database)
    database.dispose()
    return path, ids


@pytest.fixture
def township(db, township_template, migrated_template):
    """A configured township: 2 villages with groups, settings for 2024, an admin and a clerk.

    The test's database file is still the untouched template here (checked byte for byte, its key file too), so
    it is replaced by a copy of the township template and its key file, built once by the same steps: a copy
    costs a millisecond, the steps 45 ms. A database that is not such a file (written to already, still open
    elsewhere, or on PostgreSQL) is configured step by step."""
    if township_template is None or db.sqlite_path is None:
        return _configure_township(db)
    path, ids = township_template
    if getattr(db, "test_preset", None) in ("township", "admin"):
        return copy.deepcopy(ids)  # the db fixture copied this template (or the one after the log-in) already
    if replace_if_untouched(db, migrated_template.path, path):
        return copy.deepcopy(ids)
    return _configure_township(db)


def replace_if_untouched(db, was: Path, becomes: Path) -> bool:
    """The test database's file (with its key file) replaced by a copy of `becomes` when it is still exactly the
    file `was` (checked byte for byte, nothing written, no connection open): a fixture's steps done once for the
    run or module instead of in each test. False (nothing replaced) otherwise, or on PostgreSQL: then the fixture
    takes its steps itself."""
    here = db.sqlite_path
    if here is None:
        return False
    db.dispose()  # the last connection closes: SQLite folds the WAL into the file and removes it
    closed = not any(Path(f"{here}{side}").exists() for side in ("-wal", "-shm"))
    untouched = closed and filecmp.cmp(here, was, shallow=False) and filecmp.cmp(
        keys.key_path(here), keys.key_path(was), shallow=False)
    if untouched:
        copy_template(becomes, here)  # into the same files (inodes): the database's identity check still holds
    return untouched


ADMIN_PASSWORD = "Jx-adm-2024"
CLERK_PASSWORD = "Xc-cun-2024"


def login(db, username: str, password: str):
    """Log a user of the database in (the CurrentUser a window or the command line would hold)."""
    with db.session() as s:
        user = auth.authenticate(s, username, password)
        s.commit()
    return user


@pytest.fixture(scope="session")
def admin_template(township_template, tmp_path_factory):
    """The township template after the administrator's log-in (its audit entry, last_login), once per run:
    (path, the logged-in user). None on PostgreSQL."""
    if township_template is None:
        return None
    path = tmp_path_factory.mktemp("admin") / "admin.sqlite3"
    copy_template(township_template[0], path)
    database = dbmod.init_db(dbmod.sqlite_url(path), key=TEST_KEY)
    user = login(database, "admin", ADMIN_PASSWORD)
    database.dispose()
    return path, user


@pytest.fixture
def admin(db, township, township_template, admin_template):
    """The township's administrator, logged in: `db.session(admin)` acts as them.

    Like `township`: when the test's database is still exactly the township template (nothing written since), it
    is replaced by a copy of the same template after the same log-in, done once for the run (a log-in writes its
    audit entry and last_login and commits: 15 ms of CPU, in 760 tests); otherwise the administrator logs in here.
    The user (a frozen CurrentUser) is the same either way."""
    if getattr(db, "test_preset", None) == "admin":
        return admin_template[1]  # the db fixture copied the template after the log-in already
    if admin_template is not None and replace_if_untouched(db, township_template[0], admin_template[0]):
        return admin_template[1]
    return login(db, "admin", ADMIN_PASSWORD)


@pytest.fixture
def clerk(db, township):
    """The 村级录入员 of 西村, logged in."""
    return login(db, "clerk", CLERK_PASSWORD)


@pytest.fixture
def ctx(db, admin):
    return AppContext(db=db, user=admin, year=YEAR, today=lambda: TODAY)


def person(name: str, born: date, sex: str, relation: str, serial: int = 1, **kw) -> MemberData:
    """A member with a valid ID number built from the birth date and sex, the form's fields filled as a careful
    collector fills them (民族, 健康, 大病保险, 养老保险, and 文化程度 unless a school is given), so that the national
    疑点 rules find only what a test sets up."""
    kw.setdefault("ethnicity", "01")
    kw.setdefault("health", "01")
    kw.setdefault("a18_serious_illness", True)
    kw.setdefault("a19_pension", True)
    if kw.get("school") is None:
        kw.setdefault("education", "03")
    return MemberData(name=name, sex=sex, id_number=make_id("370305", born, serial, sex), relation=relation,
                      labor=kw.pop("labor", "02"), a17_medical=kw.pop("a17_medical", True), **kw)


def family(village_id: int, group_id: int | None = None, no: str = "3703050010010001",
           serial: int = 1) -> tuple[HouseholdData, list[MemberData]]:
    data = HouseholdData(household_no=no, village_id=village_id, group_id=group_id, phone="13800000000")
    members = [person("张三", date(1970, 3, 5), "1", "01", serial),
               person("李四", date(1972, 8, 9), "2", "02", serial + 1),
               person("张小堃", date(2010, 1, 2), "1", "03", serial + 2, school="05")]
    return data, members
