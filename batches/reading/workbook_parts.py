"""How an .xlsx names its parts: the workbook's relationships and its list of sheets.

Read from the raw XML with regexes, as calamine's own reader resolves them, so that vetting
measures the parts calamine will read, as many times as it will read them.
"""

import posixpath
import re
from collections import Counter

_RELATION = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?Relationship(?=[\s/>])([^>]*)>")
_SHEET = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?sheet(?=[\s/>])([^>]*)>")
_ATTRIBUTE = re.compile(rb"""([\w:.\-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _attributes(tag: bytes) -> dict[bytes, bytes]:
    """A tag's attributes by local name (r:id as id)."""
    return {
        key.rsplit(b":", 1)[-1]: (double if double is not None else single)
        for key, double, single in _ATTRIBUTE.findall(tag)
    }


def relations(xml: bytes) -> list[tuple[str, str, str]]:
    """(id, type, target) of each relationship of a .rels part, external ones too: calamine
    reads a sheet's target whatever its TargetMode says."""
    found = []
    for match in _RELATION.finditer(xml):
        attributes = _attributes(match.group(1))
        found.append(
            tuple(
                attributes.get(key, b"").decode("utf-8", "replace")
                for key in (b"Id", b"Type", b"Target")
            )
        )
    return found


def resolve(target: str, names, folded: dict[str, str]) -> list[str]:
    """The members a relationship's target may mean, however a reader resolves it."""
    target = target.replace("\\", "/")
    candidates = {
        target.lstrip("/"),
        posixpath.normpath(posixpath.join("xl", target)).lstrip("/"),
        posixpath.normpath(target.lstrip("/")),
    }
    found = [c for c in candidates if c in names]
    if not found:
        found = [folded[c.lower()] for c in candidates if c.lower() in folded]
    return found


def sheets_listed_again(workbook_xml: bytes, parts: dict[str, list[str]]) -> tuple[str, int]:
    """The part that the workbook's list of sheets names most often and how often, when
    that is more than once (a reader reads it once per entry), else ("", 0).

    `parts` maps a relationship id to the members its target may mean.
    """
    uses = Counter()
    for match in _SHEET.finditer(workbook_xml):
        for part in parts.get(_attributes(match.group(1)).get(b"id", b"").decode(), ()):
            uses[part] += 1
    part, count = max(uses.items(), key=lambda item: item[1], default=("", 0))
    return (part, count) if count > 1 else ("", 0)
