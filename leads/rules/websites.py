"""Websites: the bare domain a company's web address is stored as."""

from __future__ import annotations

import functools
import re

_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*://")
_SPACE_RE = re.compile(r"\s")


# A supplier's file names the same few sites over and over.
@functools.lru_cache(maxsize=8192)
def clean_website(value: str) -> str:
    """The bare domain of a website: ``"https://www.Example.com/about/"`` -> ``"example.com"``.

    Scheme, user, ``www.``, port, path, query and trailing slash go; a value that does not
    look like a web address ("n/a", "none") is only trimmed, so nothing is invented.
    """
    text = value.strip()
    host = _SCHEME_RE.sub("", text.lower()).lstrip("/")
    for separator in "/?#":
        host = host.split(separator, 1)[0]
    host = host.rpartition("@")[2].split(":", 1)[0].strip(".")
    if host.startswith("www."):
        host = host[4:]
    if "." not in host or _SPACE_RE.search(host):
        return text
    return host
