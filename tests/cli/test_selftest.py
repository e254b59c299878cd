import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def selftest(tmp_path, **env):
    return subprocess.run([sys.executable, "-m", "desktop", "--self-test"], cwd=ROOT, capture_output=True, text=True,
                          encoding="utf-8", timeout=300,
                          env={**os.environ, "FANPIN_DATA_DIR": str(tmp_path), "QT_QPA_PLATFORM": "offscreen", **env})


def test_self_test_passes_and_says_what_it_checked(tmp_path):
    p = selftest(tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    for name in ("数据库", "规则", "PDF", "Excel", "界面"):
        assert f"✓ {name}" in p.stdout
    assert p.stdout.strip().endswith("自检通过")
    assert list(tmp_path.iterdir()) == []  # the user's data folder is left as it was


def test_self_test_fails_on_a_damaged_database_and_leaves_it_alone(tmp_path):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
    before = bad.read_bytes()
    p = selftest(tmp_path, FANPIN_SELFTEST_DB=str(bad))
    assert p.returncode == 1
    assert "✗ 数据库" in p.stdout and "自检未通过：1 项失败" in p.stdout
    assert bad.read_bytes() == before


def test_self_test_checks_the_encrypted_database_only_with_credentials(tmp_path):
    db = tmp_path / "w.sqlite3"
    subprocess.run([sys.executable, "-m", "desktop", "init", "--db", str(db), "--township", "甲镇", "--admin-user",
                    "boss", "--admin-password", "Jia-zhen-2024"], cwd=ROOT, check=True, capture_output=True)
    before = db.read_bytes()
    p = selftest(tmp_path, FANPIN_SELFTEST_DB=str(db))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "需要用户名和密码" in p.stdout  # without them the user's database is not opened
    p = selftest(tmp_path, FANPIN_SELFTEST_DB=str(db), FANPIN_USER="boss", FANPIN_PASSWORD="Jia-zhen-2024")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "副本完整（已加密）" in p.stdout and "校验无误" in p.stdout
    assert db.read_bytes() == before  # checked on a copy: the database itself is not written
    p = selftest(tmp_path, FANPIN_SELFTEST_DB=str(db), FANPIN_USER="boss", FANPIN_PASSWORD="wrong-password")
    assert p.returncode == 1 and "✗ 数据库" in p.stdout and "用户名或密码不正确" in p.stdout
