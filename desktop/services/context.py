"""What a window or the CLI works with: the database, who is logged in, the year and the date.

Each user action is one call: `ctx.run(fn, *args)` opens a session as the current user, runs
a service function, commits, and closes, so a failure leaves nothing half-changed. A full disk, a lock held
by another program, a read-only or vanished file comes out as a failures.StorageError (a ServiceError) with
the Chinese message and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Callable, TypeVar

from . import concurrency, failures, settings
from .access import AccountDisabled
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
    # Called (with the Chinese message) when the user's account was disabled or removed since the log-in: the
    # window logs out. The refused call still raises AccountDisabled (a ServiceError) to its caller.
    account_disabled: Callable[[str], None] | None = field(default=None, repr=False)
    # called after every commit of run(), on the thread that ran it: the window turns this into its
    # "data changed" signal, so every page shows what was just written
    listeners: list[Callable[[], None]] = field(default_factory=list, repr=False, compare=False)
    # Called with the new year when another seat made another year the current one (several seats on one
    # database): this seat follows at its next action. On the thread of that action.
    year_listeners: list[Callable[[int], None]] = field(default_factory=list, repr=False, compare=False)
    _seen_current_year: int | None = field(default=None, repr=False, compare=False)

    @property
    def username(self) -> str:
        return self.user.username if self.user else "system"

    def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run a service function that writes, in one transaction."""
        try:
            with self._session() as s:
                self._follow_current_year(s)
                try:
                    result = fn(s, *args, **kwargs)
                    s.commit()
                except BaseException:
                    s.rollback()
                    raise
        except Exception as exc:
            self._raise_translated(exc)
        for listener in self.listeners:
            listener()
        return result

    def read(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run a service function that only reads."""
        try:
            with self._session() as s:
                self._follow_current_year(s)
                return fn(s, *args, **kwargs)
        except Exception as exc:
            self._raise_translated(exc)

    def _follow_current_year(self, s) -> None:
        """The current year is the township's, not the seat's: when another seat changed it since this seat last
        looked, this seat's year follows (and the window is told)."""
        if self.user is None or self.bootstrap:
            return
        current = settings.current_year(s)
        seen, self._seen_current_year = self._seen_current_year, current
        if seen is None or current is None or current == seen or current == self.year:
            return
        self.year = current
        for listener in self.year_listeners:
            listener(current)

    def _session(self):
        return self.db.session(self.user, bootstrap="first-run" if self.bootstrap else None)

    def _raise_translated(self, exc: Exception):
        if isinstance(exc, AccountDisabled) and self.account_disabled is not None:
            self.account_disabled(str(exc))
        lost = concurrency.translate(self.db, exc, self.username)  # another seat's change came first
        if lost is not None:
            raise lost from exc
        failure = failures.translate(exc, self.db.sqlite_path)
        if failure is None or failure is exc:
            raise exc
        raise failure from exc
