"""`--db` with a database URL (issue 21): the county's PostgreSQL when the suite runs on one (FANPIN_TEST_DB_URL),
an sqlite:/// URL otherwise. The URL is the database itself, never a file named after it."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from tests import dbserver
from tests.cli.test_cli import BOSS, cli_db, run


def fresh_url(tmp_path) -> str:
    if dbserver.ON_POSTGRES:
        return dbserver.server().create(dbserver.server().new_name("cli"))  # empty: init migrates it
    return f"sqlite:///{tmp_path / 'county.sqlite3'}"


def test_init_demo_assess_on_a_url(tmp_path):
    url = fresh_url(tmp_path)
    p = run("init", "--db", url, "--township", "稷下街道", "--county", "临淄区", "--year", "2024",
            "--monitoring-line", "7100", *BOSS, check_code=0, cwd=tmp_path)
    assert "已创建数据库" in p.stdout
    assert list(tmp_path.glob("postgresql*")) == [] and not (tmp_path / "sqlite:").exists()  # no stray file
    boss = ("boss", "Jia-zhen-2024")
    run("demo", "--db", url, "--households", "12", "--year", "2024", "--as-of", "2024-11-20", user=boss,
        check_code=0, cwd=tmp_path)
    rows = json.loads(run("assess", "--db", url, "--year", "2024", "--as-of", "2024-11-20", user=boss,
                          check_code=0, cwd=tmp_path).stdout)
    assert len(rows) >= 12
    if dbserver.ON_POSTGRES:
        engine = create_engine(url)
        try:
            with engine.connect() as c:  # the rows are in the database the URL names
                assert c.execute(text("SELECT count(*) FROM household")).scalar() == len(rows)
        finally:
            engine.dispose()
    else:  # an sqlite:/// URL is its file, encrypted like any other: read with the key the password unwraps
        with cli_db(tmp_path / "county.sqlite3") as c:
            assert c.execute("SELECT count(*) FROM household").fetchone()[0] == len(rows)
    # a second init on the same URL is refused, naming the URL without any password
    p = run("init", "--db", url, "--township", "乙镇", *BOSS, check_code=1, cwd=tmp_path)
    assert "数据库已初始化" in p.stderr


def test_an_unreachable_server_is_said_in_chinese(tmp_path):
    p = run("assess", "--db", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none", "--year", "2024",
            check_code=1, cwd=tmp_path)
    assert "无法连接数据库" in p.stderr and "secret" not in p.stderr


def test_recover_is_refused_on_a_server_database(tmp_path):
    """A county database (PostgreSQL) has no key and no recovery key: `recover` says so, without connecting."""
    p = run("recover", "--db", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none", "--recovery-key", "X",
            "--admin-user", "boss", "--admin-password", "Jia-zhen-2025", check_code=1, cwd=tmp_path)
    assert "没有恢复密钥" in p.stderr and "secret" not in p.stderr
