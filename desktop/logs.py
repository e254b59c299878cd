"""The program's log: one rotating file in the data folder, and the hooks that send every exception nobody caught
there. No Qt here: the command line uses it as it is; the window adds a dialog (views/crash_dialog.py).

A windowed Windows program has no console, so a fault that is only printed is lost: every uncaught exception, in
the main thread, in any other thread or in a finaliser, is written to the log with its traceback."""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Callable

from .paths import data_dir

LOG_NAME = "workbench.log"
MAX_BYTES = 1_000_000  # a file, then workbench.log.1 … .5: at most 6 MB, the last months of faults
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"
INTERNAL_ERROR_EXIT = 3  # the command line's exit code for a fault in the program (1 refused, 2 wrong usage)

log = logging.getLogger("desktop")
_handler: RotatingFileHandler | None = None


def default_log_file() -> Path:
    return data_dir() / "logs" / LOG_NAME


def log_file() -> Path | None:
    """The file the log is written to, or None before setup_logging()."""
    return Path(_handler.baseFilename) if _handler is not None else None


def setup_logging(path: Path | None = None) -> Path:
    """Send the program's log records (INFO and above) to a rotating file; the same file on a second call.
    A data folder that cannot be written falls back to the temporary folder."""
    global _handler
    wanted = Path(path) if path is not None else None
    if _handler is not None and (wanted is None or wanted.resolve() == Path(_handler.baseFilename)):
        return Path(_handler.baseFilename)
    try:
        target = wanted or default_log_file()
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(target, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError:
        target = Path(tempfile.gettempdir()) / f"fanpin-{LOG_NAME}"
        handler = RotatingFileHandler(target, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
        _handler.close()
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    _handler = handler
    return Path(handler.baseFilename)


def stop_logging() -> None:
    """Close the file (tests; the program keeps it open until it ends)."""
    global _handler
    if _handler is not None:
        logging.getLogger().removeHandler(_handler)
        _handler.close()
        _handler = None


def log_exception(exc_type, exc, tb, where: str = "") -> str:
    """Write an exception nobody caught to the log; returns its traceback text."""
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    log.critical("未捕获的异常%s\n%s", where, details.rstrip())
    return details


def install_hooks(report: Callable[[str], None] | None = None) -> None:
    """sys.excepthook, threading.excepthook and sys.unraisablehook write to the log; `report` (the window's dialog,
    the command line's one line) is then told the traceback. Ctrl+C stays Python's own."""

    def excepthook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        details = log_exception(exc_type, exc, tb)
        if report is not None:
            report(details)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        details = log_exception(args.exc_type, args.exc_value, args.exc_traceback, f"（线程 {name}）")
        if report is not None:
            report(details)

    def unraisable_hook(u) -> None:  # an exception in __del__ or a callback: nothing to tell the user, only log
        log.error("无法抛出的异常：%s %r", u.err_msg or "", u.object,
                  exc_info=(u.exc_type, u.exc_value, u.exc_traceback) if u.exc_type else None)

    sys.excepthook = excepthook
    threading.excepthook = thread_hook
    sys.unraisablehook = unraisable_hook
