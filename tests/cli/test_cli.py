"""The headless command line is a contract (SPEC §11): run it as a user would, through the program's entry point
with its own arguments, environment and streams (tests/cli/runner.py), and once in a real process."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.cli.runner import ROOT, cli

BOSS = ("--admin-user", "boss", "--admin-password", "Jia-zhen-2024")  # init's first administrator
DEMO = ("admin", "admin123")  # what demo creates on a new database
CLI_USERS = (("boss", "Jia-zhen-2024"), DEMO)


def cli_db(db):
    """The encrypted database a command made, opened as another program with a user's password would."""
    from tests.conftest import raw_connect
    return raw_connect(db, users=CLI_USERS)


def run(*args, check_code=None, user=DEMO, env=None, process=False, cwd=ROOT):
    """The command as a user runs it; `user` (name, password) goes in FANPIN_USER / FANPIN_PASSWORD.
    In this process unless `process` (see tests/cli/runner.py); from the folder `cwd`."""
    environ = {k: v for k, v in os.environ.items() if k not in ("FANPIN_USER", "FANPIN_PASSWORD")}
    if user is not None:
        environ.update(FANPIN_USER=user[0], FANPIN_PASSWORD=user[1])
    environ.update(env or {})
    environ["PYTHONPATH"] = str(ROOT)  # a process run from another folder (cwd) too
    p = cli(*args, env=environ, process=process, cwd=cwd)
    if check_code is not None:
        assert p.returncode == check_code, (p.returncode, p.stdout, p.stderr)
    return p


def test_init_then_config(tmp_path):
    db = tmp_path / "t.sqlite3"
    p = run("init", "--db", db, "--township", "稷下街道", "--county", "临淄区", "--year", "2024",
            "--monitoring-line", "7100", *BOSS, check_code=0)
    assert "稷下街道" in p.stdout
    p = run("config", "--db", db, "--year", "2024", "--rural-average", "15,000", "--county-income", "21000",
            "--user", "boss", env={"FANPIN_PASSWORD": "Jia-zhen-2024"}, check_code=0)
    assert "7,100.00" in p.stdout and "15,000.00" in p.stdout and "21,000.00" in p.stdout
    with cli_db(db) as c:
        row = c.execute("SELECT monitoring_line, rural_average, county_income FROM year_settings WHERE year=2024")
        assert row.fetchone() == (710000, 1500000, 2100000)  # stored as exact fen
        assert c.execute("SELECT value FROM app_setting WHERE key='current_year'").fetchone() == ("2024",)


@pytest.mark.slow(seconds=4)  # three real processes
def test_the_real_process_keeps_the_exit_codes(tmp_path):
    """`python -m desktop` in a real process: 0 done, 1 refused, 2 wrong usage, Chinese on its streams; and the
    in-process runner the other tests use says exactly what the process says."""
    steps = [("init", "--db", tmp_path / "t.sqlite3", "--township", "甲镇", *BOSS),
             ("init", "--db", tmp_path / "t.sqlite3", "--township", "乙镇", *BOSS),
             ("config", "--db", tmp_path / "t.sqlite3")]
    real = [run(*step, process=True) for step in steps]
    assert [p.returncode for p in real] == [0, 1, 2], [(p.returncode, p.stderr) for p in real]
    assert "甲镇" in real[0].stdout and "已初始化" in real[1].stderr and "缺少必需参数" in real[2].stderr
    (tmp_path / "t.sqlite3").unlink()
    here = [run(*step) for step in steps]

    def said(p):  # the recovery key init prints is new each time: the rest must be the same
        return p.returncode, re.sub(r"恢复密钥（只显示这一次）：\S+", "恢复密钥（只显示这一次）：…", p.stdout), p.stderr
    assert [said(p) for p in here] == [said(p) for p in real]


def test_a_usage_error_or_a_refusal_answers_without_loading_the_database_code(tmp_path):
    """Wrong usage, a missing database, missing credentials and init on an existing file are answered before the
    program loads SQLAlchemy, Alembic, the models or the rules (about a second of CPU a command on the 2-core
    machine): in a new process, as a user's command starts."""
    existing = tmp_path / "t.sqlite3"
    existing.write_bytes(b"not empty")
    missing = tmp_path / "missing.sqlite3"
    commands = [["config", "--db", str(missing)],                                   # usage: no --year
                *([c, "--db", str(missing), "--year", "2024"] for c in ("check", "assess", "config")),
                ["check", "--db", str(existing), "--year", "2024"],                  # no user given
                ["import", "--db", str(missing), str(tmp_path)],                     # not a file
                ["init", "--db", str(existing), "--township", "甲镇", *BOSS]]        # already there
    code = ("import json, sys, contextlib, io; from desktop import cli\n"
            "out = []\n"
            "for argv in json.loads(sys.argv[1]):\n"
            "    with contextlib.redirect_stderr(io.StringIO()) as err:\n"
            "        try:\n"
            "            rc = cli.main(argv)\n"
            "        except SystemExit as e:\n"
            "            rc = e.code\n"
            "    loaded = sorted({m.split('.')[0] for m in sys.modules if m.startswith(('sqlalchemy', 'alembic'))})\n"
            "    out.append([rc, err.getvalue().splitlines()[0], loaded])\n"
            "print(json.dumps(out, ensure_ascii=False))")
    env = {k: v for k, v in os.environ.items() if k not in ("FANPIN_USER", "FANPIN_PASSWORD")}
    p = subprocess.run([sys.executable, "-c", code, json.dumps(commands)], capture_output=True, text=True,
                       cwd=ROOT, env=env, check=True)
    said = json.loads(p.stdout)
    assert [rc for rc, _, _ in said] == [2, 1, 1, 1, 1, 2, 1], said
    assert "缺少必需参数" in said[0][1] and all("数据库不存在" in line for _, line, _ in said[1:4]), said
    assert "请指定用户" in said[4][1] and "要导入的文件不存在" in said[5][1] and "已初始化" in said[6][1], said
    assert [loaded for _, _, loaded in said] == [[]] * len(commands), said


def test_init_twice_is_refused_and_nothing_changes(tmp_path):
    db = tmp_path / "t.sqlite3"
    run("init", "--db", db, "--township", "甲镇", *BOSS, check_code=0)
    p = run("init", "--db", db, "--township", "乙镇", *BOSS, check_code=1)
    assert "已初始化" in p.stderr
    with cli_db(db) as c:
        assert [r[0] for r in c.execute("SELECT name FROM region WHERE level='township'")] == ["甲镇"]


def test_config_errors_are_chinese_and_non_zero(tmp_path):
    db = tmp_path / "t.sqlite3"
    p = run("config", "--db", db, "--year", "2024", check_code=1)
    assert "数据库不存在" in p.stderr and not db.exists()
    run("init", "--db", db, "--township", "甲镇", *BOSS, check_code=0)
    p = run("config", "--db", db, "--year", "2024", "--monitoring-line", "-100", user=("boss", "Jia-zhen-2024"),
            check_code=1)
    assert "监测线必须大于 0" in p.stderr
    p = run("config", "--db", db, check_code=2)
    assert "缺少必需参数" in p.stderr


def test_wrong_usage_exits_2(tmp_path):
    p = run("init", "--db", tmp_path / "x.sqlite3", check_code=2)
    assert "用法错误" in p.stderr
    p = run("init", "--db", tmp_path / "x.sqlite3", "--township", "甲", "--admin-user", "a", check_code=2)
    assert not (tmp_path / "x.sqlite3").exists()


def test_init_requires_the_first_administrator_with_a_password_the_rule_allows(tmp_path):
    db = tmp_path / "t.sqlite3"
    p = run("init", "--db", db, "--township", "甲镇", check_code=2)
    assert "--admin-user" in p.stderr and not db.exists()
    p = run("init", "--db", db, "--township", "甲镇", "--admin-user", "boss", "--admin-password", "12345678",
            check_code=1)
    assert "全是数字" in p.stderr
    p = run("init", "--db", db, "--township", "甲镇", *BOSS, check_code=0)
    assert "恢复密钥（只显示这一次）" in p.stdout  # printed once, to be kept in the office safe
    from desktop.services import keys, opening
    recovery = p.stdout.split("恢复密钥（只显示这一次）：")[1].split()[0]
    assert keys.unlock_recovery(db, recovery) is not None
    opened = opening.log_in(db, "boss", "Jia-zhen-2024")  # the password opens the encrypted database
    assert opened.user.is_admin
    opened.db.dispose()
    with cli_db(db) as c:  # the audit names who set the database up
        assert {u for (u,) in c.execute("SELECT DISTINCT user FROM audit_entry")} <= {"boss"}


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


# ---------------------------------------------------------------------------- who is acting (SPEC §11, §12)

def _demo_with_clerk(tmp_path):
    """A demo township (admin / admin123) with a 村级录入员 "li" of its first village (by name)."""
    db = tmp_path / "t.sqlite3"
    p = run("demo", "--db", db, "--households", "30", "--year", "2024", "--as-of", "2024-11-20", user=None,
            check_code=0)
    assert "admin123" in p.stdout and "密码规则" in p.stdout  # the exemption is said on screen
    # demo on an existing database needs credentials like any other command; it adds villages of its own
    p = run("demo", "--db", db, "--households", "30", "--seed", "2", "--year", "2024", "--as-of", "2024-11-20",
            check_code=0)
    assert "admin123" not in p.stdout
    from desktop.services import auth, opening, regions
    opened = opening.log_in(db, *DEMO)
    database, admin = opened.db, opened.user
    with database.session(admin) as s:
        village = regions.tree(s)[0]
        auth.create_user(s, "li", "李录入", "clerk", "Xue-ji-2024", village_ids=[village.id])
        s.commit()
    database.dispose()
    return db, village.name


def test_missing_or_wrong_credentials_exit_1_in_chinese(tmp_path):
    db = tmp_path / "t.sqlite3"
    run("demo", "--db", db, "--households", "5", "--year", "2024", user=None, check_code=0)
    p = run("assess", "--db", db, "--year", "2024", user=None, check_code=1)
    assert "FANPIN_USER" in p.stderr
    p = run("assess", "--db", db, "--year", "2024", user=None, env={"FANPIN_USER": "admin"}, check_code=1)
    assert "FANPIN_PASSWORD" in p.stderr
    p = run("assess", "--db", db, "--year", "2024", user=("admin", "wrong-pass"), check_code=1)
    assert "用户名或密码不正确" in p.stderr and p.stdout == ""
    p = run("demo", "--db", db, "--households", "5", user=None, check_code=1)  # an existing database
    assert "FANPIN_USER" in p.stderr


def test_user_option_wins_over_the_environment(tmp_path):
    db, _village = _demo_with_clerk(tmp_path)
    # FANPIN_USER names the clerk; --user admin wins, and admin's password is the one given
    p = run("config", "--db", db, "--year", "2024", "--rural-average", "16000", "--user", "admin",
            env={"FANPIN_USER": "li"}, check_code=0)
    assert "16,000.00" in p.stdout
    with cli_db(db) as c:
        rows = c.execute("SELECT user FROM audit_entry WHERE table_name='year_settings' AND field='rural_average'")
        assert [u for (u,) in rows] == ["admin"]


def test_a_clerk_on_the_command_line_sees_only_their_villages(tmp_path):
    import json
    db, village = _demo_with_clerk(tmp_path)
    clerk = ("li", "Xue-ji-2024")
    everyone = json.loads(run("assess", "--db", db, "--year", "2024", "--as-of", "2024-11-20", check_code=0).stdout)
    theirs = json.loads(run("assess", "--db", db, "--year", "2024", "--as-of", "2024-11-20", user=clerk,
                            check_code=0).stdout)
    with cli_db(db) as c:
        own = {no for (no,) in c.execute("SELECT household_no FROM household h JOIN region r ON r.id = h.village_id "
                                         "WHERE r.name = ?", (village,))}
    assert 0 < len(theirs) < len(everyone)
    assert {d["household_no"] for d in theirs} == own
    other = sorted({d["household_no"] for d in everyone} - own)[0]
    p = run("assess", "--db", db, "--year", "2024", "--household", other, user=clerk, check_code=1)
    assert "权限" in p.stderr or "不存在" in p.stderr
    p = run("config", "--db", db, "--year", "2024", "--monitoring-line", "1.00", user=clerk, check_code=1)
    assert "村级录入员不能" in p.stderr
    out = tmp_path / "mine.xlsx"
    run("export", "--db", db, out, "--year", "2024", user=clerk, check_code=0)
    from python_calamine import CalamineWorkbook
    sheet = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("户信息").to_python()
    header = next(i for i, row in enumerate(sheet) if "户编号" in [str(c) for c in row])
    col = [str(c) for c in sheet[header]].index("户编号")
    assert {str(r[col]) for r in sheet[header + 1:] if r[col]} == own
    p = run("import", "--db", db, out, "--year", "2024", user=clerk, check_code=0)  # their own village, back
    assert f"更新 {len(own)} 户" in p.stdout
    p = run("report", "summary", "--db", db, "--out", tmp_path / "s.pdf", "--year", "2024", user=clerk, check_code=0)
    p = run("check", "--db", db, "--year", "2024", "--as-of", "2024-11-20", user=clerk, check_code=0)
    assert {f["household_no"] for f in json.loads(p.stdout)} <= own


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

