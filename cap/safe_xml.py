"""Hardened XML reading: defusedxml over the standard library's expat.

Why defusedxml and not lxml: it is pure Python over expat (no C library of its own to pin and
patch), and `forbid_dtd` refuses a document at its <!DOCTYPE>, before any entity can be declared,
so billion laughs and external entities (file://, http://) are never expanded nor fetched. CAP
has no use for a DTD. Size, nesting depth and element count are bounded here too, while the
document is read, so a hostile one costs at most MAX_DOCUMENT_BYTES of parsing.
"""

from __future__ import annotations

import io
from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml.ElementTree import iterparse

from cap.errors import CapError

MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_DEPTH = 32
# A CAP document of a national warning system has hundreds of elements; this bounds thousands
# of <area>/<polygon>/<geocode> before anything reads them.
MAX_ELEMENTS = 20_000


def read_xml(data: bytes, what: str = "document") -> Element:
    """The root element of `data`, or CapError saying why it is refused."""
    if not isinstance(data, (bytes, bytearray)):
        raise CapError(f"the {what} must be bytes")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise CapError(f"the {what} is larger than {MAX_DOCUMENT_BYTES} bytes")
    if not data.strip():
        raise CapError(f"the {what} is empty")
    depth = elements = 0
    root: Element | None = None
    try:
        for event, element in iterparse(
            io.BytesIO(bytes(data)),
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        ):
            if event == "start":
                depth += 1
                elements += 1
                if root is None:
                    root = element
                if depth > MAX_DEPTH:
                    raise CapError(f"the {what} is nested deeper than {MAX_DEPTH} levels")
                if elements > MAX_ELEMENTS:
                    raise CapError(f"the {what} has more than {MAX_ELEMENTS} elements")
            else:
                depth -= 1
    except defusedxml.DTDForbidden:
        raise CapError(f"the {what} has a DTD (<!DOCTYPE>); DTDs and entities are refused") from None
    except defusedxml.EntitiesForbidden:
        raise CapError(f"the {what} declares entities; DTDs and entities are refused") from None
    except defusedxml.ExternalReferenceForbidden:
        raise CapError(f"the {what} refers to an external resource; that is refused") from None
    except defusedxml.NotSupportedError:
        raise CapError(f"the {what} uses an XML feature that is refused") from None
    except ParseError as exc:
        raise CapError(f"the {what} is not well-formed XML: {exc}") from None
    if root is None:
        raise CapError(f"the {what} has no root element")
    return root
