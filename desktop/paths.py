"""Where things live: bundled resources and the user's data folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platformdirs import user_data_dir

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def resource_path(*parts: str) -> Path:
    """A file under resources/, from source or from a PyInstaller bundle."""
    base = Path(getattr(sys, "_MEIPASS", _SOURCE_ROOT))
    return base.joinpath("resources", *parts)


def data_dir() -> Path:
    """The user's data folder (never the install folder). FANPIN_DATA_DIR overrides it."""
    override = os.environ.get("FANPIN_DATA_DIR")
    path = Path(override) if override else Path(user_data_dir("fanpin-workbench", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        try:  # the register of a whole township: the owner only (SPEC §12)
            os.chmod(path, 0o700)
        except OSError:
            pass
    return path


def default_db_path() -> Path:
    return data_dir() / "workbench.sqlite3"


def connection_file() -> Path:
    """Where this computer remembers which database it works on (the first-run choice 单机 / 县级数据库)."""
    return data_dir() / "database.ini"


def saved_database() -> str | None:
    """The database chosen on this computer: a file path or a database URL; None when nothing was chosen."""
    import configparser
    cfg = configparser.ConfigParser(interpolation=None)
    try:
        cfg.read(connection_file(), encoding="utf-8")
    except (OSError, configparser.Error):
        return None
    value = cfg.get("database", "url", fallback="").strip()
    return value or None


def save_database(target: str) -> None:
    """Remember the database of this computer. A URL is kept without any password (the database's password lives
    in PGPASSWORD, a pgpass file or the OS keyring, never in a plain file)."""
    import configparser
    if "://" in target:
        from sqlalchemy.engine import make_url
        url = make_url(target)
        if url.password is not None:
            raise ValueError("数据库地址中不能包含密码：密码请放在 PGPASSWORD、pgpass 文件或系统钥匙串中")
    cfg = configparser.ConfigParser(interpolation=None)
    cfg["database"] = {"url": target}
    with open(connection_file(), "w", encoding="utf-8") as f:
        f.write("# 本机使用的数据库（首次启动时选择）：SQLite 文件路径，或县级数据库地址（不含密码）\n")
        cfg.write(f)
