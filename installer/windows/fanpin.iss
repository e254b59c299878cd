; Inno Setup 7 script: the Chinese installer of the one-folder bundle built by installer/fanpin.spec.
; Built by installer\windows\build.bat, which builds the bundle, runs its self-test, then:
;   ISCC.exe /DAppVersion=<pyproject.toml version> installer\windows\fanpin.iss
;     -> dist\防止返贫监测帮扶工作台-安装程序-<version>.exe
; The version is never written here: it is read from fanpin-workbench.exe's version resource (generated from
; pyproject.toml by installer/versioninfo.py), and build.bat's /DAppVersion must agree with it.
; Needs Inno Setup 7.0.2 or newer: its official Simplified Chinese messages (Languages\ChineseSimplified.isl,
; shipped with the compiler since 7.0.2), x64compatible (6.3+), UTF-8 script without BOM (6.3+).
; The user's data (database, backups, log) lives in %LOCALAPPDATA%\fanpin-workbench, never under {app}: this
; installer neither writes nor removes it, so upgrading or uninstalling keeps it.

#if VER < EncodeVer(7, 0, 2)
  #error 需要 Inno Setup 7.0.2 或更新版本（自带官方简体中文界面）：winget install JRSoftware.InnoSetup.7 或 https://jrsoftware.org/isdl.php
#endif
#ifnexist AddBackslash(CompilerPath) + "Languages\ChineseSimplified.isl"
  #error 这个 Inno Setup 没有 Languages\ChineseSimplified.isl：请安装 Inno Setup 7.0.2 或更新版本
#endif

#define AppName "防止返贫监测帮扶工作台"
#define AppExe "fanpin-workbench.exe"
#define CliExe "fanpin-cli.exe"
#define BundleDir AddBackslash(SourcePath) + "..\..\dist\fanpin-workbench"

#ifnexist BundleDir + "\" + AppExe
  #error 找不到 dist\fanpin-workbench\fanpin-workbench.exe：请先运行 installer\windows\build.bat 构建程序
#endif
#ifnexist BundleDir + "\" + CliExe
  #error 找不到 dist\fanpin-workbench\fanpin-cli.exe：请用 installer\fanpin.spec 重新构建程序
#endif
#define BundleVersion GetStringFileInfo(BundleDir + "\" + AppExe, "ProductVersion")
#if BundleVersion == ""
  #error fanpin-workbench.exe 没有版本信息：请用 installer\fanpin.spec 重新构建程序
#endif
#ifndef AppVersion
  #define AppVersion BundleVersion
#endif
#if AppVersion != BundleVersion
  #expr Error("版本不一致：dist 中的程序是 " + BundleVersion + "，而传入的 AppVersion 是 " + AppVersion + "；请重新构建程序")
#endif

[Setup]
AppId={{6E0B8F4C-2D6B-4C1E-9A55-3F2B1D7C9E10}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=防止返贫监测帮扶工作台项目组
VersionInfoVersion={#AppVersion}
VersionInfoProductName={#AppName}
VersionInfoDescription={#AppName} 安装程序
; Installs without administrator rights by default (into %LOCALAPPDATA%\Programs); the dialog still offers
; "为所有用户安装" to an administrator. An upgrade keeps the mode chosen the first time (UsePreviousPrivileges).
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
UsePreviousPrivileges=yes
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Qt 6 needs Windows 10 1809 (build 17763) or newer, 64-bit; refuse older systems here, not at first start.
MinVersion=10.0.17763
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename={#AppName}-安装程序-{#AppVersion}
SetupIconFile=..\..\resources\icons\app.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ShowLanguageDialog=no
; A running copy holds its files open: Windows' Restart Manager closes it before the files are replaced.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "chinesesimplified"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[InstallDelete]
; Before the new files are laid: the previous version's library folder goes whole. Alembic loads every file in
; _internal\desktop\migrations\versions, so a migration renamed or removed since would otherwise survive the
; upgrade and stop the database from opening. Nothing of the user's is in it.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"
; fanpin-cli.exe has a console: the self-test prints what it checked and waits for Enter before the window closes.
Name: "{group}\{#AppName} 自检"; Filename: "{app}\{#CliExe}"; Parameters: "--self-test"; WorkingDir: "{app}"; Comment: "检查本机的程序是否完好（只用副本，不改动数据）"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
