"""A fault in the program on the command line: one Chinese line naming the log file on stderr, no traceback,
exit code 3 (README); the traceback is in the log file in the data folder."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A sub-command whose handler has a bug, run through the real entry point (python -m desktop's main).
BROKEN = """
import sys
from desktop import __main__, cli

def cmd_check(args):
    return {}["A34"]  # a bug: a KeyError, not a ServiceError

cli.HANDLERS["check"] = cmd_check
sys.exit(__main__.main(sys.argv[1:]))
"""


def run(code: str, *args, data: Path):
    env = dict(os.environ, FANPIN_DATA_DIR=str(data))
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          encoding="utf-8", timeout=120, env=env)


@pytest.mark.slow(seconds=2)  # a real process
def test_a_fault_prints_one_chinese_line_and_exits_3_with_the_traceback_in_the_log(tmp_path):
    data = tmp_path / "data"
    p = run(BROKEN, "check", "--db", tmp_path / "t.sqlite3", "--year", "2024", data=data)
    assert p.returncode == 3
    log = data / "logs" / "workbench.log"
    assert p.stderr.strip().splitlines() == [f"程序内部错误：命令未能完成，详细信息已写入日志文件 {log}"]
    assert "Traceback" not in p.stderr and p.stdout == ""
    text = log.read_text("utf-8")
    assert "命令行：check" in text
    assert "Traceback" in text and "KeyError: 'A34'" in text and "cmd_check" in text


@pytest.mark.slow(seconds=2)  # a real process
def test_a_refusal_is_not_a_fault(tmp_path):
    data = tmp_path / "data"
    p = run("import sys; from desktop import __main__; sys.exit(__main__.main(sys.argv[1:]))",
            "check", "--db", tmp_path / "missing.sqlite3", "--year", "2024", data=data)
    assert p.returncode == 1 and "程序内部错误" not in p.stderr and "数据库不存在" in p.stderr
    assert "CRITICAL" not in (data / "logs" / "workbench.log").read_text("utf-8")
