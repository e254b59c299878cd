"""Work of the importer done in a child process beside it (multiprocessing, spawn, as the .xls reader's): a sheet's
fingerprints (taps.py), the guards' pass over the later part of a large sheet (measure._scan_apart).

A child imports only what its work needs (measure.py, rowcut.py: the standard library), runs at a lower priority than
the importer and calamine (its result is wanted later, and the second core is otherwise idle for much of an import),
and sends back ("ok", result) or (the exception's class name, its message). The caller decides what a failure means
— most often: do the work itself, as before — and a child is always ended by close().

As with any spawned child, the parent's main script is imported again in the child (as __mp_main__) unless it was
run as a module (`python -m desktop`) or is the bundled executable (freeze_support in desktop/__main__.py): a script
that imports files must keep its work under `if __name__ == "__main__":` (bench/ and scripts/ do)."""

from __future__ import annotations

import multiprocessing
import os
import sys

TIMEOUT = 600  # seconds a caller waits for a child's result before doing the work itself


def behind() -> None:
    """This process yields a core to the importer and calamine whenever they want it."""
    try:
        if sys.platform == "win32":
            import ctypes
            kernel32 = ctypes.windll.kernel32
            kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), 0x4000)  # BELOW_NORMAL_PRIORITY_CLASS
        else:
            os.nice(10)
    except (OSError, AttributeError):  # pragma: no cover - left as it is
        pass


def serve(work, args: tuple, conn) -> None:
    """In the child: work(*args) sent back, or what it raised."""
    try:
        behind()
        conn.send(("ok", work(*args)))
    except Exception as exc:  # noqa: BLE001 - said to the caller, who decides
        conn.send((type(exc).__name__, str(exc)[:2000]))
    finally:
        conn.close()


class Child:
    """work(*args) in a child process (work: a function of a module the child can import)."""

    def __init__(self, work, *args, name: str):
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=serve, args=(work, args, child), daemon=True, name=name)
        try:
            self._proc.start()
        finally:
            child.close()
        self.why: str | None = None  # what went wrong, when result() gives None

    def result(self, timeout: float = TIMEOUT) -> tuple[str, object] | None:
        """("ok", what the work returned) or (the class name of what it raised, its message); None when the child
        died or took longer than `timeout` (self.why). The child is ended either way."""
        try:
            if not self._conn.poll(timeout):
                self.why = "timeout"
                return None
            return self._conn.recv()
        except (EOFError, OSError) as exc:
            self.why = f"died: {type(exc).__name__}"
            return None
        finally:
            self.close()

    def close(self) -> None:
        self._conn.close()
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(5)
