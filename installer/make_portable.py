"""The portable zip: the one-folder bundle plus start scripts that keep the data beside it.

For offices where a clerk may not install software. Unzipped anywhere the user can write (a USB stick, D:\\,
the desktop), 启动 runs the program with FANPIN_DATA_DIR set to the `data` folder next to it, so the database,
backups and log travel with the folder and nothing is written to %LOCALAPPDATA%.

    python installer/make_portable.py dist/fanpin-workbench   -> dist/防止返贫监测帮扶工作台-便携版-<version>.zip

Names inside the zip are ASCII: Windows Explorer's built-in unzip on older Windows 10 reads non-ASCII names
in the OEM code page and garbles them. The start scripts are ASCII too, so cmd.exe reads them the same under
any code page; the Chinese explanation is in a UTF-8 text file (with BOM, for Notepad).
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bundle_filter import BUNDLE_NAME, CLI_NAME  # noqa: E402
from versioninfo import PRODUCT, project_version  # noqa: E402

TOP = "fanpin-workbench-portable"
DATA = "data"

START_BAT = rf"""@echo off
rem Portable start: the data (database, backups, log) stays in the "{DATA}" folder beside this file.
set "FANPIN_DATA_DIR=%~dp0{DATA}"
start "" "%~dp0{BUNDLE_NAME}\{BUNDLE_NAME}.exe" %*
"""

SELFTEST_BAT = rf"""@echo off
rem Portable self-test: checks the program against a copy of the data in the "{DATA}" folder beside this file.
set "FANPIN_DATA_DIR=%~dp0{DATA}"
"%~dp0{BUNDLE_NAME}\{CLI_NAME}.exe" --self-test
pause
"""

README = f"""{PRODUCT} 便携版 {{version}}

不需要安装，也不需要管理员权限。用法：
1. 把整个压缩包解压到自己能写入的地方，例如 D:\\ 或 U 盘（不要解压到 C:\\Program Files）。
2. 双击 start.bat 打开程序。第一次打开时会创建 {DATA} 文件夹，数据库、备份和日志都保存在里面。
3. 双击 self-test.bat 可检查程序是否完好（只用数据副本，不改动数据）。

换电脑或备份时，复制整个文件夹（包括 {DATA} 文件夹）即可。
不要同时在两台电脑上打开 U 盘上的同一份数据。
升级：解压新版本后，把旧文件夹里的 {DATA} 文件夹复制到新文件夹中（旧版本可删除）。
首次运行时 Windows 可能提示“Windows 已保护你的电脑”，这是因为程序没有数字签名：点“更多信息”→“仍要运行”。
"""


def build(bundle: Path, out_dir: Path, version: str) -> Path:
    if not (bundle / f"{BUNDLE_NAME}.exe").exists() and not (bundle / BUNDLE_NAME).exists():
        raise SystemExit(f"{bundle} 里没有 {BUNDLE_NAME} 程序：先构建程序（installer/fanpin.spec）")
    out = out_dir / f"{PRODUCT}-便携版-{version}.zip"
    tmp = out.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                z.write(path, f"{TOP}/{BUNDLE_NAME}/{path.relative_to(bundle).as_posix()}")
        z.writestr(f"{TOP}/start.bat", START_BAT.replace("\n", "\r\n"))
        z.writestr(f"{TOP}/self-test.bat", SELFTEST_BAT.replace("\n", "\r\n"))
        z.writestr(f"{TOP}/README.txt", "\ufeff" + README.format(version=version).replace("\n", "\r\n"))
        z.writestr(f"{TOP}/{DATA}/", "")
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    bundle = Path(argv[0]) if argv else Path("dist") / BUNDLE_NAME
    out = build(bundle, bundle.parent, project_version())
    print(f"便携版：{out}（{out.stat().st_size // (1024 * 1024)} MB）")
    return 0


if __name__ == "__main__":
    sys.exit(main())
