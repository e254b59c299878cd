"""Who the benchmarks act as. Every service asks who acts (SPEC §12), so a benchmark logs in like the window does.
The benchmark databases are demo databases: their administrator is the demo's admin / admin123 (as
`python -m desktop demo` creates on a new database; exempt from the password rule, for demonstration only)."""

from __future__ import annotations

ADMIN, PASSWORD = "admin", "admin123"


def create_admin(db) -> None:
    """The demo administrator on a database that has no user yet (the first-run setup, as `demo` does)."""
    from desktop.services import auth
    with db.session(bootstrap="bench") as s:
        auth.create_user(s, ADMIN, "管理员", "admin", PASSWORD, exempt_from_rule=True)
        s.commit()


def login(db, username: str = ADMIN, password: str = PASSWORD):
    """The logged-in administrator (a CurrentUser): `db.session(login(db))` acts as them."""
    from desktop.services import auth
    with db.session() as s:
        user = auth.authenticate(s, username, password)
        s.commit()
    return user
