@echo off
rem One command on Windows: the bundle, its self-test, the portable zip, then the Chinese installer.
rem Needs 64-bit Python 3.11 (python.org installer, with the py launcher) and Inno Setup 7.0.2 or newer.
rem Set ISCC=C:\path\to\ISCC.exe first if Inno Setup is somewhere this script does not look.
rem Step by step, and what to test afterwards: installer\README.md.
setlocal
chcp 65001 >nul
cd /d "%~dp0\..\.."

rem --- 1. A 64-bit Python 3.11 virtual environment (py -3.11 alone may pick a leftover 32-bit Python) -----
if exist .venv\Scripts\python.exe (
  .venv\Scripts\python -c "import struct, sys; sys.exit(0 if struct.calcsize('P') == 8 and sys.version_info[:2] == (3, 11) else 1)"
  if errorlevel 1 (
    echo 现有的 .venv 不是 64 位 Python 3.11，删除后重建……
    rmdir /s /q .venv
  )
)
if not exist .venv\Scripts\python.exe (
  py -3.11-64 -m venv .venv
  if errorlevel 1 goto :nopython
)
.venv\Scripts\python -c "import struct, sys; sys.exit(0 if struct.calcsize('P') == 8 else 1)" || goto :nopython

rem --- 2. The pinned versions CI tested (installer\constraints.txt), and PyInstaller -------------------------
.venv\Scripts\python -m pip install -q --disable-pip-version-check -c installer\constraints.txt -e .[postgres] pyinstaller || goto :error

rem --- 3. The one-folder bundle: fanpin-workbench.exe (window) and fanpin-cli.exe (console) -------------------
.venv\Scripts\pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build\pyinstaller installer\fanpin.spec || goto :error
for /f "usebackq delims=" %%v in (`.venv\Scripts\python installer\versioninfo.py`) do set "VERSION=%%v"
if "%VERSION%"=="" goto :error
echo 版本 %VERSION%
dist\fanpin-workbench\fanpin-cli.exe --version || goto :error
dist\fanpin-workbench\fanpin-cli.exe --self-test || goto :error

rem --- 4. The portable zip, for offices that cannot install software --------------------------------------------
.venv\Scripts\python installer\make_portable.py dist\fanpin-workbench || goto :error

rem --- 5. The installer -----------------------------------------------------------------------------------------
if defined ISCC if exist "%ISCC%" goto :haveiscc
set "ISCC=%ProgramFiles%\Inno Setup 7\ISCC.exe"
if exist "%ISCC%" goto :haveiscc
set "ISCC=%ProgramFiles(x86)%\Inno Setup 7\ISCC.exe"
if exist "%ISCC%" goto :haveiscc
set "ISCC=%LOCALAPPDATA%\Programs\Inno Setup 7\ISCC.exe"
if exist "%ISCC%" goto :haveiscc
set "ISCC="
for /f "delims=" %%i in ('where ISCC.exe 2^>nul') do if not defined ISCC set "ISCC=%%i"
if defined ISCC goto :haveiscc
echo.
echo 未找到 Inno Setup 7 的 ISCC.exe（查找了 %ProgramFiles%\Inno Setup 7、%ProgramFiles(x86)%\Inno Setup 7、
echo %LOCALAPPDATA%\Programs\Inno Setup 7 和 PATH）。程序文件夹和便携版已在 dist\ 中。
echo 安装 Inno Setup 7.0.2 或更新版本：winget install JRSoftware.InnoSetup.7 或 https://jrsoftware.org/isdl.php
echo 装在别处时先执行：set ISCC=C:\完整路径\ISCC.exe
exit /b 1
:haveiscc
echo 使用 %ISCC%
"%ISCC%" /Q /DAppVersion=%VERSION% installer\windows\fanpin.iss || goto :error
echo.
echo 完成：dist\ 中有安装程序、便携版压缩包和程序文件夹 fanpin-workbench\。
exit /b 0

:nopython
echo.
echo 需要 64 位的 Python 3.11：从 https://www.python.org/downloads/windows/ 下载
echo “Windows installer (64-bit)”，安装时勾选 py launcher，然后重新运行本脚本。
exit /b 1
:error
echo.
echo 构建失败，见上面的信息。
exit /b 1
