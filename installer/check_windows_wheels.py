"""Check, on Linux, that the Windows bundle keeps every DLL its kept DLLs import (CI: .ci/run).

PyInstaller cannot cross-build, so the Windows bundle is never built here. What can go wrong on a township PC
without being seen here is the spec's filter (installer/bundle_filter.py) dropping a DLL that a DLL it keeps
needs: Qt then fails to load a plugin, or the program does not start. This script
  1. downloads the win_amd64 wheels of the versions pinned in installer/constraints.txt (`pip download
     --platform win_amd64 --only-binary=:all:`), into a cache so later runs need no network;
  2. takes what PyInstaller would collect from them: every extension and DLL of the non-Qt packages, the
     PySide6 extensions the program imports (read from desktop/), the Qt libraries those import, and the Qt
     plugins PyInstaller collects for those libraries (its own table, PyInstaller.utils.hooks.qt);
  3. reads each kept file's imports with `objdump -p` and fails when one names a DLL that the filter drops, or
     a DLL that is neither in the bundle nor part of Windows 10 1809.
Exit 0 when all is well, 1 when the filter is wrong, 2 when the wheels cannot be had (network, index).

    .venv/bin/python installer/check_windows_wheels.py [--cache DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import zipfile
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "installer"))

from bundle_filter import EXCLUDES, keep  # noqa: E402

# Packages whose Windows wheels carry DLLs or extension modules the bundle ships (the others are pure Python).
BINARY_PACKAGES = ("PySide6-Essentials", "shiboken6", "SQLAlchemy", "MarkupSafe", "python-calamine", "pillow",
                   "charset-normalizer", "pypdfium2", "sqlcipher3", "cryptography", "cffi",
                   "psycopg-binary")  # psycopg-binary: the county edition

# DLLs Windows 10 1809 (10.0.17763, the installer's MinVersion) has in System32. icuuc.dll/icu.dll (Qt6Core's
# ICU) arrived with Windows 10 1703 and 1903; the rest are decades old. Anything not here and not in the bundle
# is a DLL a clean PC may lack, so an unknown name fails the check until someone looks it up and adds it.
WINDOWS_DLLS = {
    "advapi32.dll", "authz.dll", "bcrypt.dll", "cfgmgr32.dll", "comctl32.dll", "comdlg32.dll", "crypt32.dll",
    "d2d1.dll", "d3d11.dll", "d3d12.dll", "d3d9.dll", "dcomp.dll", "dwmapi.dll", "dwrite.dll", "dxgi.dll",
    "dnsapi.dll", "gdi32.dll", "gdiplus.dll", "icu.dll", "icuin.dll", "icuuc.dll", "imm32.dll", "iphlpapi.dll",
    "kernel32.dll", "mpr.dll", "msimg32.dll", "mswsock.dll", "ncrypt.dll", "netapi32.dll", "ntdll.dll",
    "ole32.dll", "oleacc.dll", "oleaut32.dll", "opengl32.dll", "propsys.dll", "rpcrt4.dll", "secur32.dll",
    "setupapi.dll", "shcore.dll", "shell32.dll", "shlwapi.dll", "user32.dll", "userenv.dll", "usp10.dll",
    "uxtheme.dll", "version.dll", "winmm.dll", "winspool.drv", "wintrust.dll", "ws2_32.dll", "wtsapi32.dll",
    "d3dcompiler_47.dll", "dbghelp.dll", "normaliz.dll", "psapi.dll", "hid.dll", "powrprof.dll", "credui.dll",
    "runtimeobject.dll", "wevtapi.dll", "winhttp.dll", "wininet.dll", "mfplat.dll",
    "bcryptprimitives.dll",  # Windows 7+: Rust's random numbers (python-calamine)
    "mscms.dll",             # colour management, Windows XP+ (qwindows)
    "uiautomationcore.dll",  # UI Automation, Windows 7+ (qwindows accessibility)
}
# Not in the wheels but put in the bundle by PyInstaller itself, from the Python that builds it.
PYTHON_RUNTIME = {"python3.dll", "python311.dll", "vcruntime140.dll", "vcruntime140_1.dll"}
# Files the program cannot run without: the filter must keep them (a filter that dropped everything would
# otherwise pass).
REQUIRED = ("PySide6/Qt6Core.dll", "PySide6/Qt6Gui.dll", "PySide6/Qt6Widgets.dll", "PySide6/Qt6PrintSupport.dll",
            "PySide6/QtCore.pyd", "PySide6/QtGui.pyd", "PySide6/QtWidgets.pyd", "PySide6/QtPrintSupport.pyd",
            "PySide6/plugins/platforms/qwindows.dll", "PySide6/plugins/styles/qmodernwindowsstyle.dll",
            "PySide6/pyside6.abi3.dll", "shiboken6/Shiboken.pyd", "pypdfium2_raw/pdfium.dll")
# Qt plugin types PyInstaller collects for each Qt library, when PyInstaller is not importable here.
FALLBACK_PLUGIN_TYPES = {
    "Gui": ["accessiblebridge", "egldeviceintegrations", "generic", "iconengines", "imageformats", "platforms",
            "platforminputcontexts", "platformthemes", "xcbglintegrations"],
    "Widgets": ["styles"], "PrintSupport": ["printsupport"], "Network": ["networkinformation", "tls"],
}


def is_system_dll(name: str) -> bool:
    low = name.lower()
    return low in WINDOWS_DLLS or low.startswith(("api-ms-win-", "ext-ms-win-"))


def pins(constraints: Path) -> dict[str, str]:
    found = {}
    for line in constraints.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)", line)
        if m:
            found[normalize(m.group(1))] = m.group(2)
    return found


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_for(cache: Path, package: str, version: str) -> Path | None:
    stem = normalize(package).replace("-", "_")
    for wheel in cache.glob("*.whl"):
        parts = wheel.name.split("-")
        if normalize(parts[0]).replace("-", "_") == stem and parts[1] == version and "win_amd64" in wheel.name:
            return wheel
    return None


def download(cache: Path, wanted: dict[str, str]) -> list[Path]:
    """The win_amd64 wheels of `wanted`, from the cache or downloaded into it."""
    cache.mkdir(parents=True, exist_ok=True)
    missing = {p: v for p, v in wanted.items() if wheel_for(cache, p, v) is None}
    if missing:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
               "--only-binary=:all:", "--platform", "win_amd64", "--python-version", "3.11", "--implementation",
               "cp", "--dest", str(cache)] + [f"{p}=={v}" for p, v in missing.items()]
        print(f"下载 {len(missing)} 个 Windows 轮子：{'、'.join(f'{p}=={v}' for p, v in missing.items())}", flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            lines = [x for x in proc.stderr.splitlines() if not x.startswith("WARNING: Location")]
            sys.stderr.write("无法下载 Windows 轮子（需要能访问 PyPI 的网络，或预先填好缓存目录 "
                             f"{cache}）：\n" + "\n".join(lines[-15:]) + "\n")
            raise SystemExit(2)
    wheels = []
    for p, v in wanted.items():
        wheel = wheel_for(cache, p, v)
        if wheel is None:
            sys.stderr.write(f"下载后仍找不到 {p}=={v} 的 win_amd64 轮子（{cache}）\n")
            raise SystemExit(2)
        wheels.append(wheel)
    return wheels


def extract_binaries(wheels: list[Path], folder: Path) -> dict[str, Path]:
    """Every .dll/.pyd of the wheels, by its path inside the wheel (= its place in the bundle)."""
    files: dict[str, Path] = {}
    for wheel in wheels:
        target = folder / wheel.stem
        with zipfile.ZipFile(wheel) as z:
            for member in z.namelist():
                if member.lower().endswith((".dll", ".pyd")):
                    out = target / member
                    if not out.exists():
                        z.extract(member, target)
                    files[member] = out
    return files


def pe_imports(path: Path) -> list[str]:
    out = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"^\s*DLL Name:\s*(\S+)", out, flags=re.MULTILINE)


def imported_qt_modules(source: Path = ROOT / "desktop") -> set[str]:
    """PySide6 extension modules the program imports (PyInstaller collects exactly these)."""
    found = set()
    for py in source.rglob("*.py"):
        found.update(re.findall(r"\bPySide6\.(Qt\w+)", py.read_text(encoding="utf-8")))
    excluded = {e.split(".", 1)[1] for e in EXCLUDES if e.startswith("PySide6.")}
    return found - excluded


def plugin_types() -> dict[str, list[str]]:
    """Qt library short name (Gui, Widgets...) -> plugin types PyInstaller collects with it."""
    try:
        from PyInstaller.utils.hooks.qt._modules_info import QT_MODULES_INFO
    except ImportError:
        return FALLBACK_PLUGIN_TYPES
    table: dict[str, list[str]] = {}
    for entry in QT_MODULES_INFO:
        bindings = getattr(entry, "bindings", None) or []
        if any(b.startswith("PySide2") or b.startswith("PyQt") for b in bindings) and \
                not any("PySide6" in b or b.startswith("!") for b in bindings):
            continue
        if entry.shared_lib and entry.plugins:
            table.setdefault(entry.shared_lib, []).extend(entry.plugins)
    return table


def check(files: dict[str, Path], qt_modules: set[str], types: dict[str, list[str]]) -> tuple[list[str], set[str]]:
    """(problems, collected) for the bundle PyInstaller would make from these wheel files."""
    by_name: dict[str, list[str]] = {}
    for dest in files:
        by_name.setdefault(dest.rsplit("/", 1)[-1].lower(), []).append(dest)

    def kept(dest: str) -> bool:
        return keep((dest, str(files[dest]), "BINARY"))

    roots = [d for d in files if not d.startswith(("PySide6/", "shiboken6/"))]
    roots += [f"PySide6/{m}.pyd" for m in sorted(qt_modules) if f"PySide6/{m}.pyd" in files]
    roots += ["shiboken6/Shiboken.pyd"]
    problems: list[str] = []
    collected: set[str] = set()
    queue = deque(roots)
    plugins_added: set[str] = set()
    while queue:
        dest = queue.popleft()
        if dest in collected:
            continue
        if not kept(dest):
            continue  # a root the filter drops on purpose (a plugin, an unused extension): nothing loads it
        collected.add(dest)
        for dll in pe_imports(files[dest]):
            providers = by_name.get(dll.lower(), [])
            if providers:
                for p in providers:
                    if not kept(p):
                        problems.append(f"{dest} 需要 {dll}，但 bundle_filter.keep() 去掉了 {p}")
                    else:
                        queue.append(p)
            elif not is_system_dll(dll) and dll.lower() not in PYTHON_RUNTIME:
                problems.append(f"{dest} 需要 {dll}：既不在安装包里，也不是 Windows 10 1809 自带的 DLL")
        m = re.fullmatch(r"PySide6/Qt6(\w+)\.dll", dest)
        if m and m.group(1) not in plugins_added:
            plugins_added.add(m.group(1))
            for kind in types.get(m.group(1), []):
                queue.extend(d for d in files if d.startswith(f"PySide6/plugins/{kind}/"))
    for dest in REQUIRED:
        if dest not in files:
            problems.append(f"轮子里没有 {dest}（PySide6/Qt 的布局变了？请核对 REQUIRED）")
        elif dest not in collected:
            problems.append(f"程序必需的 {dest} 没有进入安装包")
    return problems, collected


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_cache = Path(os.environ.get("FANPIN_WHEEL_CACHE")
                         or Path.home() / ".cache" / "fanpin-workbench" / "win-wheels")
    p.add_argument("--cache", type=Path, default=default_cache, help=f"轮子缓存目录（默认 {default_cache}）")
    p.add_argument("--constraints", type=Path, default=ROOT / "installer" / "constraints.txt")
    a = p.parse_args(argv)
    pinned = pins(a.constraints)
    missing = [pkg for pkg in BINARY_PACKAGES if normalize(pkg) not in pinned]
    if missing:
        sys.stderr.write(f"{a.constraints} 没有固定这些包的版本：{'、'.join(missing)}\n")
        return 1
    wheels = download(a.cache, {pkg: pinned[normalize(pkg)] for pkg in BINARY_PACKAGES})
    files = extract_binaries(wheels, a.cache / "extracted")
    qt_modules = imported_qt_modules()
    problems, collected = check(files, qt_modules, plugin_types())
    dropped = sorted(d for d in files if d not in collected)
    print(f"Windows 轮子 {len(wheels)} 个，DLL/扩展 {len(files)} 个；程序用到的 PySide6 模块："
          f"{'、'.join(sorted(qt_modules))}；进入安装包 {len(collected)} 个，不进入 {len(dropped)} 个")
    for line in problems:
        print(f"  ✗ {line}")
    if problems:
        print(f"安装包的 DLL 过滤（installer/bundle_filter.py）有 {len(problems)} 处问题")
        return 1
    print("  ✓ 进入安装包的每个 DLL 所需的 DLL 都在安装包里或是 Windows 自带")
    return 0


if __name__ == "__main__":
    sys.exit(main())
