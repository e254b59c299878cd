"""python -m desktop: the window, or a headless sub-command (see cli.py).

The same main() is the entry of both bundled executables (installer/launcher.py): fanpin-workbench.exe is
windowed, so Windows gives it no console and Python sets sys.stdin/stdout/stderr to None; fanpin-cli.exe has a
console. main() first gives every missing stream a harmless stand-in, so no print() or argparse message can
crash the windowed program."""

from __future__ import annotations

import io
import logging
import os
import sys


class _LogStream(io.TextIOBase):
    """Stands in for a missing stdout/stderr: whole lines go to the `logging` module (the program's log file
    once one is configured), never back to a stream that does not exist."""

    def __init__(self, name: str, level: int):
        super().__init__()
        self.name = name
        self._logger = logging.getLogger(f"desktop.{name}")
        self._level = level
        self._pending = ""
        self._busy = False  # logging's last-resort handler writes to sys.stderr, which may be this stream

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if self._busy:
            return len(text)
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        self._busy = True
        try:
            for line in lines:
                if line.strip():
                    self._logger.log(self._level, "%s", line.rstrip())
        finally:
            self._busy = False
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.write("\n")


def ensure_streams() -> bool:
    """Replace None standard streams (a windowed executable) with stand-ins that accept writes; True when
    stdout or stderr had to be replaced."""
    if sys.stdin is None:
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    replaced = False
    if sys.stdout is None:
        sys.stdout, replaced = _LogStream("stdout", logging.INFO), True
    if sys.stderr is None:
        sys.stderr, replaced = _LogStream("stderr", logging.WARNING), True
    return replaced


def owns_console() -> bool:
    """True when this process is the only one attached to its console window: on Windows that means it was
    started from a shortcut or by double-click, and the window closes the moment the process ends."""
    if sys.platform != "win32":
        return False
    try:
        import ctypes
        processes = (ctypes.c_uint32 * 2)()
        return ctypes.windll.kernel32.GetConsoleProcessList(processes, 2) == 1
    except (AttributeError, OSError):
        return False


def hold_console() -> None:
    """Keep a console window the program opened itself (the 自检 shortcut) until the user has read it."""
    if owns_console() and sys.stdin is not None and sys.stdin.isatty():
        try:
            input("\n按回车键关闭此窗口……")
        except (EOFError, KeyboardInterrupt):
            pass


def main(argv: list[str] | None = None) -> int:
    import multiprocessing
    multiprocessing.freeze_support()  # a bundled executable started as the .xls reader's child runs that, not this
    if ensure_streams():  # no console: what would have been printed goes to the program's log file
        from . import logs
        logs.setup_logging()
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--self-test"]:
        from . import selftest
        try:
            return selftest.main()
        finally:
            hold_console()
    if argv[:1] == ["--version"]:
        from . import APP_NAME, __version__
        print(f"{APP_NAME} {__version__}")
        return 0
    from . import cli
    if argv and argv[0] in cli.COMMANDS:
        try:
            return cli.main(argv)
        except BrokenPipeError:  # output piped into `head` and the like: stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    return cli.gui(argv)


if __name__ == "__main__":
    sys.exit(main())
