"""python -m desktop --self-test (and the bundled binary's `fanpin-workbench --self-test`).

Checks that this installation can do its work, without touching the user's data: with the user's name
and password (FANPIN_USER, FANPIN_PASSWORD) opens an encrypted copy of their database, runs the migrations
on it and verifies its audit chain (without them, a new scratch database only); builds a small township in
a scratch database (encrypted), assesses and checks it, renders a PDF with the embedded font, writes the exchange
workbook and imports it into a second scratch database, verifies the scratch audit chain and that an
entry changed outside the program is found, and builds the main window. Prints
what it checked; exits 0 when everything passed, 1 otherwise.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from datetime import date
from pathlib import Path
from typing import Callable

AS_OF = date(2024, 11, 20)
YEAR = 2024


SCRATCH_PASSWORD = "Self-test-2024"  # the scratch databases' administrator (never the user's data)


def _township(db) -> None:
    from .services import auth, regions, settings
    with db.session(bootstrap="self-test") as s:
        regions.init_township(s, "自检镇", "自检县")
        settings.set_year(s, YEAR, monitoring_line="7100")
        settings.set_current_year(s, YEAR)
        auth.create_user(s, "admin", "管理员", "admin", SCRATCH_PASSWORD)
        s.commit()


def _as_admin(db):
    """A session of the scratch database's administrator: the self-test goes through the same checks as a user."""
    from .services import auth
    with db.session() as s:
        user = auth.authenticate(s, "admin", SCRATCH_PASSWORD)
        s.commit()
    return db.session(user)


def check_database(tmp: Path) -> str:
    """The user's database, only with credentials (FANPIN_USER and FANPIN_PASSWORD): the password unwraps its key
    (with the log-in's delay and lock-out), an encrypted copy is checked, migrated and its audit chain verified;
    the database itself is never written. Without credentials, a new scratch database instead."""
    from .paths import default_db_path
    from .services import audit, auth, backup, keys, opening
    from .services.db import current_revision, head_revision, init_db, sqlite_url
    from .services.integrity import integrity_check
    source = Path(os.environ.get("FANPIN_SELFTEST_DB") or default_db_path())
    user, password = os.environ.get("FANPIN_USER", "").strip(), os.environ.get("FANPIN_PASSWORD")
    if not source.exists() or (keys.is_encrypted(source) and (not user or password is None)):
        db = init_db(sqlite_url(tmp / "new.sqlite3"))
        rev = current_revision(db.engine)
        encrypted = keys.is_encrypted(tmp / "new.sqlite3")
        db.dispose()
        if not encrypted:
            raise RuntimeError("新建的数据库没有加密")
        why = ("尚不存在" if not source.exists() else
               "未检查：检查它需要用户名和密码（环境变量 FANPIN_USER、FANPIN_PASSWORD）")
        return f"新建加密数据库并迁移到版本 {rev}（用户数据库 {source} {why}）"
    copy = tmp / "copy.sqlite3"
    if keys.is_plain(source):
        backup.copy_sqlite(source, copy)
        key = None
    else:
        key = opening.unlock(source, user, password)
        keys.remember(source, key)
        keys.remember(copy, key)
        backup.copy_sqlite(source, copy)
    problem = integrity_check(copy)
    if problem:
        raise RuntimeError(f"用户数据库 {source} 检查未通过：{problem}")
    db = init_db(sqlite_url(copy), key=key, plain=key is None)
    try:
        rev, head = current_revision(db.engine), head_revision(db.engine)
        if key is None:  # a plain database from before encryption: converted at the next administrator's log-in
            return f"用户数据库 {source} 的副本完整（尚未加密），迁移到版本 {rev}（最新 {head}）"
        with db.session() as s:
            me = auth.authenticate(s, user, password, password_checked=True)
            s.commit()
        with db.session(me) as s:
            report = audit.verify_chain(s)
    finally:
        db.dispose()
    if not report.ok:
        raise RuntimeError("操作日志的校验链断开：\n" + "\n".join(report.problems))
    return (f"用户数据库 {source} 的副本完整（已加密），迁移到版本 {rev}（最新 {head}），"
            f"操作日志 {report.entries} 条校验无误")


def check_audit_chain(tmp: Path) -> str:
    """On the scratch database: the chain holds, and an entry changed behind the program's back is found."""
    from .services import audit, keys
    from .services.db import init_db, sqlite_url
    path = tmp / "scratch.sqlite3"
    db = init_db(sqlite_url(path))
    with _as_admin(db) as s:
        report = audit.verify_chain(s)
    if not report.ok:
        db.dispose()
        raise RuntimeError("\n".join(report.problems))
    db.dispose()
    con = keys.connect(path, keys.key_for(path))
    try:
        con.execute("UPDATE audit_entry SET new = 'x' WHERE id = (SELECT max(id) FROM audit_entry)")
        con.commit()
    finally:
        con.close()
    db = init_db(sqlite_url(path))
    try:
        with _as_admin(db) as s:
            tampered = audit.verify_chain(s)
    finally:
        db.dispose()
    if tampered.ok:
        raise RuntimeError("改动过的操作日志没有被发现")
    return f"操作日志 {report.entries} 条校验无误；在程序之外改动的一条被发现：{tampered.problems[0]}"


def check_rules(tmp: Path) -> str:
    from .services import assess, checks, demo
    from .services.db import init_db, sqlite_url
    db = init_db(sqlite_url(tmp / "scratch.sqlite3"))
    _township(db)
    with _as_admin(db) as s:
        result = demo.generate(s, 40, seed=3, year=YEAR, as_of=AS_OF)
        s.commit()
        n = len(assess.assess(s, YEAR, AS_OF))
        findings = len(checks.run_checks(s, YEAR, AS_OF))
    db.dispose()
    return f"演示数据 {result.households} 户 {result.members} 人，测算 {n} 户，数据质量检查 {findings} 条"


def check_pdf(tmp: Path) -> str:
    from .services import reports
    from .services.db import init_db, sqlite_url
    db = init_db(sqlite_url(tmp / "scratch.sqlite3"))
    out = tmp / "summary.pdf"
    with _as_admin(db) as s:
        result = reports.render(s, "summary", out, year=YEAR, as_of=AS_OF)
    db.dispose()
    data = out.read_bytes()
    if not data.startswith(b"%PDF") or b"FontFile2" not in data:
        raise RuntimeError("PDF 未生成或字体未嵌入")
    return f"汇总表 PDF {result.pages} 页，{len(data) // 1024} KB，中文字体已嵌入"


def check_workbook(tmp: Path) -> str:
    """Our workbook exported and imported into another database, its sheets cut for the fingerprints in one process
    of their own as a county's large sheets are (reader.TAP_APART_FROM): the bundled executable must start that
    worker as itself and take each sheet's rows back."""
    from .services import exchange
    from .services.db import init_db, sqlite_url
    from .services.exchange import reader, taps
    source = init_db(sqlite_url(tmp / "scratch.sqlite3"))
    book = tmp / "exchange.xlsx"
    with _as_admin(source) as s:
        exported = exchange.export_workbook(s, book, YEAR)
    source.dispose()
    target = init_db(sqlite_url(tmp / "target.sqlite3"))
    _township(target)
    kept, given = reader.TAP_APART_FROM, taps.stats["given"]
    reader.TAP_APART_FROM = 0
    try:
        with _as_admin(target) as s:
            pv = exchange.preview(s, book, YEAR)
            if not pv.ok:
                raise RuntimeError(f"导出的工作簿不能导入：{pv.errors[:3]}")
            exchange.apply(s, pv, as_of=AS_OF)
            s.commit()
    finally:
        reader.TAP_APART_FROM = kept
        target.dispose()
    cut = taps.stats["given"] - given
    if cut < 2:
        raise RuntimeError(f"交换工作簿各表的指纹没有在子进程中算出（taps.py，{cut} 张）")
    return (f"交换工作簿导出 {book.stat().st_size // 1024} KB 并导入另一数据库（{exported.households} 户，"
            f"{cut} 张表的指纹在子进程中算出）")


def check_national_blocks(tmp: Path) -> str:
    """A national list read a block at a time as a county's is, its fingerprints cut in a process of their own
    (services/exchange/taps.py): the bundled executable must start that child as itself (multiprocessing, spawn,
    freeze_support in __main__) and take its rows back."""
    from .services import exchange
    from .services.db import init_db, sqlite_url
    from .services.exchange import importer, reader, taps
    source = init_db(sqlite_url(tmp / "scratch.sqlite3"))
    book = tmp / "national.xlsx"
    with _as_admin(source) as s:
        exchange.export_national(s, book, YEAR)
    source.dispose()
    kept = reader.CHUNKED_ABOVE, reader.CHUNK_XML
    given = taps.stats["given"]
    reader.CHUNKED_ABOVE, reader.CHUNK_XML = 0, 16 << 10
    try:
        issues = reader.Issues()
        data = importer.read(book, issues, year=YEAR)
    finally:
        reader.CHUNKED_ABOVE, reader.CHUNK_XML = kept
    if data is None or issues or data.scan is None:
        raise RuntimeError(f"全国格式名单分块读取失败：{[i.text() for i in issues.items[:3]]}")
    if taps.stats["given"] != given + 1:
        raise RuntimeError("全国格式名单的指纹没有在子进程中算出（taps.py）")
    return f"全国格式名单分块读取，指纹在子进程中算出（{len(data.households)} 户）"


def wanted_platform() -> str:
    """The Qt platform plugin the self-test must load: the real one wherever there is a screen.

    On Windows that is always `windows` (the plugin a windowed start needs, whatever QT_QPA_PLATFORM says);
    elsewhere QT_QPA_PLATFORM when set, else xcb/wayland with a display, else offscreen."""
    if sys.platform == "win32":
        return "windows"
    chosen = os.environ.get("QT_QPA_PLATFORM", "").split(":", 1)[0].strip()
    if chosen:
        return chosen
    if os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        return "wayland"
    return "xcb" if os.environ.get("DISPLAY") else "offscreen"


def platform_plugin(name: str, plugins: Path) -> Path:
    """The file of the platform plugin `name` under Qt's plugins folder; a missing plugin is an error here,
    with its name and folder, instead of Qt's abort ("no Qt platform plugin could be initialized")."""
    folder = plugins / "platforms"
    found = sorted(folder.glob(f"*q{name}*")) if folder.is_dir() else []
    found = [f for f in found if f.suffix.lower() in (".dll", ".so", ".dylib")]
    if not found:
        raise RuntimeError(f"缺少 Qt 平台插件“{name}”（应在 {folder}），程序窗口无法打开；请重新安装")
    return found[0]


def check_window(tmp: Path) -> str:
    from PySide6.QtCore import QLibraryInfo
    from PySide6.QtWidgets import QApplication

    from .app import create_main_window
    from .services import auth, settings
    from .services.context import AppContext
    from .services.db import init_db, sqlite_url
    app = QApplication.instance()
    if app is None:
        platform = wanted_platform()
        plugin = platform_plugin(platform, Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)))
        app = QApplication(["fanpin-selftest", "-platform", platform])
        if app.platformName() != platform:
            raise RuntimeError(f"Qt 加载了平台插件“{app.platformName()}”，而不是 {plugin.name}")
    db = init_db(sqlite_url(tmp / "scratch.sqlite3"))
    with db.session() as s:
        user = auth.authenticate(s, "admin", SCRATCH_PASSWORD)
        s.commit()
    ctx = AppContext(db, user, year=AS_OF.year, today=lambda: AS_OF)
    ctx.year = ctx.read(settings.current_year)
    window = create_main_window(ctx)
    pages = len(window.pages)
    failed = [k for k, w in window.pages.items() if type(w).__name__ == "QLabel"]
    window.close()
    window.deleteLater()
    app.processEvents()
    db.dispose()
    if failed:
        raise RuntimeError(f"页面加载失败：{'、'.join(failed)}")
    return f"主窗口 {pages} 个页面加载正常（{app.platformName()}）"


def check_server_driver(_tmp: Path) -> str:
    """The county edition's PostgreSQL driver (psycopg 3 with its libpq) loads, and a statement compiles for it. The
    bundle must carry it; a source install without `.[postgres]` only says it is not there."""
    try:
        import psycopg
    except ImportError:
        if getattr(sys, "frozen", False):
            raise RuntimeError("安装包中缺少 PostgreSQL 驱动 psycopg") from None
        return "未安装 psycopg（只能使用单机数据库；县级数据库需 pip install \".[postgres]\"）"
    from sqlalchemy import select
    from sqlalchemy.dialects import postgresql

    from .models import Household
    from .services.db import among
    sql = str(select(Household.id).where(among(Household.id, range(20_000))).compile(dialect=postgresql.dialect()))
    if "ANY" not in sql:
        raise RuntimeError("长的编号列表没有写成一个数组参数")
    return f"psycopg {psycopg.__version__}，libpq {psycopg.pq.version()}（{psycopg.pq.__impl__}）"


CHECKS: list[tuple[str, Callable[[Path], str]]] = [
    ("数据库", check_database), ("县级数据库驱动", check_server_driver), ("规则", check_rules), ("PDF", check_pdf),
    ("Excel", check_workbook), ("全国格式名单", check_national_blocks), ("操作日志", check_audit_chain),
    ("界面", check_window)]


def main(out=None) -> int:
    from . import APP_NAME, __version__
    out = out if out is not None else sys.stdout
    print(f"{APP_NAME} {__version__} 自检", file=out)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="fanpin-selftest-") as folder:
        tmp = Path(folder)
        for name, check in CHECKS:
            started = time.perf_counter()
            try:
                text = check(tmp)
                print(f"  ✓ {name}：{text}（{time.perf_counter() - started:.1f} 秒）", file=out, flush=True)
            except Exception as exc:  # noqa: BLE001 - every failure is reported, then the next check runs
                failures += 1
                print(f"  ✗ {name}：{type(exc).__name__}: {exc}", file=out, flush=True)
                traceback.print_exc(file=sys.stderr)
    print("自检通过" if not failures else f"自检未通过：{failures} 项失败", file=out)
    return 0 if not failures else 1
