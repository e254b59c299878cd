"""Issue 19 problem 6: the long stalls under load were Python's full garbage collections running on the worker
(each 0.3–1.3 s, holding the GIL). The operations layer leaves the full collection for an idle moment; the young
generations are collected as before."""

from __future__ import annotations

import gc

import pytest

from desktop.views import operations as ops_module
from desktop.views.operations import install_gc_policy, operations, query


@pytest.fixture(autouse=True)
def policy():
    """As the program installs it at start (app.setup_application); undone for the rest of the test process."""
    undo = install_gc_policy()
    yield
    undo()
    gc.collect()


class Cycle:
    def __init__(self):
        self.me = self


def test_no_automatic_full_collection_while_the_application_runs(qtbot):
    ops = operations()
    young, middle, full = gc.get_threshold()
    assert full >= ops_module.NO_AUTOMATIC_FULL_COLLECTION and young > 0 and middle > 0  # young ones still run
    full_runs = []

    def watch(phase, info):
        if phase == "start" and info["generation"] == 2:
            full_runs.append(info)

    gc.callbacks.append(watch)
    try:
        def work(_task):  # far more promotions than the default threshold (10) allows before a full collection
            kept = []
            for i in range(300_000):
                kept.append([i])
            return len(kept)

        results = []
        query(None, work, results.append)
        assert ops.wait()
        assert results == [300_000] and full_runs == []
        assert ops._idle.isActive()  # the postponed collection waits for a quiet moment
    finally:
        gc.callbacks.remove(watch)


def test_the_idle_collection_frees_cycles_that_outlived_the_young_generations(qtbot, monkeypatch):
    operations()
    gc.collect()
    monkeypatch.setattr(ops_module, "PENDING_FOR_IDLE_COLLECT", 0)
    alive = [Cycle() for _ in range(1000)]
    for _ in range(3):
        gc.collect(1)  # as the automatic young collections would: the cycles, still in use, reach the oldest one
    del alive  # now garbage: only a full collection finds cycles of the oldest generation
    gc.collect(1)
    assert sum(isinstance(o, Cycle) for o in gc.get_objects()) == 1000
    assert ops_module.collect_when_idle()
    assert sum(isinstance(o, Cycle) for o in gc.get_objects()) == 0


def test_the_idle_collection_also_frees_cycles_a_big_paused_computation_froze(qtbot):
    import weakref

    from desktop.services import gcpause
    operations()
    gc.collect()
    assert not ops_module.collect_when_idle()  # nothing pending
    with gcpause.paused():  # as check and assess do on the worker
        kept = [[i] for i in range(gcpause.FREEZE_AFTER + 10_000)]
        cycles = [Cycle() for _ in range(100)]
    last = weakref.ref(cycles[-1])
    del cycles, kept
    gc.collect()
    assert last() is not None  # frozen: not walked by the young (or any ordinary) collection
    assert ops_module.collect_when_idle()
    assert last() is None
