"""The one error of this library: what is wrong with a document, in a sentence."""


class CapError(ValueError):
    """The document is refused; the message says why (the first problem found)."""
