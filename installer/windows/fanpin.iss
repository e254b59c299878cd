; Inno Setup 6 script: a Chinese installer for the one-folder bundle built by installer/fanpin.spec.
;   1. On Windows: .venv\Scripts\pyinstaller --noconfirm --clean installer\fanpin.spec   → dist\fanpin-workbench\
;   2. "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" installer\windows\fanpin.iss     → dist\防止返贫监测帮扶工作台-安装程序-0.1.0.exe
; Chinese texts: Inno Setup ships ChineseSimplified.isl among its translations (Languages\ or the
; "Unofficial" folder of older releases); copy it next to this script if ISCC cannot find it.
; Uninstalling keeps the user's data: the database and its backups live in %LOCALAPPDATA%\fanpin-workbench,
; which this installer never writes nor removes.

#define AppName "防止返贫监测帮扶工作台"
#define AppVersion "0.1.0"
#define AppExe "fanpin-workbench.exe"

[Setup]
AppId={{6E0B8F4C-2D6B-4C1E-9A55-3F2B1D7C9E10}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=防止返贫监测帮扶工作台项目组
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
OutputDir=..\..\dist
OutputBaseFilename={#AppName}-安装程序-{#AppVersion}
SetupIconFile=..\..\resources\icons\app.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog
WizardStyle=modern
ShowLanguageDialog=no

[Languages]
Name: "chinesesimplified"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"

[Tasks]
Name: "desktopicon"; Description: "在桌面创建快捷方式"; GroupDescription: "快捷方式："

[Files]
Source: "..\..\dist\fanpin-workbench\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\{#AppName} 自检"; Filename: "{app}\{#AppExe}"; Parameters: "--self-test"
Name: "{group}\卸载 {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "立即运行 {#AppName}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only what the program itself put in its install folder; the data folder in %LOCALAPPDATA% stays.
Type: filesandordirs; Name: "{app}\__pycache__"
