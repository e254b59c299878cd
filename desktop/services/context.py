"""What a window or the CLI works with: the database, who is logged in, the year and the date.

Each user action is one call: `ctx.run(fn, *args)` opens a session as the current user, runs
a service function, commits, and closes, so a failure leaves nothing half-changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Callable, TypeVar

from .auth import CurrentUser
from .db import Database

T = TypeVar("T")


@dataclass
class AppContext:
    db: Database
    user: CurrentUser | None = None
    year: int | None = None
    today: Callable[[], date] = field(default=date.today)  # tests pin it
    bootstrap: bool = False  # the first-run wizard: acts before any user exists (refused once one does)

    @property
    def username(self) -> str:
        return self.user.username if self.user else "system"

    def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run a service function that writes, in one transaction."""
        with self._session() as s:
            try:
                result = fn(s, *args, **kwargs)
                s.commit()
            except BaseException:
                s.rollback()
                raise
        return result

    def read(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run a service function that only reads."""
        with self._session() as s:
            return fn(s, *args, **kwargs)

    def _session(self):
        return self.db.session(self.user, bootstrap="first-run" if self.bootstrap else None)
