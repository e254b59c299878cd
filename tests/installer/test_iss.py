"""installer/windows/fanpin.iss, read on Linux: every file it names exists (or is what the spec builds), every
directive is one Inno Setup 7 knows, and the choices issue 22 asks for are there."""

from __future__ import annotations

import re
import sys
from pathlib import Path, PureWindowsPath

import pytest

from tests.installer import iss

ROOT = Path(__file__).resolve().parents[2]
ISS = ROOT / "installer" / "windows" / "fanpin.iss"
sys.path.insert(0, str(ROOT / "installer"))

import bundle_filter  # noqa: E402
import versioninfo  # noqa: E402

# [Setup] directives of Inno Setup 7 (jrsoftware.org/ishelp, "[Setup] section"): a misspelt one stops ISCC.
KNOWN_SETUP = {
    "AppId", "AppName", "AppVersion", "AppVerName", "AppPublisher", "AppPublisherURL", "AppSupportURL",
    "AppUpdatesURL", "AppCopyright", "AppMutex", "VersionInfoVersion", "VersionInfoProductName",
    "VersionInfoDescription", "VersionInfoCompany", "VersionInfoCopyright", "VersionInfoProductVersion",
    "PrivilegesRequired", "PrivilegesRequiredOverridesAllowed", "UsePreviousPrivileges", "DefaultDirName",
    "DefaultGroupName", "DisableProgramGroupPage", "DisableDirPage", "DisableWelcomePage", "MinVersion",
    "ArchitecturesAllowed", "ArchitecturesInstallIn64BitMode", "OutputDir", "OutputBaseFilename", "SetupIconFile",
    "UninstallDisplayIcon", "UninstallDisplayName", "Compression", "SolidCompression", "WizardStyle",
    "ShowLanguageDialog", "CloseApplications", "RestartApplications", "LicenseFile", "SetupArchitecture",
    "SignTool", "SignedUninstaller", "TimeStampsInUTC",
}
WINDOWS_10_1809 = "10.0.17763"


@pytest.fixture(scope="module")
def script() -> iss.Script:
    return iss.read(ISS)


def local(script: iss.Script, value: str) -> Path:
    """A path of the script (relative to its folder, or under {#BundleDir}) as a path on this machine."""
    value = value.replace("{#BundleDir}", str(PureWindowsPath("..", "..", "dist", bundle_filter.BUNDLE_NAME)))
    return (ISS.parent / Path(*PureWindowsPath(value).parts)).resolve()


def test_every_setup_directive_is_known_to_inno_setup_7(script):
    assert set(script.setup) <= KNOWN_SETUP, set(script.setup) - KNOWN_SETUP


def test_needs_inno_setup_7_0_2_and_its_official_chinese_messages(script):
    assert any(re.fullmatch(r"#if VER < EncodeVer\(7, 0, 2\)", line) for line in script.preprocessor)
    assert script.sections["Languages"] == [
        {"Name": "chinesesimplified", "MessagesFile": r"compiler:Languages\ChineseSimplified.isl"}]
    assert script.setup["ShowLanguageDialog"] == "no"


def test_installs_without_administrator_yet_offers_all_users(script):
    assert script.setup["PrivilegesRequired"] == "lowest"
    assert script.setup["PrivilegesRequiredOverridesAllowed"] == "dialog"
    assert script.setup["DefaultDirName"].startswith("{autopf}\\")  # %LOCALAPPDATA%\Programs or Program Files


def test_refuses_windows_older_than_10_1809_and_32_bit(script):
    assert script.setup["MinVersion"] == WINDOWS_10_1809
    assert script.setup["ArchitecturesAllowed"] == "x64compatible"
    assert script.setup["ArchitecturesInstallIn64BitMode"] == "x64compatible"


def test_an_upgrade_first_removes_the_old_library_folder(script):
    assert {"Type": "filesandordirs", "Name": "{app}\\" + bundle_filter.CONTENTS_DIRECTORY} in \
        script.sections["InstallDelete"]


def test_the_spec_names_the_library_folder_the_installer_deletes():
    spec = (ROOT / "installer" / "fanpin.spec").read_text(encoding="utf-8")
    assert "contents_directory=CONTENTS_DIRECTORY" in spec


def test_never_touches_the_users_data(script):
    data_places = ("{localappdata}", "{userappdata}", "{commonappdata}", "{userdocs}", "fanpin-workbench\\data")
    for section in ("Files", "Dirs", "InstallDelete", "UninstallDelete"):
        for entry in script.sections.get(section, []):
            target = entry.get("DestDir", "") + entry.get("Name", "")
            assert not any(p in target for p in data_places), (section, entry)
            if section in ("InstallDelete", "UninstallDelete"):
                assert target.startswith("{app}\\"), (section, entry)


def test_every_file_the_script_names_exists(script):
    for key in ("SetupIconFile",):
        assert local(script, script.setup[key]).is_file(), script.setup[key]
    for entry in script.sections["Files"]:
        source = entry["Source"]
        assert source.startswith("{#BundleDir}\\"), source  # only the bundle built by installer/fanpin.spec
    built = {bundle_filter.BUNDLE_NAME + ".exe", bundle_filter.CLI_NAME + ".exe"}
    assert {script.defines["AppExe"], script.defines["CliExe"]} == built
    assert script.defines["BundleDir"].endswith('"..\\..\\dist\\' + bundle_filter.BUNDLE_NAME)
    for line in script.preprocessor:
        for name in re.findall(r'"([^"]+\.(?:isl|iss|ico|txt|bmp))"', line):
            if not name.startswith("Languages\\"):  # compiler-relative: checked by ISCC itself
                assert local(script, name).exists(), name
    out = local(script, script.setup["OutputDir"])
    assert out == (ROOT / "dist").resolve()


def test_installed_executables_are_the_ones_the_spec_builds(script):
    app, cli = script.defines["AppExe"], script.defines["CliExe"]
    icons = {iss.expand(e["Name"], script.defines): e for e in script.sections["Icons"]}
    selftest = [e for e in icons.values() if e.get("Parameters") == "--self-test"]
    assert len(selftest) == 1 and selftest[0]["Filename"] == "{app}\\{#CliExe}"  # the console one shows the result
    windows = [e for e in icons.values() if e["Filename"] == "{app}\\{#AppExe}"]
    assert windows and all("Parameters" not in e for e in windows)
    assert script.setup["UninstallDisplayIcon"] == "{app}\\{#AppExe}"
    assert [r["Filename"] for r in script.sections["Run"]] == ["{app}\\{#AppExe}"]
    assert app.endswith(".exe") and cli.endswith(".exe")


def test_the_version_is_not_written_in_the_script(script):
    text = ISS.read_text(encoding="utf-8")
    assert versioninfo.project_version(ROOT) not in text
    entries = [f"{k}={v}" for k, v in script.setup.items() if k != "MinVersion"]
    entries += [str(e) for entries in script.sections.values() for e in entries]
    entries += [line for line in script.preprocessor if line.startswith("#define")]
    assert not [e for e in entries if re.search(r"\b\d+\.\d+(\.\d+)?\b", e)]
    assert "AppVersion" not in script.defines or script.defines["AppVersion"] == "BundleVersion"
    assert '#define BundleVersion GetStringFileInfo(BundleDir + "\\" + AppExe, "ProductVersion")' in text
    assert "#if AppVersion != BundleVersion" in text


def test_script_is_utf8_and_names_the_program_in_chinese(script):
    assert script.defines["AppName"] == "防止返贫监测帮扶工作台"
    assert "{#AppName}-安装程序-{#AppVersion}" == script.setup["OutputBaseFilename"]
