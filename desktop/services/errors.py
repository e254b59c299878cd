"""The one base class for errors a person caused and can correct.

A service raises a ServiceError (or a subclass) with Chinese text that says where and what; the window shows it as
it is, the command line prints it and exits 1. Anything else that escapes a service is a fault in the program: it
is logged with its traceback and shown as such, never passed off as the user's mistake."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal the user can act on. str(exc) is the Chinese message."""
