"""The headless command line is a contract (SPEC §11): run it as a user would, in a process."""

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args, check_code=None):
    p = subprocess.run([sys.executable, "-m", "desktop", *map(str, args)], cwd=ROOT, capture_output=True,
                       text=True, encoding="utf-8", timeout=120)
    if check_code is not None:
        assert p.returncode == check_code, (p.returncode, p.stdout, p.stderr)
    return p


def test_init_then_config(tmp_path):
    db = tmp_path / "t.sqlite3"
    p = run("init", "--db", db, "--township", "稷下街道", "--county", "临淄区", "--year", "2024",
            "--monitoring-line", "7100", check_code=0)
    assert "稷下街道" in p.stdout
    p = run("config", "--db", db, "--year", "2024", "--rural-average", "15,000", "--county-income", "21000",
            check_code=0)
    assert "7,100.00" in p.stdout and "15,000.00" in p.stdout and "21,000.00" in p.stdout
    with sqlite3.connect(db) as c:
        row = c.execute("SELECT monitoring_line, rural_average, county_income FROM year_settings WHERE year=2024")
        assert row.fetchone() == (710000, 1500000, 2100000)  # stored as exact fen
        assert c.execute("SELECT value FROM app_setting WHERE key='current_year'").fetchone() == ("2024",)


def test_init_twice_is_refused_and_nothing_changes(tmp_path):
    db = tmp_path / "t.sqlite3"
    run("init", "--db", db, "--township", "甲镇", check_code=0)
    p = run("init", "--db", db, "--township", "乙镇", check_code=1)
    assert "已初始化" in p.stderr
    with sqlite3.connect(db) as c:
        assert [r[0] for r in c.execute("SELECT name FROM region WHERE level='township'")] == ["甲镇"]


def test_config_errors_are_chinese_and_non_zero(tmp_path):
    db = tmp_path / "t.sqlite3"
    p = run("config", "--db", db, "--year", "2024", check_code=1)
    assert "数据库不存在" in p.stderr and not db.exists()
    run("init", "--db", db, "--township", "甲镇", check_code=0)
    p = run("config", "--db", db, "--year", "2024", "--monitoring-line", "-100", check_code=1)
    assert "监测线必须大于 0" in p.stderr
    p = run("config", "--db", db, check_code=2)
    assert "缺少必需参数" in p.stderr


def test_wrong_usage_exits_2(tmp_path):
    p = run("init", "--db", tmp_path / "x.sqlite3", check_code=2)
    assert "用法错误" in p.stderr
    p = run("init", "--db", tmp_path / "x.sqlite3", "--township", "甲", "--admin-user", "a", check_code=2)
    assert not (tmp_path / "x.sqlite3").exists()


def test_init_with_admin_allows_login(tmp_path):
    db = tmp_path / "t.sqlite3"
    run("init", "--db", db, "--township", "甲镇", "--admin-user", "boss", "--admin-password", "secret1",
        check_code=0)
    from desktop.services import auth
    from desktop.services.db import init_db, sqlite_url
    database = init_db(sqlite_url(db))
    with database.session() as s:
        assert auth.authenticate(s, "boss", "secret1").is_admin
    database.dispose()


def test_report_writes_a_pdf_and_refuses_unknown_kind_and_household(tmp_path):
    db = tmp_path / "t.sqlite3"
    run("demo", "--db", db, "--households", "60", "--year", "2024", "--as-of", "2024-11-20", check_code=0)
    out = tmp_path / "summary.pdf"
    p = run("report", "summary", "--db", db, "--out", out, "--year", "2024", "--as-of", "2024-11-20", check_code=0)
    assert out.read_bytes().startswith(b"%PDF") and "页" in p.stdout
    assert run("report", "nope", "--db", db, "--out", out, check_code=2).stderr.startswith("用法错误")
    p = run("report", "card", "--db", db, "--out", tmp_path / "c.pdf", "--household", "NOPE", check_code=1)
    assert "户编号不存在：NOPE" in p.stderr and not (tmp_path / "c.pdf").exists()
    assert run("report", "card", "--db", db, "--out", tmp_path / "c.txt", check_code=2).stderr


def test_report_without_as_of_of_a_past_year_is_made_as_of_its_last_day(tmp_path):
    """README: `report` without --as-of is as of today for the current year and 12-31 for a past year."""
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) not installed")
    db = tmp_path / "t.sqlite3"
    run("demo", "--db", db, "--households", "20", "--year", "2023", "--as-of", "2023-11-20", check_code=0)
    out = tmp_path / "summary.pdf"
    run("report", "summary", "--db", db, "--out", out, "--year", "2023", check_code=0)  # 2023 is a past year
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True).stdout
    assert "填报日期：2023年12月31日" in text.replace(" ", "")

