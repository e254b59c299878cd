"""The one error of printed documents, apart from the layout code so that naming it (the command line's
parser, the registry) does not load reportlab."""

from __future__ import annotations

from ..errors import ServiceError


class ReportError(ServiceError):
    """A document that cannot be made as asked (unknown village or household, no year settings)."""
