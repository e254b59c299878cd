"""One version, written in pyproject.toml only; everything that shows it reads it from there."""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest

import desktop

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "installer"))

import versioninfo  # noqa: E402

PYPROJECT_VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
VERSION_LITERAL = re.compile(r"""["']\d+\.\d+\.\d+["']""")


def test_the_package_reports_the_pyproject_version():
    assert desktop.__version__ == PYPROJECT_VERSION == versioninfo.project_version()


def test_no_other_file_writes_a_version():
    """A version string literal anywhere in the program or the installer files is a second place to forget."""
    places = [*(ROOT / "desktop").rglob("*.py"), *(ROOT / "installer").rglob("*.py"),
              ROOT / "installer" / "fanpin.spec", ROOT / "installer" / "windows" / "fanpin.iss",
              ROOT / "installer" / "windows" / "build.bat"]
    found = [f"{p.relative_to(ROOT)}: {m.group()}" for p in places for m in VERSION_LITERAL.finditer(p.read_text())]
    assert found == []
    assert not (ROOT / "installer" / "windows" / "version_info.txt").exists()


def test_version_flag_prints_it(tmp_path):
    p = subprocess.run([sys.executable, "-m", "desktop", "--version"], cwd=ROOT, capture_output=True, text=True,
                       encoding="utf-8", timeout=60, env={**os.environ, "FANPIN_DATA_DIR": str(tmp_path)})
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"防止返贫监测帮扶工作台 {PYPROJECT_VERSION}"


def test_version_flag_after_other_window_options(tmp_path, capsys):
    from desktop import cli
    with pytest.raises(SystemExit) as exit_:
        cli.gui(["--db", str(tmp_path / "x.sqlite3"), "--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip().endswith(PYPROJECT_VERSION)
    assert not (tmp_path / "x.sqlite3").exists()  # printed the version, opened nothing


def test_bundle_reads_the_pyproject_it_carries(tmp_path, monkeypatch):
    """In the PyInstaller bundle there is no package metadata: the spec puts pyproject.toml in sys._MEIPASS."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "fanpin-workbench"\nversion = "7.8.9"\n',
                                             encoding="utf-8")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    try:
        assert importlib.reload(desktop).__version__ == "7.8.9"
    finally:
        monkeypatch.delattr(sys, "_MEIPASS")
        importlib.reload(desktop)
    assert desktop.__version__ == PYPROJECT_VERSION
    spec = (ROOT / "installer" / "fanpin.spec").read_text(encoding="utf-8")
    assert '(str(ROOT / "pyproject.toml"), ".")' in spec


def test_an_installed_wheel_reads_its_metadata(tmp_path, monkeypatch):
    """No pyproject.toml beside the package (a wheel in site-packages): the metadata of the install."""
    from importlib import metadata
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)  # a folder without pyproject.toml
    monkeypatch.setattr(metadata, "version", lambda name: {"fanpin-workbench": "3.2.1"}[name])
    try:
        assert importlib.reload(desktop).__version__ == "3.2.1"
    finally:
        monkeypatch.undo()
        importlib.reload(desktop)


def test_windows_version_resource_is_generated_from_it():
    text = versioninfo.version_info_text(PYPROJECT_VERSION, "fanpin-cli")
    call = ast.parse(text.split("\n", 1)[1], mode="eval").body  # PyInstaller evaluates this expression
    assert call.func.id == "VSVersionInfo"
    ffi = {k.arg: ast.literal_eval(k.value) for k in call.keywords[0].value.keywords if k.arg.endswith("vers")}
    numbers = tuple(int(n) for n in PYPROJECT_VERSION.split(".")) + (0,) * (4 - PYPROJECT_VERSION.count(".") - 1)
    assert ffi == {"filevers": numbers, "prodvers": numbers}
    strings = dict(re.findall(r"StringStruct\('(\w+)', '([^']*)'\)", text))
    assert strings["FileVersion"] == strings["ProductVersion"] == PYPROJECT_VERSION
    assert strings["OriginalFilename"] == "fanpin-cli.exe"


def test_versions_windows_cannot_show_are_refused():
    assert versioninfo.version_tuple("1.2") == (1, 2, 0, 0)
    for bad in ("1.0rc1", "1.2.3.4.5", "v1.0", ""):
        with pytest.raises(ValueError, match="最多 4 段数字"):
            versioninfo.version_tuple(bad)


def test_pyinstaller_reads_the_generated_resource(tmp_path, monkeypatch):
    """PyInstaller's own loader and binary encoder (.ci/run runs this after installing PyInstaller)."""
    pytest.importorskip("PyInstaller")
    try:
        import pefile  # noqa: F401 - PyInstaller needs it on Windows only; its text loader never touches it
    except ImportError:
        monkeypatch.setitem(sys.modules, "pefile", types.ModuleType("pefile"))
    import PyInstaller.compat
    if not hasattr(PyInstaller.compat, "win32api"):  # Windows only, and only for reading an .exe's resource
        monkeypatch.setattr(PyInstaller.compat, "win32api", None, raising=False)
    from PyInstaller.utils.win32 import versioninfo as loader
    path = versioninfo.write_version_info(tmp_path, "fanpin-workbench", root=ROOT)
    info = loader.load_version_info_from_text_file(str(path))
    major, minor, patch, build = versioninfo.version_tuple(PYPROJECT_VERSION)
    assert (info.ffi.fileVersionMS, info.ffi.fileVersionLS) == (major << 16 | minor, patch << 16 | build)
    raw = info.toRaw()  # what is written into the .exe
    assert PYPROJECT_VERSION.encode("utf-16-le") in raw and "防止返贫监测帮扶工作台".encode("utf-16-le") in raw


def test_build_bat_passes_the_version_to_the_installer():
    bat = (ROOT / "installer" / "windows" / "build.bat").read_text(encoding="utf-8")
    assert r".venv\Scripts\python installer\versioninfo.py" in bat
    assert "/DAppVersion=%VERSION%" in bat
    p = subprocess.run([sys.executable, str(ROOT / "installer" / "versioninfo.py")], capture_output=True, text=True)
    assert p.stdout.strip() == PYPROJECT_VERSION
