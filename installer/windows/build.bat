@echo off
rem One command on Windows: the bundle, its self-test, then the Chinese installer.
rem Needs Python 3.11 (py launcher) and Inno Setup 6 (ISCC.exe in its default folder or on PATH).
setlocal
chcp 65001 >nul
cd /d "%~dp0\..\.."
if not exist .venv\Scripts\python.exe py -3.11 -m venv .venv || goto :error
.venv\Scripts\python -m pip install -q -e . "pyinstaller>=6.0" || goto :error
.venv\Scripts\pyinstaller --noconfirm --clean --distpath dist --workpath build\pyinstaller installer\fanpin.spec || goto :error
dist\fanpin-workbench\fanpin-workbench.exe --self-test || goto :error
set ISCC=ISCC.exe
if exist "%ProgramFiles(x86)%\Inno Setup 6\ISCC.exe" set ISCC="%ProgramFiles(x86)%\Inno Setup 6\ISCC.exe"
%ISCC% installer\windows\fanpin.iss || goto :error
echo 安装程序已生成在 dist\ 文件夹。
exit /b 0
:error
echo 构建失败。
exit /b 1
