"""Names: the normal form a lead id is built from, and the form a person is shown by."""

from __future__ import annotations

import functools
import re
import unicodedata

from anyascii import anyascii

_NAME_STRIP_RE = re.compile(r"[^a-z0-9-]+")


@functools.lru_cache(maxsize=16384)
def _normalise_text(value: str) -> str:
    folded = value.casefold()
    if not folded.isascii():
        # Symbols are no part of a name: anyascii would spell an emoji out as a word
        # ("Emma 😀" -> "emmagrinning"). It may produce capitals (CJK syllables): fold again.
        letters = "".join(ch for ch in folded if unicodedata.category(ch)[0] != "S")
        folded = anyascii(letters).lower()
    return _NAME_STRIP_RE.sub("", folded)


def normalise_name_part(value: str | None) -> str:
    """Name part as in a lead id: ``"  José "`` -> ``"jose"``, ``"O'Brien"`` -> ``"obrien"``.

    Case-folded, transliterated to ASCII, then stripped of everything but ``a-z``, ``0-9``, ``-``.
    """
    if value is None:
        return ""
    return _normalise_text(value if isinstance(value, str) else str(value))


# Lower-case particles of surnames ("Ludwig van Beethoven", "van der Berg"), kept lower-case
# when another word follows them; "la", "le", "los"... only after one of them ("de la Cruz"),
# since alone they usually start Italian or French surnames (La Rosa, Le Pen).
_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "da", "das", "dos", "du", "ter", "ten", "zu"}
)
_AFTER_PARTICLE = frozenset({"la", "le", "las", "los", "les"})
_NAME_PIECES = re.compile(r"([-'’])")  # hyphens and apostrophes start a new capital


# How a first-name cell may address the person ("Mr John"): a lead id holds the name, not the
# form of address. Only these few: nameparser's titles include words that are also first names
# (Major, Judge, King).
_TITLES = frozenset({"mr", "mrs", "miss", "ms", "mx", "dr", "prof", "sir", "dame", "rev", "revd"})


def without_title(name: str) -> str:
    """``"Mr John"`` -> ``"John"``, ``"Dr. Mary Jane"`` -> ``"Mary Jane"``; a title alone stays.

    ``name`` is as :func:`display_name` gives it (trimmed, one space between words).
    """
    head, _, rest = name.partition(" ")
    if rest and head.rstrip(".").lower() in _TITLES:
        return rest
    return name


def display_name(value: str) -> str:
    """A name as shown: trimmed, whitespace collapsed, capitals fixed only when all one case.

    ``"  mary-jane "`` -> ``"Mary-Jane"``, ``"O'BRIEN"`` -> ``"O'Brien"``, ``"mcdonald"`` ->
    ``"McDonald"``, ``"VAN DER BERG"`` -> ``"van der Berg"``; ``"DeShawn"`` stays as given.
    """
    text = " ".join(value.split())
    if text.isupper() or text.islower():
        return _recased(text)
    return text


@functools.lru_cache(maxsize=16384)
def _recased(text: str) -> str:
    words = text.lower().split(" ")
    last = len(words) - 1
    shown = []
    after_particle = False
    for index, word in enumerate(words):
        if index < last and (word in _PARTICLES or (after_particle and word in _AFTER_PARTICLE)):
            shown.append(word)
            after_particle = True
            continue
        after_particle = False
        shown.append("".join(_capitalise(piece) for piece in _NAME_PIECES.split(word)))
    return " ".join(shown)


def _capitalise(piece: str) -> str:
    if len(piece) > 2 and piece.startswith("mc"):
        return "Mc" + piece[2:].capitalize()
    return piece.capitalize()
