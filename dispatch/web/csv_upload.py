"""What the console's CSV import pages (volunteers, activity) share: the header's problems in
the page's language."""

from __future__ import annotations

from flask_babel import gettext as _


def header_problems(details: dict) -> str:
    """The missing and unknown columns of a refused header line."""
    parts = []
    if details.get("missing"):
        parts.append(_("missing: %(columns)s", columns=", ".join(details["missing"])))
    if details.get("unknown"):
        parts.append(_("unknown: %(columns)s", columns=", ".join(details["unknown"])))
    return "; ".join(parts)
