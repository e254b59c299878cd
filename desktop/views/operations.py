"""The one way the window runs work off the GUI thread, and the one "data changed" signal (after Anki's
qt/aqt/operations and taskman).

    query(parent, lambda task: ctx.read(service.fn, ...), on_done)        reads: the result comes back to on_done
    write(parent, lambda task: ctx.run(service.fn, ...), on_done)         writes: the same, then data_changed

Every operation runs on the same single worker thread, one after another, so two writes never race and a page
load never meets a half-finished import. The work function gets a `Task`: it may report progress
(`task.report(done, total, stage)`) and poll `task.cancelled()`. With a `title`, a progress dialog appears when
the work takes longer than half a second (SHOW_AFTER_MS), with 取消 when `cancellable`. A result whose parent
widget is gone is dropped; with a `key`, only the newest operation of that key reports (a page refreshed twice
shows the second answer). A refusal (ServiceError) or a fault is shown in one place, errors.show_error, unless
the caller handles it with on_error.

Data changed: AppContext.run calls its listeners after every commit, on whatever thread; the window connects them
to `operations().notify_changed`, which emits `data_changed` once on the GUI thread for a burst of writes. Pages
listen to it (through MainWindow) instead of waiting for F5.

Python's garbage collector: a full collection (the oldest generation) walks every object of the process while
holding the GIL. Triggered automatically on the worker in the middle of a big read (20,000 households), it took
0.3–1.3 s and the window could not repaint meanwhile: measured with gc.callbacks, the long pauses of issue 19 were
exactly these. So the young generations are still collected as usual (a few ms each), but the full collection
waits for a quiet moment: when no operation has run for IDLE_COLLECT_MS (install_gc_policy).
"""

from __future__ import annotations

import gc
import threading
from typing import Callable, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QElapsedTimer, QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QApplication, QProgressDialog, QPushButton, QWidget

from ..services import gcpause
from .errors import show_error

T = TypeVar("T")
SHOW_AFTER_MS = 500
IDLE_COLLECT_MS = 30_000  # a full collection runs once the worker has been idle this long …
PENDING_FOR_IDLE_COLLECT = 20  # … and this many young collections moved objects to the oldest generation
NO_AUTOMATIC_FULL_COLLECTION = 1_000_000  # gc threshold2: young collections before an automatic full one
_FROZEN = {"after_idle": 0}  # gc.get_freeze_count() after start-up's freeze or the last idle collection


def install_gc_policy() -> Callable[[], None]:
    """Young generations collected automatically, the full collection only when idle (see the module's notes);
    what start-up built (modules, code lists) is frozen: never walked again. The program installs it at start
    (app.setup_application); returns what undoes it (a test process, which has no idle moments, needs that)."""
    before = gc.get_threshold()
    gc.set_threshold(before[0], before[1], NO_AUTOMATIC_FULL_COLLECTION)
    gc.freeze()
    _FROZEN["after_idle"] = gc.get_freeze_count()

    def undo() -> None:
        gc.set_threshold(*before)
        gc.unfreeze()

    return undo


def collect_when_idle() -> bool:
    """The postponed full collection, if enough has moved to the oldest generation since the last one, or a big
    computation froze what it left (services.gcpause); it walks the frozen objects too, so cycles among them go."""
    if gc.get_count()[2] < PENDING_FOR_IDLE_COLLECT and gc.get_freeze_count() <= _FROZEN["after_idle"]:
        return False
    gcpause.collect_everything()
    _FROZEN["after_idle"] = gc.get_freeze_count()
    return True


class Cancelled(Exception):
    """Raised by work that stopped because 取消 was pressed; not shown as an error."""


class Task:
    """What the work function may use on the worker thread."""

    def __init__(self, signals: "_Signals"):
        self._cancel = threading.Event()
        self._signals = signals

    def report(self, done: int, total: int, stage: str = "") -> None:
        self._signals.progressed.emit(done, total, stage)

    def cancel(self) -> None:
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Stop here when cancelled."""
        if self._cancel.is_set():
            raise Cancelled()


class _Signals(QObject):
    succeeded = Signal(object)
    failed = Signal(object)
    progressed = Signal(int, int, str)


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[Task], object], task: Task, signals: _Signals):
        super().__init__()
        self.fn, self.task, self.signals = fn, task, signals

    def run(self) -> None:  # the worker thread
        try:
            result = self.fn(self.task)
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread, shown there
            self.signals.failed.emit(exc)
        else:
            self.signals.succeeded.emit(result)


class Operation(Generic[T]):
    """One submitted piece of work; `cancel()` asks it to stop and drops its result."""

    def __init__(self, ops: "Operations", parent: QWidget | None, fn: Callable[[Task], T],
                 on_done: Callable[[T], object] | None, on_error: Callable[[BaseException], object] | None,
                 title: str | None, cancellable: bool, key: object | None, write: bool):
        self.ops, self.parent, self.key, self.write = ops, parent, key, write
        self.on_done, self.on_error = on_done, on_error
        self.signals = _Signals()
        self.task = Task(self.signals)
        self.finished = False
        self.dropped = False
        self.result: object = None
        self.dialog: QProgressDialog | None = None
        if title:
            self.dialog = self._progress_dialog(title, cancellable)
        self.signals.progressed.connect(self._progressed)
        self.signals.succeeded.connect(self._succeeded)
        self.signals.failed.connect(self._failed)
        self._runnable = _Runnable(fn, self.task, self.signals)
        self._runnable.setAutoDelete(False)

    # -------------------------------------------------------------- progress

    def _progress_dialog(self, title: str, cancellable: bool) -> QProgressDialog:
        dialog = QProgressDialog(title, "取消", 0, 0, self.parent)
        dialog.setWindowTitle(title)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(SHOW_AFTER_MS)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumWidth(460)
        if cancellable:
            self.cancel_button = QPushButton("取消")
            dialog.setCancelButton(self.cancel_button)
            dialog.canceled.connect(self._cancel_pressed)
        else:
            dialog.setCancelButton(None)
        dialog.setValue(0)  # starts the half-second timer
        return dialog

    def _progressed(self, done: int, total: int, stage: str) -> None:
        if self.dialog is None:
            return
        if total > 0:
            self.dialog.setMaximum(total)
            self.dialog.setValue(min(done, total))
        else:
            self.dialog.setMaximum(0)
        if stage:
            self.dialog.setLabelText(stage)
        if stage in ("正在保存", "正在压缩保存文件") and hasattr(self, "cancel_button"):
            self.cancel_button.setEnabled(False)  # past the point where stopping leaves nothing behind

    def _cancel_pressed(self) -> None:
        self.task.cancel()
        if self.dialog is not None:
            self.dialog.setLabelText("正在取消……")

    def cancel(self) -> None:
        """Ask the work to stop; its result (or error) is not reported."""
        self.task.cancel()
        self.dropped = True

    def _close_dialog(self) -> None:
        if self.dialog is not None and shiboken6.isValid(self.dialog):
            self.dialog.blockSignals(True)  # closing the dialog emits canceled too
            self.dialog.reset()
            self.dialog.close()
            self.dialog.deleteLater()
        self.dialog = None

    # -------------------------------------------------------------- outcome

    def _current(self) -> bool:
        """Report only to a living parent, and only the newest operation of a key."""
        if self.dropped or (self.parent is not None and not shiboken6.isValid(self.parent)):
            return False
        return self.key is None or self.ops._latest.get(self.key) is self

    def _succeeded(self, result) -> None:
        current = self._finish(result)
        if current and self.on_done is not None:
            self.on_done(result)

    def _failed(self, exc: BaseException) -> None:
        if not self._finish(exc):
            return
        if self.on_error is not None:
            self.on_error(exc)
        elif not isinstance(exc, Cancelled):
            show_error(self.parent, exc)

    def _finish(self, value) -> bool:
        self.finished = True
        self.result = value
        self._close_dialog()
        current = self._current()
        self.ops._done(self)
        return current


class Operations(QObject):
    """The single worker and the data-changed signal; one per application (operations())."""

    data_changed = Signal()
    busy_changed = Signal(bool)
    _poked = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)  # one worker: operations run one after another
        self.pool.setExpiryTimeout(-1)
        self._running: list[Operation] = []
        self.finished_count = 0  # operations finished so far (a watchdog tells the worker's time from the GUI's)
        self._latest: dict[object, Operation] = {}
        self._coalesce = QTimer(self)
        self._coalesce.setSingleShot(True)
        self._coalesce.setInterval(0)
        self._coalesce.timeout.connect(self.data_changed)
        self._poked.connect(self._coalesce.start, Qt.ConnectionType.QueuedConnection)
        self._idle = QTimer(self)  # the postponed full collection (install_gc_policy)
        self._idle.setSingleShot(True)
        self._idle.setInterval(IDLE_COLLECT_MS)
        self._idle.timeout.connect(collect_when_idle)

    def submit(self, parent: QWidget | None, fn: Callable[[Task], T], on_done: Callable[[T], object] | None = None,
               *, on_error: Callable[[BaseException], object] | None = None, title: str | None = None,
               cancellable: bool = False, key: object | None = None, write: bool = False) -> Operation[T]:
        op: Operation[T] = Operation(self, parent, fn, on_done, on_error, title, cancellable, key, write)
        if key is not None:
            older = self._latest.get(key)
            if older is not None and not older.finished:
                older.task.cancel()
            self._latest[key] = op
        self._running.append(op)
        self._idle.stop()
        if len(self._running) == 1:
            self.busy_changed.emit(True)
        self.pool.start(op._runnable)
        return op

    def _done(self, op: Operation) -> None:
        self.finished_count += 1
        if op in self._running:
            self._running.remove(op)
        if op.key is not None and self._latest.get(op.key) is op:
            del self._latest[op.key]
        if not self._running:
            self._idle.start()
            self.busy_changed.emit(False)

    def busy(self, key: object | None = None) -> bool:
        if key is None:
            return bool(self._running)
        return key in self._latest

    def notify_changed(self) -> None:
        """Something was written (any thread): data_changed follows once on the GUI thread."""
        self._poked.emit()

    def wait(self, ms: int = 60000) -> bool:
        """Wait until every submitted operation has reported (tests, closing the window)."""
        if not self._running:
            return True
        timer = QElapsedTimer()
        timer.start()
        while self._running or self._coalesce.isActive():
            if timer.elapsed() > ms:
                return False
            self.pool.waitForDone(20)
            QCoreApplication.processEvents()
        return True


_operations: Operations | None = None


def operations() -> Operations:
    """The application's operations (created on first use, owned by the QApplication)."""
    global _operations
    if _operations is None or not shiboken6.isValid(_operations):
        _operations = Operations(QApplication.instance())
    return _operations


def query(parent: QWidget | None, fn: Callable[[Task], T], on_done: Callable[[T], object] | None = None,
          **kwargs) -> Operation[T]:
    """Read something off the GUI thread; on_done gets the result on the GUI thread."""
    return operations().submit(parent, fn, on_done, **kwargs)


def write(parent: QWidget | None, fn: Callable[[Task], T], on_done: Callable[[T], object] | None = None,
          **kwargs) -> Operation[T]:
    """Change something off the GUI thread (fn uses ctx.run, whose commit announces data_changed)."""
    return operations().submit(parent, fn, on_done, write=True, **kwargs)
