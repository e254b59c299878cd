"""services.gcpause: the cyclic collector paused around a bulk computation, and what a big one leaves alive frozen
so that the next young collection (on whichever thread, often the window's) does not walk it all."""

from __future__ import annotations

import gc
import weakref

import pytest

from desktop.services import gcpause


@pytest.fixture(autouse=True)
def clean():
    gc.collect()
    frozen = gc.get_freeze_count()
    yield
    gc.unfreeze()  # what a test froze goes back to the collector (and start-up's freeze with it: pytest has none)
    gc.collect()
    assert frozen == 0 or gc.get_freeze_count() == 0


class Cycle:
    def __init__(self):
        self.me = self


def test_the_collector_is_off_inside_nested_pauses_and_back_after_the_last():
    assert gc.isenabled()
    with gcpause.paused():
        assert not gc.isenabled()
        with gcpause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_small_computation_leaves_its_objects_to_the_young_generation():
    with gcpause.paused():
        kept = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == 0 and len(kept) == 1000


def test_what_a_big_computation_leaves_alive_is_frozen_not_walked_by_the_next_young_collection():
    before = gc.get_freeze_count()
    with gcpause.paused():
        kept = [[i] for i in range(gcpause.FREEZE_AFTER + 10_000)]
    assert gc.get_freeze_count() - before >= len(kept)
    assert len(gc.get_objects(generation=0)) < 1_000  # the next young collection has nothing of it to walk
    frozen = gc.get_freeze_count()
    del kept  # reference counting still frees frozen objects
    assert frozen - gc.get_freeze_count() >= gcpause.FREEZE_AFTER


def test_a_cycle_left_by_a_big_computation_is_freed_by_collect_everything():
    with gcpause.paused():
        kept = [[i] for i in range(gcpause.FREEZE_AFTER + 10_000)]
        cycles = [Cycle() for _ in range(100)]
    last = weakref.ref(cycles[-1])
    del cycles
    gc.collect()
    assert last() is not None  # frozen: an ordinary collection does not walk it
    gcpause.collect_everything()
    assert last() is None
    assert gc.get_freeze_count() >= len(kept)  # the survivors frozen again
