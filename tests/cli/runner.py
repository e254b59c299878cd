"""The command line run as a user runs it, in this process or in a real one.

`cli(*args)` calls the program's entry point (desktop.__main__.main, the function `python -m desktop` and both
bundled executables run) in this test process, with what a child process would have of its own: its argv, its
stdout and stderr captured as text, stdin that is not a terminal, its own environment and working folder. It
returns what subprocess.run returns (returncode, stdout, stderr), so a test reads the same either way. Starting
Python and importing the program costs 1–3 s a command on the 2-core test machine; in process a command costs
what its work costs.

What the command line sets for a whole process is put back after each call, so nothing leaks into the next
test: the root logger's file handler and level (logs.setup_logging), sys.excepthook, threading.excepthook and
sys.unraisablehook (logs.install_hooks), os.environ, the working folder, the standard streams; and the database
engines the command opened are disposed, as the end of a process would close them.

Kept in a real process (`process=True` here, or their own subprocess calls), because there the process itself is
what is tested:
- tests/installer/test_version.py: `python -m desktop --version`, the real entry point and module path;
- tests/installer/test_streams.py: the windowed executable starts with no standard streams at all (with the
  self-test, which there also builds its own QApplication on the platform plugin it finds);
- tests/cli/test_cli_faults.py: a fault's exit code 3 and log file as a real process leaves them;
- tests/cli/test_hostile_files.py: peak memory of the importing process under an address-space cap (one child
  for the module, which runs each command through this module's cli());
- tests/cli/test_cli.py::test_the_real_process_keeps_the_exit_codes: exit codes 0, 1 and 2 of `python -m desktop`;
- tests/safety/: kill and power-cut tests end a real process mid-write.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def _own_process_state(env: dict[str, str], cwd: Path):
    """os.environ, cwd, standard streams, logging and the exception hooks as a new process would have them,
    restored afterwards; yields (stdout, stderr) buffers."""
    from desktop import logs
    from desktop.services import db as dbmod

    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_hooks = sys.excepthook, threading.excepthook, sys.unraisablehook
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    saved_log_handler = logs._handler
    opened = []
    init_db = dbmod.init_db

    def tracked_init_db(*a, **kw):
        database = init_db(*a, **kw)
        opened.append(database)
        return database

    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(""), out, err  # stdin=DEVNULL: not a terminal
    if saved_log_handler is not None:  # a new process has no log file yet: setup_logging opens its own
        root.removeHandler(saved_log_handler)
    logs._handler = None
    dbmod.init_db = tracked_init_db
    try:
        yield out, err
    finally:
        dbmod.init_db = init_db
        for database in opened:
            database.dispose()
        if logs._handler is not None and logs._handler is not saved_log_handler:
            root.removeHandler(logs._handler)
            logs._handler.close()
        logs._handler = saved_log_handler
        for handler in list(root.handlers):
            if handler not in saved_handlers:
                root.removeHandler(handler)
        root.handlers[:] = saved_handlers  # in their order: the log file's handler was taken out from among them
        root.setLevel(saved_level)
        sys.excepthook, threading.excepthook, sys.unraisablehook = saved_hooks
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def cli(*args, env: dict[str, str] | None = None, cwd: Path = ROOT, process: bool = False
        ) -> subprocess.CompletedProcess:
    """`python -m desktop ARGS` with environment `env` (default: this process's): returncode, stdout, stderr."""
    argv = [str(a) for a in args]
    environ = dict(os.environ if env is None else env)
    if process:
        return subprocess.run([sys.executable, "-m", "desktop", *argv], cwd=cwd, capture_output=True, text=True,
                              encoding="utf-8", timeout=300, env=environ, stdin=subprocess.DEVNULL)
    from desktop.__main__ import main
    with _own_process_state(environ, cwd) as (out, err):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's wrong usage, --help: the exit a process would make
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if not isinstance(e.code, (int, type(None))):
                err.write(f"{e.code}\n")
    return subprocess.CompletedProcess(["python", "-m", "desktop", *argv], code, out.getvalue(), err.getvalue())
