"""Work of the importer done in a child process (multiprocessing, spawn): a sheet's fingerprints (taps.py), the
guards' pass over the later part of a large sheet (measure._scan_apart), an old .xls read under a memory limit (xls.py).

A child imports only what its work needs (measure.py, rowcut.py: the standard library; _xls_child.py: calamine), runs
at a lower priority than the importer and calamine unless the importer only waits for it (its result is wanted later,
and the second core is otherwise idle for much of an import), and sends back ("ok", result) or (the exception's class
name, its message). The caller decides what a failure means — most often: do the work itself, as before — and a child
is always ended by close().

As with any spawned child, the parent's main script is imported again in the child (as __mp_main__) unless it was
run as a module (`python -m desktop`) or is the bundled executable (freeze_support in desktop/__main__.py): a script
that imports files must keep its work under `if __name__ == "__main__":` (bench/ and scripts/ do)."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading

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


def serve(work, jobs, results, yields: bool = True) -> None:
    """In the child: work(*args) for each job received, in order, each sent back as it is done, or what it raised;
    ends when the parent closes its end of the jobs. `yields`: at a lower priority (behind())."""
    try:
        if yields:
            behind()
        while True:
            try:
                args = jobs.recv()
            except EOFError:
                return
            try:
                out = ("ok", work(*args))
            except Exception as exc:  # noqa: BLE001 - said to the caller, who decides
                out = (type(exc).__name__, str(exc)[:2000])
            results.send(out)
            del out  # (the job's memory given back before the next is waited for)
    finally:
        results.close()


class Worker:
    """work(*args) for each job given, one at a time in the order given, in one child process (work: a function of
    a module the child can import). A thread of the parent takes each result as it comes, so the child never waits
    to be heard holding what it made: several jobs cost one process, and one job's memory at a time."""

    def __init__(self, work, *, name: str, yields: bool = True):
        ctx = multiprocessing.get_context("spawn")
        jobs_end, self._jobs = ctx.Pipe(duplex=False)
        self._results, results_end = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=serve, args=(work, jobs_end, results_end, yields), daemon=True, name=name)
        try:
            self._proc.start()
        finally:
            jobs_end.close()
            results_end.close()
        self._given = 0
        self._got: dict[int, tuple] = {}
        self._ended: str | None = None  # why no more results will come
        self._heard = threading.Condition()
        self._listener = threading.Thread(target=self._listen, daemon=True, name=f"{name} results")
        self._listener.start()
        self.why: str | None = None  # what went wrong, when take() gives None

    def give(self, *args) -> int:
        """Send a job; its number, for take()."""
        self._jobs.send(args)
        self._given += 1
        return self._given - 1

    def no_more(self) -> None:
        """No job follows: the child ends once it has answered those given, and its memory goes with it (a job given
        after this fails to be sent)."""
        try:
            self._jobs.close()
        except OSError:
            pass

    def _listen(self) -> None:
        k = 0
        while True:
            try:
                got = self._results.recv()
            except (EOFError, OSError) as exc:
                with self._heard:
                    self._ended = f"died: {type(exc).__name__}"
                    self._heard.notify_all()
                return
            with self._heard:
                self._got[k] = got
                k += 1
                self._heard.notify_all()

    def take(self, job: int, timeout: float = TIMEOUT) -> tuple[str, object] | None:
        """("ok", what the job's work returned) or (the class name of what it raised, its message); None when the
        child died before sending it or it took longer than `timeout` (self.why)."""
        with self._heard:
            if not self._heard.wait_for(lambda: job in self._got or self._ended is not None, timeout):
                self.why = "timeout"
                return None
            if job in self._got:
                return self._got.pop(job)
            self.why = self._ended
            return None

    def close(self) -> None:
        """The child ended (its jobs not begun are dropped) and the results' thread with it."""
        try:
            self._jobs.close()
        except OSError:
            pass
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(5)
        self._listener.join(5)  # (the child's end of the results is closed with it: the thread hears EOF)
        self._results.close()


class Child(Worker):
    """work(*args) in a child process: a Worker of one job, ended when its result is taken."""

    def __init__(self, work, *args, name: str, yields: bool = True):
        super().__init__(work, name=name, yields=yields)
        self._job = self.give(*args)

    def result(self, timeout: float = TIMEOUT) -> tuple[str, object] | None:
        """As Worker.take, the child ended either way."""
        try:
            return self.take(self._job, timeout)
        finally:
            self.close()
