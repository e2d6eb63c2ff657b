"""Full names: one "Full Name" cell split into first and last name, the same way every time."""

from __future__ import annotations

import functools

from nameparser import HumanName


def split_full_name(value: str) -> tuple[str, str]:
    """(first_name, last_name) of a full name, as given otherwise (no re-casing here).

    ``"Smith, John"`` -> ``("John", "Smith")``; ``"Dr Mary-Jane van der Berg"`` ->
    ``("Mary-Jane", "van der Berg")``: the first name takes the middle names, the last name
    keeps its particles, titles, suffixes and nicknames go. A first word alone in capitals
    (``"SMITH John"``) is the surname; a single word is the last name.
    """
    return _split(" ".join(value.split()))


# Suppliers' files repeat names, and nameparser takes some 100 µs a name.
@functools.lru_cache(maxsize=16384)
def _split(text: str) -> tuple[str, str]:
    if not text:
        return "", ""
    words = text.split(" ")
    if len(words) == 1:
        return "", text
    head, rest = words[0], " ".join(words[1:])
    if "," not in text and _capitals(head) and not _capitals(rest):
        text = f"{head}, {rest}"
    name = HumanName(text)
    first = " ".join(part for part in (name.first, name.middle) if part)
    last = name.last
    if not last:
        # Only one name besides titles and suffixes ("Dr Smith"): it is the surname.
        first, last = "", first
    return first, last


def _capitals(word: str) -> bool:
    return word.isupper() and sum(ch.isalpha() for ch in word) > 1
