"""Windows that fit the screen and remember their shape.

- `settings()`: the window's QSettings, an INI file in the data folder (paths.data_dir, FANPIN_DATA_DIR in tests),
  never the registry or ~/.config: the user's layout travels with the data folder and tests never touch it.
- `ScreenFit`: an application event filter. Every dialog and wizard, when shown, gets its remembered size back,
  is made no larger than the screen's available area (1366×728 on the usual office screen with its taskbar) and is
  moved inside it, so its buttons are always on the screen; its size is remembered when it closes.
- `remember_splitter`, `remember_header`: splitter positions and column widths, saved as they change.
- `place_main_window`: the main window's remembered geometry, or a size that fits the screen.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication, QDialog, QHeaderView, QSplitter, QWidget

from ..paths import data_dir

MARGIN = 8  # kept free around a dialog inside the available area
_settings: dict[str, QSettings] = {}


def settings() -> QSettings:
    """The INI file of window layouts in the current data folder."""
    path = str(data_dir() / "window.ini")
    s = _settings.get(path)
    if s is None:
        s = _settings[path] = QSettings(path, QSettings.Format.IniFormat)
    return s


def available(widget: QWidget | None = None) -> QRect:
    """The usable area (without the taskbar) of the screen the widget is on, or of the primary screen."""
    screen: QScreen | None = None
    if widget is not None:
        screen = widget.screen()
    if screen is None:
        screen = QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1366, 728)


def fit_rect(rect: QRect, area: QRect, margin: int = MARGIN) -> QRect:
    """rect made no larger than the area (less the margin) and moved inside it."""
    inner = area.adjusted(margin, margin, -margin, -margin)
    width, height = min(rect.width(), inner.width()), min(rect.height(), inner.height())
    left = min(max(rect.left(), inner.left()), inner.right() - width + 1)
    top = min(max(rect.top(), inner.top()), inner.bottom() - height + 1)
    return QRect(left, top, width, height)


def _key(widget: QWidget) -> str:
    return f"dialogs/{widget.objectName() or type(widget).__name__}"


class ScreenFit(QObject):
    """Keeps every dialog inside the screen's available area and remembers its size (install once, on the app)."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # Every event of the application passes here: the cheap class test first. Asking an event its type() makes
        # a Python enum member each time (about 2 µs an event when it came first).
        if not isinstance(obj, QDialog):  # QWizard is a QDialog
            return False
        kind = event.type()
        if kind in (QEvent.Type.Show, QEvent.Type.Hide) and obj.isWindow():
            if kind == QEvent.Type.Show:
                self._fit(obj)
                obj.setProperty("_shown_size", obj.size())
            elif obj.property("_fitted") and obj.size() != obj.property("_shown_size"):  # the user resized it
                settings().setValue(_key(obj), obj.size())
        return False

    def _fit(self, dialog: QWidget) -> None:
        area = available(dialog.parentWidget() or dialog)
        if not dialog.property("_fitted"):
            dialog.setProperty("_fitted", True)
            remembered = settings().value(_key(dialog))
            if isinstance(remembered, QSize) and remembered.isValid():
                dialog.resize(remembered.expandedTo(dialog.minimumSizeHint()))
            parent = dialog.parentWidget()
            # centred on its window (or, with none, on the screen's available area), with the size it has now
            centre = parent.window().frameGeometry().center() if parent is not None else area.center()
            frame = dialog.frameGeometry()
            frame.moveCenter(centre)
            dialog.move(frame.topLeft())
        frame = dialog.frameGeometry()
        extra_w = frame.width() - dialog.width()  # the window manager's frame, if any
        extra_h = frame.height() - dialog.height()
        fitted = fit_rect(frame, area)
        if fitted != frame:
            dialog.resize(max(1, fitted.width() - extra_w), max(1, fitted.height() - extra_h))
            dialog.move(fitted.topLeft())


_screen_fit: ScreenFit | None = None


def install_screen_fit(app: QApplication | None = None) -> ScreenFit:
    """Install the dialog filter on the application (once)."""
    global _screen_fit
    app = app or QApplication.instance()
    if _screen_fit is None:
        _screen_fit = ScreenFit(app)
        app.installEventFilter(_screen_fit)
    return _screen_fit


def place_main_window(window: QWidget, key: str = "main") -> None:
    """The remembered geometry (moved onto the screen if the screen changed), or 95 % × 92 % of the area."""
    area = available(window)
    stored = settings().value(f"{key}/geometry")
    if isinstance(stored, QByteArray) and not stored.isEmpty() and window.restoreGeometry(stored):
        if not window.isMaximized():
            window.setGeometry(fit_rect(window.geometry(), area, 0))
    else:
        window.resize(min(1280, int(area.width() * 0.95)), min(800, int(area.height() * 0.92)))
        frame = window.frameGeometry()
        frame.moveCenter(area.center())
        window.move(frame.topLeft())


def mark_placed(window: QWidget) -> None:
    """Call when the window is first shown: the geometry the user starts from."""
    if window.property("_placed") is None:
        window.setProperty("_placed", (window.geometry(), window.isMaximized()))


def save_main_window(window: QWidget, key: str = "main") -> None:
    """Remember the geometry when the user changed it (a window opened and closed untouched writes nothing)."""
    placed = window.property("_placed")
    if placed is None:
        return
    geometry, maximized = placed
    grown = QRect(geometry.topLeft(), geometry.size().expandedTo(window.minimumSizeHint()))
    if (window.geometry(), window.isMaximized()) not in ((geometry, maximized), (grown, maximized)):
        settings().setValue(f"{key}/geometry", window.saveGeometry())


def remember_splitter(splitter: QSplitter, key: str) -> None:
    """Restore a splitter's positions and save them whenever it is moved."""
    name = f"splitters/{key}"
    stored = settings().value(name)
    if isinstance(stored, QByteArray) and not stored.isEmpty():
        splitter.restoreState(stored)
    splitter.splitterMoved.connect(lambda *_: settings().setValue(name, splitter.saveState()))


def remember_header(header: QHeaderView, key: str) -> None:
    """Restore a table's column widths and order and save them (a moment after the last change)."""
    name = f"columns/{key}"
    stored = settings().value(name)
    if isinstance(stored, QByteArray) and not stored.isEmpty():
        header.restoreState(stored)
    timer = QTimer(header)
    timer.setSingleShot(True)
    timer.setInterval(300)
    timer.timeout.connect(lambda: settings().setValue(name, header.saveState()))


    def changed(*_args) -> None:
        if QApplication.mouseButtons() != Qt.MouseButton.NoButton:  # the user's drag, not a page's own sizing
            timer.start()

    header.sectionResized.connect(changed)
    header.sectionMoved.connect(changed)
