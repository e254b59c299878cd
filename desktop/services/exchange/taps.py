"""The fingerprints' second pass over a sheet read in blocks, in a process of its own (reader.Book.prefetch).

A county's national list (300,000 rows, about 500 MB of XML) is cut for its fingerprints (rowcut.Tap) once the guards
have passed it. On the importer's thread that cut took about 4 s at 100,000 households, before the first block's rows
were converted, while the second core had little to do but calamine's parse. Here a child process (multiprocessing,
spawn, as the .xls reader's) inflates the same pieces and cuts them as the tap would, with the guards' word on each,
while the importer converts and writes; its rows are taken back when the households are fingerprinted (Tap.settle).
The child imports measure.py and rowcut.py, nothing of the register or the database. Whatever goes wrong there — it
cannot start, it dies, the file changed under it — the pass is done on the importer's thread as before: what is stored
never depends on where it was cut."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from .measure import Limits, large_allocations_apart, sheet_pieces
from .rowcut import Tap, _Rows

TIMEOUT = 600  # seconds the importer waits for the child's rows before cutting them itself
stats = {"given": 0, "failed": 0}  # children whose rows were taken, and those that gave none (the self-test asks)


def cut(path: str, part: str, limits: Limits, letters: list[str], name: str, plain: list[bool], conn) -> None:
    """In the child: the rows of the sheet `name` as a tap over `letters` cuts them, sent back; or why not."""
    try:
        _behind()
        large_allocations_apart()  # (its pieces' buffers given back as they are freed: measure.py)
        tap = Tap(letters)
        feed = tap(name)
        pieces = sheet_pieces(Path(path), part, limits)
        try:
            for piece, word in zip(pieces, plain, strict=True):
                feed(piece, word)
        finally:
            pieces.close()
        rows = tap.sheets[name]
        conn.send(("ok", rows))
    except Exception as exc:  # noqa: BLE001 - the importer cuts the sheet itself
        conn.send(("failed", f"{type(exc).__name__}: {str(exc)[:200]}"))
    finally:
        conn.close()


def _behind() -> None:
    """This process yields a core to the importer and calamine whenever they want it: its rows are wanted only at the
    end of the read, and the second core is otherwise idle for more than half of it."""
    import os
    import sys
    try:
        if sys.platform == "win32":
            import ctypes
            kernel32 = ctypes.windll.kernel32
            kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), 0x4000)  # BELOW_NORMAL_PRIORITY_CLASS
        else:
            os.nice(10)
    except (OSError, AttributeError):  # pragma: no cover - left as it is
        pass


class Apart:
    """The child cutting one sheet; result() waits for its rows (None: it gave none) and ends it."""

    def __init__(self, path: Path, part: str, limits: Limits, letters: list[bytes], name: str, plain: list[bool]):
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=cut, args=(str(path), part, limits, [x.decode() for x in letters], name,
                                                   list(plain), child), daemon=True, name="fingerprints")
        try:
            self._proc.start()
        finally:
            child.close()
        self.why: str | None = None  # what went wrong in the child

    def result(self) -> _Rows | None:
        try:
            rows = self._receive()
        finally:
            self.close()
        stats["given" if rows is not None else "failed"] += 1
        return rows

    def _receive(self) -> _Rows | None:
        try:
            if not self._conn.poll(TIMEOUT):
                self.why = "timeout"
                return None
            status, got = self._conn.recv()
        except (EOFError, OSError) as exc:
            self.why = f"died: {type(exc).__name__}"
            return None
        if status != "ok":
            self.why = got
            return None
        return got

    def close(self) -> None:
        self._conn.close()
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(5)
