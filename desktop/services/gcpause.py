"""Python's cyclic garbage collector paused around a bulk computation.

A check of a county builds some 300,000 member objects and as many small tuples and lists, none of them in a
cycle; every full collection walks all of them again (about a fifth of a check's CPU time at 100,000
households). Reference counting still frees everything while the collector is paused; it is back when the last
computation that paused it is done. Nested and concurrent pauses (two worker threads) count: the collector comes
back only when none is left, and only if it was on before the first.

What such a computation leaves alive (a county's results, cached) sits in the youngest generation when the
collector comes back, and the very next young collection — on whichever thread allocates next, often the
window's — walks all of it: 40–90 ms for a million objects, a visible stall, and again when they move on to the
middle generation. So when a pause leaves more than FREEZE_AFTER young objects, they are frozen (gc.freeze:
moved out of the collector's generations, O(1)); reference counting still frees them. A cycle among them is
found only by `collect_everything` (the window calls it when idle); a command-line run ends before it matters.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

FREEZE_AFTER = 100_000  # young objects left by a pause above which they are frozen instead of walked
_LOCK = threading.Lock()
_STATE = {"depth": 0, "was": False}


@contextmanager
def paused():
    with _LOCK:
        if _STATE["depth"] == 0:
            _STATE["was"] = gc.isenabled()
            gc.disable()
        _STATE["depth"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["depth"] -= 1
            if _STATE["depth"] == 0 and _STATE["was"]:
                if gc.get_count()[0] > FREEZE_AFTER:
                    gc.freeze()
                gc.enable()


def collect_everything() -> None:
    """A full collection that also walks what pauses (and start-up) froze, then freezes the survivors again:
    cycles left by a paused computation are freed here, and what lives on is not walked by later collections."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
