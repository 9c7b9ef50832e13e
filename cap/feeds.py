"""A feed is either one CAP document or an Atom/RSS feed whose entries link to CAP documents."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element

from cap.alert import Alert, alert_from_element
from cap.errors import CapError
from cap.safe_xml import read_xml

_ATOM = "{http://www.w3.org/2005/Atom}"
MAX_ENTRIES = 500


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry: its id (the Atom id or RSS guid, else the link) and the CAP document's URL."""

    entry_id: str
    url: str

    @property
    def key(self) -> str:
        """A fixed-length key for "seen already": the entry's id and link together."""
        return hashlib.sha256(f"{self.entry_id}\n{self.url}".encode()).hexdigest()


def parse_feed(data: bytes, base_url: str) -> Alert | list[FeedEntry]:
    """A CAP document read whole, or the entries of an Atom or RSS feed (http(s) links only)."""
    root = read_xml(data, "feed")
    local = root.tag.rpartition("}")[2]
    if local == "alert":
        return alert_from_element(root)
    if root.tag == f"{_ATOM}feed":
        entries = [_atom_entry(e, base_url) for e in root.findall(f"{_ATOM}entry")]
    elif root.tag == "rss":
        entries = [_rss_item(i, base_url) for i in root.findall("channel/item")]
    else:
        raise CapError(f"the feed is neither a CAP alert nor an Atom or RSS feed (root <{local}>)")
    found = [e for e in entries if e is not None]
    return found[:MAX_ENTRIES]


def _atom_entry(entry: Element, base_url: str) -> FeedEntry | None:
    links = entry.findall(f"{_ATOM}link")
    # Prefer a link typed as CAP or XML, then the alternate one, then any.
    chosen = None
    for link in links:
        kind = (link.get("type") or "").lower()
        if "cap" in kind or kind.endswith("xml"):
            chosen = link
            break
    if chosen is None:
        chosen = next((link for link in links if link.get("rel", "alternate") == "alternate"), None)
    href = chosen.get("href") if chosen is not None else None
    url = _http_url(href, base_url)
    if url is None:
        return None
    entry_id = (entry.findtext(f"{_ATOM}id") or "").strip() or url
    return FeedEntry(entry_id[:1000], url)


def _rss_item(item: Element, base_url: str) -> FeedEntry | None:
    url = _http_url(item.findtext("link"), base_url)
    if url is None:
        enclosure = item.find("enclosure")
        url = _http_url(enclosure.get("url") if enclosure is not None else None, base_url)
    if url is None:
        return None
    entry_id = (item.findtext("guid") or "").strip() or url
    return FeedEntry(entry_id[:1000], url)


def _http_url(href: str | None, base_url: str) -> str | None:
    """An absolute http(s) URL, or None: a feed never sends us to file:, ftp: or the like."""
    if not href or not href.strip():
        return None
    url = urljoin(base_url, href.strip())
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        return None
    return url
