"""What the one-folder bundle leaves out, shared by installer/fanpin.spec and the checks that read it.

STACK.md measured it: `--exclude-module` alone does not drop Qt libraries, so the spec filters a.binaries and
a.datas through keep(). installer/check_windows_wheels.py runs the same keep() over the DLLs of the Windows
wheels, so a name added here that a kept DLL imports fails CI on Linux instead of on a township PC.
"""

from __future__ import annotations

# Qt libraries the program never loads (it uses QtCore, QtGui, QtWidgets, QtPrintSupport).
UNUSED_QT = ("Qt6Qml", "Qt6Quick", "Qt6Pdf", "Qt6Network", "Qt6Svg", "Qt6OpenGL", "Qt6Designer", "Qt6Help",
             "Qt6Labs", "Qt6Lottie", "Qt6Test", "Qt6Sql", "Qt6Xml", "Qt6Concurrent", "Qt6ShaderTools",
             "Qt6VirtualKeyboard", "Qt6WebSockets", "Qt6StateMachine", "Qt6UiTools", "Qt6Multimedia",
             "Qt6SpatialAudio", "Qt6Charts", "Qt6DataVisualization", "Qt63D", "Qt6Bluetooth", "Qt6Nfc",
             "Qt6Positioning", "Qt6Sensors", "Qt6SerialPort", "Qt6RemoteObjects", "Qt6Scxml", "Qt6TextToSpeech",
             "Qt6WebChannel", "Qt6WebEngine", "Qt6Graphs", "Qt6Quick3D", "Qt6HttpServer",
             # Linux: what only the eglfs and wayland platform plugins (dropped below) load
             "Qt6EglF", "Qt6WaylandClient", "Qt6WlShell")
UNUSED_PLUGINS = ("wayland", "eglfs", "tls", "networkinformation", "qmltooling", "sqldrivers", "virtualkeyboard",
                  "multimedia", "position", "sensors", "texttospeech", "webview", "canbus", "designer",
                  "scenegraph", "renderers", "geometryloaders", "sceneparsers", "assetimporters",
                  "platformthemes/libqgtk3", "egldeviceintegrations")
# Single plugins (folder/name, without "lib" and extension) that need a Qt library dropped above or one no
# Windows/Linux PC has: kept, they would sit in the bundle unable to load. installer/check_windows_wheels.py and
# installer/check_bundle_libs.py find such plugins from the DLL/ELF imports.
UNUSED_PLUGIN_FILES = ("imageformats/qsvg", "iconengines/qsvgicon",        # Qt6Svg
                       "imageformats/qpdf",                                 # Qt6Pdf (not in PySide6-Essentials)
                       "generic/qtuiotouchplugin", "platforms/qvnc",        # Qt6Network
                       "platforms/qeglfs", "platforms/qminimalegl",         # Qt6OpenGL, EGL
                       "platforms/qwayland",                                # libwayland-cursor; the program uses xcb
                       "platforminputcontexts/qtvirtualkeyboardplugin")     # Qt6VirtualKeyboard
EXCLUDES = ["tkinter", "unittest", "pydoc", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtNetwork",
            "PySide6.QtSql", "PySide6.QtSvg", "PySide6.QtOpenGL", "PySide6.QtPdf", "PySide6.QtTest",
            "PySide6.QtDesigner", "PySide6.QtHelp", "PySide6.QtUiTools", "PySide6.QtXml", "PySide6.QtConcurrent",
            "pytest", "hypothesis", "IPython"]

# The folder PyInstaller puts everything but the executables in. The installer deletes it before an upgrade
# lays the new files (installer/windows/fanpin.iss [InstallDelete]), so both must name the same folder.
CONTENTS_DIRECTORY = "_internal"
BUNDLE_NAME = "fanpin-workbench"         # the folder under dist/, and the windowed executable
CLI_NAME = "fanpin-cli"                  # the console executable: command line and --self-test


def keep(entry) -> bool:
    """False for a (dest, source, kind) TOC entry the bundle leaves out."""
    dest = entry[0].replace("\\", "/")
    name = dest.rsplit("/", 1)[-1]
    if any(mod in name for mod in UNUSED_QT):
        return False
    if "/plugins/" in dest:
        if any(f"/plugins/{p}" in dest for p in UNUSED_PLUGINS):  # e.g. the GTK theme needs GTK
            return False
        if plugin_id(dest) in UNUSED_PLUGIN_FILES:
            return False
    if "/translations/" in dest and name.endswith(".qm") and "zh_CN" not in name:
        return False
    if "/qml/" in dest:
        return False
    return True


def plugin_id(dest: str) -> str:
    """A plugin's folder/name: PySide6/Qt/plugins/imageformats/libqsvg.so (or qsvg.dll) -> imageformats/qsvg."""
    folder, _, file = dest.replace("\\", "/").split("/plugins/", 1)[1].rpartition("/")
    stem = file.split(".", 1)[0]
    return f"{folder}/{stem[3:] if stem.startswith('lib') else stem}"
