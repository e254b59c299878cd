"""Check the built Linux bundle the way check_windows_wheels.py checks the Windows wheels (CI: .ci/run).

Every ELF file in dist/fanpin-workbench/ is read with `objdump -p`; a NEEDED library that is not in the bundle
but lies in the virtual environment the bundle was built from (so PyInstaller had it, and the filter in
installer/bundle_filter.py dropped it) is an error: the file that needs it cannot load on any PC. Libraries that
are in neither are the system's (libc, X11, fontconfig...) and are left to README's apt line.

    .venv/bin/python installer/check_bundle_libs.py [dist/fanpin-workbench]
"""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def needed(path: Path) -> list[str]:
    out = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"^\s*NEEDED\s+(\S+)", out, flags=re.MULTILINE)


def check(bundle: Path, available: Path) -> tuple[list[str], int]:
    shipped = {p.name for p in bundle.rglob("*") if p.is_file() or p.is_symlink()}
    could_ship = {p.name for p in available.rglob("*.so*")}
    problems = []
    elves = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p)]
    for elf in elves:
        for lib in needed(elf):
            if lib not in shipped and lib in could_ship:
                problems.append(f"{elf.relative_to(bundle)} 需要 {lib}，但 bundle_filter.keep() 把它去掉了")
    return problems, len(elves)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    bundle = Path(argv[0]) if argv else ROOT / "dist" / "fanpin-workbench"
    if not bundle.is_dir():
        sys.stderr.write(f"没有 {bundle}：先运行 installer/build_linux.sh\n")
        return 2
    problems, count = check(bundle, Path(sysconfig.get_paths()["purelib"]))
    for line in problems:
        print(f"  ✗ {line}")
    if problems:
        print(f"Linux 安装包的库过滤有 {len(problems)} 处问题")
        return 1
    print(f"  ✓ Linux 安装包 {count} 个 ELF 文件所需的库都在包里或由系统提供")
    return 0


if __name__ == "__main__":
    sys.exit(main())
