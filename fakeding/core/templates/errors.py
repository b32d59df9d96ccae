"""The one exception of the templates package."""

from __future__ import annotations

from fakeding.core.exceptions import FakedingError


class TemplateError(FakedingError):
    """A card-platform export (or one of its expressions) that cannot be read; the message
    names the file, the JSON path and what was expected."""
