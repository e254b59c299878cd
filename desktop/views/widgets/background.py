"""A service call on a pool thread: the result or the exception comes back to the GUI thread as a
signal. The callable must open its own session (ctx.read / ctx.run): connections stay in their thread."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QRunnable, Signal


class JobSignals(QObject):
    done = Signal(object)
    failed = Signal(object)


class Job(QRunnable):
    """A service call on a pool thread; the result or the exception comes back as a signal."""

    def __init__(self, fn: Callable[[], object]):
        super().__init__()
        self.fn = fn
        self.signals = JobSignals()

    def run(self) -> None:
        try:
            result = self.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread, shown there
            self.signals.failed.emit(exc)
        else:
            self.signals.done.emit(result)
