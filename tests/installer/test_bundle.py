"""The bundle's filter, the checks that hold it to the DLLs' imports, the pinned versions, the portable zip and
the self-test's platform plugin: everything here runs offline (the wheel download is in .ci/run)."""

from __future__ import annotations

import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "installer"))

import bundle_filter  # noqa: E402
import check_windows_wheels as wheels  # noqa: E402
import make_portable  # noqa: E402

from desktop import selftest  # noqa: E402


def kept(dest: str) -> bool:
    return bundle_filter.keep((dest, "/src/" + dest, "BINARY"))


class TestFilter:
    def test_keeps_what_the_program_loads(self):
        for dest in ("PySide6/Qt6Core.dll", "PySide6/Qt6Gui.dll", "PySide6/Qt6Widgets.dll",
                     "PySide6/Qt6PrintSupport.dll", "PySide6/plugins/platforms/qwindows.dll",
                     "PySide6/plugins/styles/qmodernwindowsstyle.dll", "PySide6/plugins/imageformats/qjpeg.dll",
                     "PySide6/Qt/lib/libQt6XcbQpa.so.6", "PySide6/Qt/plugins/platforms/libqxcb.so",
                     "PySide6/Qt/plugins/platforms/libqoffscreen.so", "PySide6/translations/qtbase_zh_CN.qm",
                     "pypdfium2_raw/pdfium.dll"):
            assert kept(dest), dest

    def test_drops_unused_libraries_and_plugins_that_need_them(self):
        for dest in ("PySide6/Qt6Qml.dll", "PySide6/Qt6Svg.dll", "PySide6/Qt6Network.dll",
                     "PySide6/plugins/imageformats/qsvg.dll", "PySide6/Qt/plugins/imageformats/libqsvg.so",
                     "PySide6/plugins/iconengines/qsvgicon.dll", "PySide6/plugins/generic/qtuiotouchplugin.dll",
                     "PySide6/plugins/platforminputcontexts/qtvirtualkeyboardplugin.dll",
                     "PySide6/Qt/plugins/platforms/libqeglfs.so", "PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6",
                     "PySide6/translations/qtbase_de.qm", "PySide6/qml/QtQuick/qtquick2plugin.dll"):
            assert not kept(dest), dest

    def test_plugin_id_is_the_same_on_both_systems(self):
        assert bundle_filter.plugin_id("PySide6/Qt/plugins/imageformats/libqsvg.so") == "imageformats/qsvg"
        assert bundle_filter.plugin_id("PySide6\\plugins\\imageformats\\qsvg.dll") == "imageformats/qsvg"


class TestWheelCheck:
    """check_windows_wheels.check() on a made-up wheel layout, imports given instead of read by objdump."""

    IMPORTS = {
        "PySide6/QtGui.pyd": ["Qt6Gui.dll", "pyside6.abi3.dll", "python3.dll", "KERNEL32.dll"],
        "PySide6/QtCore.pyd": ["Qt6Core.dll", "python3.dll"],
        "PySide6/QtWidgets.pyd": ["Qt6Widgets.dll"],
        "PySide6/QtPrintSupport.pyd": ["Qt6PrintSupport.dll"],
        "PySide6/pyside6.abi3.dll": ["Qt6Core.dll", "shiboken6.abi3.dll"],
        "shiboken6/Shiboken.pyd": ["shiboken6.abi3.dll", "VCRUNTIME140.dll"],
        "shiboken6/shiboken6.abi3.dll": ["api-ms-win-crt-runtime-l1-1-0.dll"],
        "PySide6/Qt6Core.dll": ["icuuc.dll", "MSVCP140.dll"], "PySide6/msvcp140.dll": [],
        "PySide6/Qt6Gui.dll": ["Qt6Core.dll", "d3d11.dll"], "PySide6/Qt6Widgets.dll": ["Qt6Gui.dll"],
        "PySide6/Qt6PrintSupport.dll": ["Qt6Widgets.dll", "WINSPOOL.DRV"], "PySide6/Qt6Svg.dll": ["Qt6Gui.dll"],
        "PySide6/plugins/platforms/qwindows.dll": ["Qt6Gui.dll", "UIAutomationCore.DLL"],
        "PySide6/plugins/styles/qmodernwindowsstyle.dll": ["Qt6Widgets.dll", "UxTheme.dll"],
        "PySide6/plugins/imageformats/qsvg.dll": ["Qt6Svg.dll"],
        "pypdfium2_raw/pdfium.dll": ["GDI32.dll"],
    }
    TYPES = {"Gui": ["platforms", "imageformats"], "Widgets": ["styles"]}

    @pytest.fixture(autouse=True)
    def fake_objdump(self, monkeypatch):
        monkeypatch.setattr(wheels, "pe_imports", lambda path: self.IMPORTS[Path(path).as_posix()])

    def files(self):
        return {dest: Path(dest) for dest in self.IMPORTS}

    def test_a_consistent_filter_passes(self):
        problems, collected = wheels.check(self.files(), {"QtCore", "QtGui", "QtWidgets", "QtPrintSupport"},
                                           self.TYPES)
        assert problems == []
        assert "PySide6/plugins/platforms/qwindows.dll" in collected and "PySide6/Qt6Svg.dll" not in collected

    def test_a_kept_plugin_that_needs_a_dropped_library_fails(self, monkeypatch):
        monkeypatch.setattr(bundle_filter, "UNUSED_PLUGIN_FILES", ())
        problems, _ = wheels.check(self.files(), {"QtCore", "QtGui", "QtWidgets", "QtPrintSupport"}, self.TYPES)
        assert problems == ["PySide6/plugins/imageformats/qsvg.dll 需要 Qt6Svg.dll，"
                            "但 bundle_filter.keep() 去掉了 PySide6/Qt6Svg.dll"]

    def test_a_dll_neither_shipped_nor_windows_own_fails(self):
        self.IMPORTS = {**self.IMPORTS, "pypdfium2_raw/pdfium.dll": ["GDI32.dll", "libstdc++-6.dll"]}
        problems, _ = wheels.check(self.files(), {"QtCore", "QtGui", "QtWidgets", "QtPrintSupport"}, self.TYPES)
        assert problems == ["pypdfium2_raw/pdfium.dll 需要 libstdc++-6.dll："
                            "既不在安装包里，也不是 Windows 10 1809 自带的 DLL"]

    def test_a_filter_that_drops_the_windows_platform_plugin_fails(self, monkeypatch):
        monkeypatch.setattr(bundle_filter, "UNUSED_PLUGIN_FILES", ("imageformats/qsvg", "platforms/qwindows"))
        problems, _ = wheels.check(self.files(), {"QtCore", "QtGui", "QtWidgets", "QtPrintSupport"}, self.TYPES)
        assert "程序必需的 PySide6/plugins/platforms/qwindows.dll 没有进入安装包" in problems

    def test_the_qt_modules_are_read_from_the_program(self):
        assert wheels.imported_qt_modules() >= {"QtCore", "QtGui", "QtWidgets"}


def test_pins_match_pyproject_and_this_environment():
    """installer/constraints.txt pins every runtime dependency within pyproject's ranges, and the tests run on
    exactly those versions (scripts/bootstrap.sh installs with the constraints)."""
    pins = wheels.pins(ROOT / "installer" / "constraints.txt")
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    for dep in map(Requirement, deps):
        name = wheels.normalize(dep.name)
        assert name in pins, f"{dep.name} 没有固定版本"
        assert dep.specifier.contains(pins[name]), f"{dep.name}=={pins[name]} 不满足 {dep.specifier}"
    for package in wheels.BINARY_PACKAGES + ("pyinstaller",):
        assert wheels.normalize(package) in pins
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # build tools are installed by the build scripts only
        assert installed == version, f"{name}：已安装 {installed}，固定为 {version}"


def test_build_scripts_use_the_pins():
    assert "-c installer\\constraints.txt" in (ROOT / "installer" / "windows" / "build.bat").read_text()
    assert "-c installer/constraints.txt" in (ROOT / "installer" / "build_linux.sh").read_text()
    assert 'installer/constraints.txt"' in (ROOT / "scripts" / "bootstrap.sh").read_text()


def test_both_executables_run_in_utf8_mode():
    """Redirected output would otherwise be cp936 on Chinese Windows: ✓ and rarer name characters crash it."""
    spec = (ROOT / "installer" / "fanpin.spec").read_text(encoding="utf-8")
    assert 'OPTIONS = [("X utf8", None, "OPTION")]' in spec
    assert spec.count("pyz, a.scripts, OPTIONS,") == 1 and spec.count("executable(") == 3  # def + two calls


def test_build_bat_insists_on_64_bit_python():
    bat = (ROOT / "installer" / "windows" / "build.bat").read_text()
    assert "py -3.11-64 -m venv .venv" in bat
    assert "struct.calcsize('P') == 8" in bat


def test_build_bat_looks_for_inno_setup_7_everywhere_it_installs():
    bat = (ROOT / "installer" / "windows" / "build.bat").read_text()
    for place in (r"%ProgramFiles%\Inno Setup 7\ISCC.exe", r"%ProgramFiles(x86)%\Inno Setup 7\ISCC.exe",
                  r"%LOCALAPPDATA%\Programs\Inno Setup 7\ISCC.exe", "where ISCC.exe", 'if defined ISCC if exist'):
        assert place in bat
    assert "Inno Setup 6" not in bat


class TestPortable:
    @pytest.fixture
    def bundle(self, tmp_path):
        folder = tmp_path / "dist" / bundle_filter.BUNDLE_NAME
        (folder / "_internal" / "desktop").mkdir(parents=True)
        (folder / f"{bundle_filter.BUNDLE_NAME}.exe").write_bytes(b"MZ window")
        (folder / f"{bundle_filter.CLI_NAME}.exe").write_bytes(b"MZ console")
        (folder / "_internal" / "desktop" / "x.pyc").write_bytes(b"\0")
        return folder

    def test_zip_holds_the_bundle_and_start_scripts_that_keep_data_beside_it(self, bundle):
        out = make_portable.build(bundle, bundle.parent, "1.2.3")
        assert out.name == "防止返贫监测帮扶工作台-便携版-1.2.3.zip"
        with zipfile.ZipFile(out) as z:
            names = z.namelist()
            start = z.read("fanpin-workbench-portable/start.bat").decode("ascii")
            check = z.read("fanpin-workbench-portable/self-test.bat").decode("ascii")
            readme = z.read("fanpin-workbench-portable/README.txt")
        assert all(n.isascii() for n in names)  # Explorer on older Windows 10 garbles non-ASCII names
        top = "fanpin-workbench-portable/fanpin-workbench/"
        assert {top + "fanpin-workbench.exe", top + "fanpin-cli.exe", top + "_internal/desktop/x.pyc",
                "fanpin-workbench-portable/data/"} <= set(names)
        assert 'set "FANPIN_DATA_DIR=%~dp0data"\r\n' in start
        assert 'start "" "%~dp0fanpin-workbench\\fanpin-workbench.exe" %*' in start
        assert '"%~dp0fanpin-workbench\\fanpin-cli.exe" --self-test\r\npause' in check
        assert 'set "FANPIN_DATA_DIR=%~dp0data"' in check
        assert readme.startswith("\ufeff".encode()) and "便携版 1.2.3".encode() in readme

    def test_data_dir_is_what_the_program_reads(self, monkeypatch, tmp_path):
        from desktop import paths
        monkeypatch.setenv("FANPIN_DATA_DIR", str(tmp_path / "data"))
        assert paths.data_dir() == tmp_path / "data"

    def test_refuses_a_folder_without_the_program(self, tmp_path):
        with pytest.raises(SystemExit, match="没有 fanpin-workbench 程序"):
            make_portable.build(tmp_path, tmp_path, "1.0.0")


class TestSelfTestPlatform:
    def test_windows_always_wants_the_real_windows_plugin(self, monkeypatch):
        monkeypatch.setattr(sys, "platform", "win32")
        monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
        assert selftest.wanted_platform() == "windows"

    def test_elsewhere_the_environment_or_the_display_decides(self, monkeypatch):
        monkeypatch.setattr(sys, "platform", "linux")
        monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
        assert selftest.wanted_platform() == "offscreen"
        monkeypatch.delenv("QT_QPA_PLATFORM")
        monkeypatch.setenv("DISPLAY", ":0")
        assert selftest.wanted_platform() == "xcb"
        monkeypatch.delenv("DISPLAY")
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        assert selftest.wanted_platform() == "offscreen"

    def test_a_missing_platform_plugin_is_named(self, tmp_path):
        (tmp_path / "platforms").mkdir()
        (tmp_path / "platforms" / "qoffscreen.dll").write_bytes(b"")
        assert selftest.platform_plugin("offscreen", tmp_path).name == "qoffscreen.dll"
        with pytest.raises(RuntimeError, match="缺少 Qt 平台插件“windows”"):
            selftest.platform_plugin("windows", tmp_path)

    def test_the_installed_qt_has_the_plugin_the_tests_use(self):
        from PySide6.QtCore import QLibraryInfo
        plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
        assert selftest.platform_plugin("offscreen", plugins).exists()
