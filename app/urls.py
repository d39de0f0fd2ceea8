"""Same-origin redirect targets from user input (``next=``, ``back=``)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# Browsers drop tabs/CR/LF inside URLs and treat "\" as "/": "/\t/evil.com" becomes
# "//evil.com", an off-site address.  Such values are refused outright.
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def local_path(url: str | None, default: str | None = None) -> str | None:
    """``url`` as a same-origin path (``/path?query``), else ``default``.

    Only a path that starts with one ``/`` survives; scheme, host, fragment, control
    characters, whitespace and backslashes are refused.
    """
    if not url or not isinstance(url, str) or len(url) > 2000 or _UNSAFE.search(url):
        return default
    if not url.startswith("/") or url.startswith("//"):
        return default
    try:
        parts = urlsplit(url)
    except ValueError:
        return default
    if parts.scheme or parts.netloc:
        return default
    path = parts.path
    if not path.startswith("/") or path.startswith("//"):
        return default
    return urlunsplit(("", "", path, parts.query, ""))
