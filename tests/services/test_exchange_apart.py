"""The importer's child processes (exchange/apart.py): a Worker runs its jobs in order in one process, says what a job
raised without stopping the others, takes each result as it comes (the child does not wait, holding it, to be
heard), and says when the child died; close() leaves no process. The work here is a builtin, so the spawned child
imports nothing of the program."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from desktop.services.exchange.apart import Child, Worker


def test_jobs_answered_in_order_and_a_failure_says_what_it_raised():
    w = Worker(int, name="test")
    try:
        jobs = [w.give("5"), w.give("x"), w.give("7")]
        assert w.take(jobs[2]) == ("ok", 7)  # (taken in any order)
        assert w.take(jobs[0]) == ("ok", 5)
        name, text = w.take(jobs[1])
        assert name == "ValueError" and "'x'" in text
    finally:
        w.close()
    assert not multiprocessing.active_children()


def test_results_are_taken_as_they_come():
    """Two large results, neither asked for yet: both arrive (a child whose result waited in the pipe would still be
    sending the first)."""
    w = Worker(bytes, name="test")
    try:
        first, second = w.give(4 << 20), w.give(4 << 20)
        deadline = time.monotonic() + 60
        while len(w._got) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sorted(w._got) == [first, second]
        assert w.take(second) == ("ok", bytes(4 << 20))
    finally:
        w.close()


def test_a_child_that_dies_gives_none_and_says_so():
    w = Worker(int, name="test")
    try:
        assert w.take(w.give("1")) == ("ok", 1)
        w._proc.kill()
        w._proc.join(10)
        assert w.take(1, timeout=10) is None  # (a job it will never answer)
        assert w.why.startswith("died: ")
    finally:
        w.close()
    assert not multiprocessing.active_children()


def test_a_child_is_a_worker_of_one_job_ended_by_its_result():
    c = Child(int, "12", name="test")
    assert c.result() == ("ok", 12)
    assert not c._proc.is_alive() and not multiprocessing.active_children()
    c = Child(int, "12", name="test")
    assert c.result(timeout=0) is None and c.why == "timeout"  # (not answered at once: the child is ended)
    assert not multiprocessing.active_children()


def test_a_worker_told_no_more_ends_after_its_last_job():
    """no_more(): the child answers the jobs given and ends by itself (the import's worker is gone long before the
    import's peak); what it answered is still taken, and a job given after that is refused."""
    w = Worker(int, name="test")
    try:
        jobs = [w.give("3"), w.give("4")]
        w.no_more()
        w._proc.join(60)
        assert not w._proc.is_alive() and w._proc.exitcode == 0
        assert [w.take(j) for j in jobs] == [("ok", 3), ("ok", 4)]
        with pytest.raises(OSError):
            w.give("5")
    finally:
        w.close()
