"""Window tests share one QApplication: a test must not leave a mouse button held for the next one."""
import pytest


@pytest.fixture(autouse=True)
def _no_mouse_button_left_pressed(qapp):
    """A double-click that opens a dialog can lose its last release to the window it replaced; the application then
    believes a button is still held, and the next test's own column sizing looks like a user's drag."""
    yield
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    held = QApplication.mouseButtons()
    if held != Qt.MouseButton.NoButton:
        window = QApplication.activeWindow() or next(iter(QApplication.topLevelWidgets()), None)
        if window is not None:
            QTest.mouseRelease(window, held)
