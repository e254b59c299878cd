"""The fingerprints' second pass over a sheet read in blocks, in a process of its own (reader.Book.prefetch); our
layout's large sheets are sent to the same kind of process, one worker a book cutting them in turn.

A county's national list (300,000 rows, about 500 MB of XML) is cut for its fingerprints (rowcut.Tap) once the guards
have passed it. On the importer's thread that cut took about 4 s at 100,000 households, before the first block's rows
were converted, while the second core had little to do but calamine's parse. Here a child process (multiprocessing,
spawn, as the .xls reader's) inflates the same pieces and cuts them as the tap would, with the guards' word on each,
while the importer converts and writes; its rows are taken back when the households are fingerprinted (Tap.settle).
The child imports measure.py and rowcut.py, nothing of the register or the database. Whatever goes wrong there — it
cannot start, it dies, the file changed under it — the pass is done on the importer's thread as before: what is stored
never depends on where it was cut."""

from __future__ import annotations

from pathlib import Path

from .apart import Worker
from .measure import Limits, large_allocations_apart
from .rowcut import Tap, _Rows

stats = {"given": 0, "failed": 0}  # children whose rows were taken, and those that gave none (the self-test asks)


def cut(path: str, part: str, limits: Limits, letters: list[str], name: str, plain: list[bool]) -> _Rows:
    """In the child: the rows of the sheet `name` as a tap over `letters` cuts them."""
    large_allocations_apart()  # (its pieces' buffers given back as they are freed: measure.py)
    return Tap(letters).cut_again(name, Path(path), part, limits, plain)


def worker() -> Worker:
    """The child process that cuts a book's sheets, one after the other (our layout has three large ones)."""
    return Worker(cut, name="fingerprints")


class Apart:
    """One sheet cut by a book's worker; result() waits for its rows (None: it gave none)."""

    def __init__(self, child: Worker, path: Path, part: str, limits: Limits, letters: list[bytes], name: str,
                 plain: list[bool]):
        self._child = child
        self._job = child.give(str(path), part, limits, [x.decode() for x in letters], name, list(plain))
        self.why: str | None = None  # what went wrong in the child

    def result(self) -> _Rows | None:
        got = self._child.take(self._job)
        rows = got[1] if got is not None and got[0] == "ok" else None
        if rows is None:
            self.why = self._child.why if got is None else f"{got[0]}: {got[1]}"
        stats["given" if rows is not None else "failed"] += 1
        return rows
