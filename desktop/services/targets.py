"""What `--db`, a setting or the first-run choice names: an SQLite file or a server's database URL.

Apart from db.py (which re-exports is_url) because the command line converts `--db` while it parses its arguments:
a file path needs neither SQLAlchemy nor Alembic, and a usage error or `--help` should not wait for them."""

from __future__ import annotations

from pathlib import Path


def is_url(target: Path | str | None) -> bool:
    """A database given as an SQLAlchemy URL rather than a file path (the county edition's server)."""
    return target is not None and "://" in str(target)


def database_target(target: Path | str) -> Path | str:
    """Where `--db`, a setting or the first-run choice points: an sqlite:/// URL is its file (opened, encrypted,
    like any path); another URL is a server's database (PostgreSQL), kept as the URL."""
    if not is_url(target):
        return Path(target)
    from sqlalchemy.engine import make_url

    url = make_url(str(target))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database)
    return str(target)
