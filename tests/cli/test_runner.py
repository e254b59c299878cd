"""The in-process command line (tests/cli/runner.py) leaves this process as it found it: a command's log file,
exception hooks, environment, working folder, streams and database connections do not leak into later tests."""

import logging
import os
import sys
import threading

from tests.cli.runner import cli


def test_a_command_in_process_leaves_nothing_behind(tmp_path):
    root = logging.getLogger()
    before = (list(root.handlers), root.level, sys.excepthook, threading.excepthook, sys.unraisablehook,
              dict(os.environ), os.getcwd(), sys.stdin, sys.stdout, sys.stderr)
    from desktop import logs
    handler = logs._handler
    data = tmp_path / "data"
    p = cli("demo", "--db", tmp_path / "t.sqlite3", "--households", "3", "--year", "2024", "--as-of", "2024-11-20",
            env={**os.environ, "FANPIN_DATA_DIR": str(data), "FANPIN_EXTRA": "x"}, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "已生成 3 户" in p.stdout
    assert "命令行：demo" in (data / "logs" / "workbench.log").read_text("utf-8")  # the command logged as usual
    after = (list(root.handlers), root.level, sys.excepthook, threading.excepthook, sys.unraisablehook,
             dict(os.environ), os.getcwd(), sys.stdin, sys.stdout, sys.stderr)
    assert after == before and logs._handler is handler
    assert not (tmp_path / "t.sqlite3-wal").exists()  # its engine was disposed: the WAL checkpointed and removed


def test_wrong_usage_in_process_is_exit_2_as_from_a_process():
    p = cli("import")
    assert p.returncode == 2 and p.stderr.startswith("用法错误") and p.stdout == ""
