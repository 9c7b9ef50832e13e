"""The one exception type for bad geographic input.

Every invalid coordinate, GeoJSON document or CAP string raises GeoError, so callers
(HTTP handlers, CAP importers) can catch one ValueError subclass and show its message.
"""


class GeoError(ValueError):
    """Invalid geographic input; str(error) is a message fit to show a human."""
