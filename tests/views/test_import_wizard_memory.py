"""The import wizard's preview held to the issue's bar on the hostile files, as the command line is
(tests/cli/test_hostile_files.py): the window, in a process of its own (tests/views/preview_child.py, one for the
module), chooses the file and previews it; peak resident memory of that process and everything it started (the
.xls reader's child) stays under 1 GB, the preview under 60 s, and the page says why the file cannot be imported
(or that it can)."""

from __future__ import annotations

import os
import sys

import pytest

from tests.capped_child import CappedChild
from tests.cli.test_cli import BOSS
from tests.cli.test_hostile_files import PEAK, _sheets, run
from tests.services.hostile_files import XSheet, write_xlsx

from .test_import_wizard_hostile import _dim, _errors, _long, _pad, _sst, _xls

pytestmark = pytest.mark.slow


@pytest.fixture
def cli_db(tmp_path):
    path = tmp_path / "t.sqlite3"
    run("init", "--db", path, "--township", "稷下街道", "--county", "临淄区", "--year", "2024",
        "--monitoring-line", "7100", *BOSS, check_code=0)
    return path


_children: list[CappedChild] = []  # the module's one preview process (preview_child.py), started by the first preview


@pytest.fixture(autouse=True, scope="module")
def _one_preview_process_for_the_module():
    yield
    while _children:
        _children.pop().close()


def previewed(db, file) -> tuple[dict, int, float]:
    """(what the preview page shows, peak bytes, seconds) of the wizard previewing `file` in the module's preview
    process. The peak is the highest the process (and the .xls reader it starts) has reached so far: at least
    this preview's own."""
    if not _children or _children[0].p.poll() is not None:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        _children[:] = [CappedChild([sys.executable, "-m", "tests.views.preview_child"], env)]
    shown = _children[0].ask({"db": str(db), "file": str(file), "user": BOSS[1], "password": BOSS[3]})
    return shown, shown.pop("peak"), shown.pop("seconds")


def _stray(tmp_path):
    hs, ms = _sheets(["H002"])
    return write_xlsx(tmp_path / "stray.xlsx", [
        XSheet("户信息", hs), XSheet("家庭成员", ms, extra=['<row r="1048576"><c r="GR1048576"><v>1</v></c></row>'])])


def _csv(tmp_path):
    from tests.cli.test_hostile_files import big_csv
    return big_csv(tmp_path / "big.csv")


@pytest.mark.parametrize("build,ok,words", [
    (_dim, True, "工作表“户信息”读作：户信息"), (_stray, True, "工作表“家庭成员”读作：家庭成员"),
    (_pad, False, "文件被拒绝"), (_sst, False, "sharedStrings"), (_long, False, "32,767"),
    (_errors, False, "单元格是错误值 #DIV/0!"), (_xls, False, "Excel 97-2003"), (_csv, False, "CSV")],
    ids=["dimension-lies", "stray-cell", "padded", "shared-string", "long-cell", "error-cell", "xls-far-cell",
         "csv-field"])
def test_the_previews_peak_memory_and_time_stay_under_the_issues_bar(cli_db, tmp_path, build, ok, words):
    shown, peak, seconds = previewed(cli_db, build(tmp_path))
    assert shown["page"] and not shown["failed"], shown
    assert peak < PEAK, f"{peak / 2**20:.0f} MB"
    assert seconds < 60
    if ok:
        assert "检查通过" in shown["verdict"] and words in shown["notes"], shown
    else:
        assert "不能导入" in shown["verdict"], shown
        assert any(words in t for t in shown["issues"]), shown["issues"]
        assert all(len(v) < 200 for v in shown["values"])
