"""Python's cyclic garbage collector paused around a bulk computation.

A check of a county builds some 300,000 member objects and as many small tuples and lists, none of them in a
cycle; every full collection walks all of them again (about a fifth of a check's CPU time at 100,000
households). Reference counting still frees everything while the collector is paused; it is back when the last
computation that paused it is done. Nested and concurrent pauses (two worker threads) count: the collector comes
back only when none is left, and only if it was on before the first.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

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
                gc.enable()
