"""File dialogs in Chinese, opening in the user's documents folder.

The program uses Qt's own file dialog everywhere (Qt.AA_DontUseNativeDialogs: the same dialog on every desktop,
and one that can be translated); Qt's Chinese translation (qtbase_zh_CN, installed by app.py) leaves a few of its
labels in English ("Look in:", "Files of type:"), which `MissingChinese` supplies. `documents_dir()` is where a
file dialog opens when nothing better is known (never the program's folder or /root)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QStandardPaths, Qt, QTranslator
from PySide6.QtWidgets import QApplication

_MISSING = {  # (context, source text) → Chinese, for texts qtbase_zh_CN does not translate
    ("QFileDialog", "Look in:"): "查找范围：",
    ("QFileDialog", "&Look in:"): "查找范围(&L)：",
    ("QFileDialog", "Files of type:"): "文件类型：",
    ("QFileDialog", "Files of &type:"): "文件类型(&T)：",
    ("QFileDialog", "File &name:"): "文件名(&N)：",
    ("QFileDialog", "Back"): "后退",
    ("QFileDialog", "Forward"): "前进",
    ("QFileDialog", "Parent Directory"): "上一级",
    ("QFileDialog", "Create New Folder"): "新建文件夹",
    ("QFileDialog", "List View"): "列表",
    ("QFileDialog", "Detail View"): "详细信息",
    ("QFileDialog", "Sidebar"): "侧边栏",
}


class MissingChinese(QTranslator):
    """The few texts of Qt's own dialogs that qtbase_zh_CN leaves in English."""

    def translate(self, context: str, source: str, disambiguation: str | None = None, n: int = -1) -> str | None:
        return _MISSING.get((context, source))  # None (a null string): the next translation is asked

    def isEmpty(self) -> bool:
        return False


def install_file_dialogs(app: QApplication | None = None) -> None:
    """Qt's own (translatable) file dialogs, with the missing Chinese labels. Installed after qtbase_zh_CN, so it is
    asked first and answers only for the texts that translation lacks."""
    app = app or QApplication.instance()
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_DontUseNativeDialogs, True)
    if app.property("_missing_chinese") is None:
        translator = MissingChinese(app)
        app.installTranslator(translator)
        app.setProperty("_missing_chinese", True)


def documents_dir() -> Path:
    """The user's documents folder (Windows 文档, Linux ~/Documents or ~), where file dialogs open by default."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    path = Path(location) if location else Path.home()
    return path if path.is_dir() else Path.home()
