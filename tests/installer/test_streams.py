"""The windowed executable (fanpin-workbench.exe, console=False) starts with sys.stdin/stdout/stderr = None.

Each test runs the real entry point in a child Python whose standard streams are None before anything of the
program is imported, as in the frozen windowed program: nothing may crash, exit codes keep their meaning, and
what would have been printed reaches the program's log file (desktop/logs.py, in the data folder)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import sys
    sys.stdin = sys.stdout = sys.stderr = None
    sys.__stdin__ = sys.__stdout__ = sys.__stderr__ = None
    from desktop.__main__ import main
    sys.exit(main(sys.argv[1:]))
""")


def run_windowed(tmp_path: Path, *args: str) -> tuple[int, str]:
    log = tmp_path / "data" / "logs" / "workbench.log"
    env = {**os.environ, "FANPIN_DATA_DIR": str(tmp_path / "data"), "QT_QPA_PLATFORM": "offscreen",
           "FANPIN_SELFTEST_DB": str(tmp_path / "none.sqlite3")}
    p = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=ROOT, env=env, timeout=300,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout == b"" and p.stderr == b"", (p.stdout, p.stderr)  # nothing reached the real streams
    return p.returncode, log.read_text(encoding="utf-8") if log.exists() else ""


@pytest.mark.slow(seconds=2)  # a real process
def test_version_without_streams(tmp_path):
    code, log = run_windowed(tmp_path, "--version")
    assert code == 0
    assert "INFO [MainThread] desktop.stdout: 防止返贫监测帮扶工作台 " in log


@pytest.mark.slow(seconds=2)  # a real process
def test_usage_error_without_streams_exits_2_and_logs_the_chinese_reason(tmp_path):
    code, log = run_windowed(tmp_path, "import")
    assert code == 2
    assert "WARNING [MainThread] desktop.stderr: 用法错误：" in log


@pytest.mark.slow(seconds=2)  # a real process
def test_refused_request_without_streams_exits_1(tmp_path):
    code, log = run_windowed(tmp_path, "check", "--db", str(tmp_path / "missing.sqlite3"), "--year", "2024")
    assert code == 1
    assert "WARNING [MainThread] desktop.stderr: 错误：" in log
    assert "Traceback" not in log


@pytest.mark.slow(seconds=2)  # a real process
def test_a_real_command_without_streams_does_its_work(tmp_path):
    db = tmp_path / "demo.sqlite3"
    code, log = run_windowed(tmp_path, "demo", "--db", str(db), "--households", "3", "--seed", "1",
                             "--year", "2024", "--as-of", "2024-11-20")
    assert code == 0, log
    assert db.exists() and db.stat().st_size > 0
    assert "Traceback" not in log


@pytest.mark.slow(seconds=8)  # a real process building the main window
def test_self_test_without_streams_passes_and_logs_what_it_checked(tmp_path):
    code, log = run_windowed(tmp_path, "--self-test")
    assert code == 0, log
    assert "INFO [MainThread] desktop.stdout: 自检通过" in log
    for name in ("数据库", "规则", "PDF", "Excel", "界面"):
        assert f"✓ {name}" in log


def test_stand_in_stream_writes_whole_lines_and_never_recurses(caplog):
    from desktop.__main__ import _LogStream
    stream = _LogStream("stderr", logging.WARNING)
    with caplog.at_level(logging.INFO, logger="desktop.stderr"):
        stream.write("第一")
        assert caplog.records == []              # not a line yet
        stream.write("行\n第二行\n\n")
        stream.write("末行")
        stream.flush()
    assert [r.getMessage() for r in caplog.records] == ["第一行", "第二行", "末行"]
    assert not stream.isatty()
    # With no handler, logging's last resort writes to sys.stderr: when that is this stream, it must not loop.
    root, saved = logging.getLogger(), sys.stderr
    handlers, root.handlers = root.handlers, []
    logger = logging.getLogger("desktop.stderr")
    propagate, logger.propagate = logger.propagate, True
    try:
        sys.stderr = stream
        stream.write("无处可去\n")
    finally:
        sys.stderr, root.handlers, logger.propagate = saved, handlers, propagate


def test_a_console_the_program_owns_waits_for_enter(monkeypatch):
    """The 自检 shortcut opens fanpin-cli.exe in a console of its own, which closes when the process ends."""
    import builtins
    import io

    from desktop import __main__ as entry
    asked = []
    monkeypatch.setattr(builtins, "input", lambda prompt="": asked.append(prompt) or "")
    tty = io.StringIO()
    tty.isatty = lambda: True
    monkeypatch.setattr(sys, "stdin", tty)
    monkeypatch.setattr(entry, "owns_console", lambda: False)  # started from cmd.exe: its window stays
    entry.hold_console()
    assert asked == []
    monkeypatch.setattr(entry, "owns_console", lambda: True)
    entry.hold_console()
    assert asked == ["\n按回车键关闭此窗口……"]


def test_only_windows_consoles_are_owned():
    from desktop import __main__ as entry
    if sys.platform != "win32":
        assert entry.owns_console() is False
