"""Cell values as text: what a CSV or spreadsheet cell holds, read the same way everywhere."""

from __future__ import annotations

# What exports write in a cell they have no value for. A lead whose first name is "N/A" is
# missing its first name, not a person called Na; an e-mail of "none" is no e-mail, not an
# invalid one. Kept to words no real name, e-mail, phone or postcode is ("Na" and "Nil" are
# surnames, so they are not here).
_PLACEHOLDER_WORDS = (
    "n/a",
    "#n/a",
    "n.a.",
    "null",
    "none",
    "unknown",
    "not known",
    "not given",
    "not provided",
    "not available",
    "tbc",
    "-",
    "--",
    "---",
    ".",
    "?",
    "??",
    "???",
)
# Exact strings in the casings exports use, so a row is checked with one set operation.
PLACEHOLDERS = frozenset(
    variant
    for word in _PLACEHOLDER_WORDS
    for variant in (word, word.upper(), word.title(), word.capitalize())
)


# Characters that show as nothing, pasted in with a value from a web page or a PDF (zero-width
# spaces and joiners, a word joiner, a BOM, a soft hyphen, direction marks): the value shown is
# the one without them. A str.translate table.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f"))


def is_blank(value: object) -> bool:
    """True for None, "", whitespace-only strings and placeholders ("N/A", "none", "-")."""
    return value is None or (
        isinstance(value, str) and (not value or value.isspace() or value.strip() in PLACEHOLDERS)
    )


def given(text: str) -> str:
    """A trimmed cell's text, or "" when it is a placeholder."""
    return "" if text in PLACEHOLDERS else text


def as_text(value: object) -> str:
    """A cell as text: "" for None, whole spreadsheet numbers without their ".0"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # spreadsheet numbers: 7911123456.0 -> "7911123456"
    return str(value)


def collapsed(value: object) -> str:
    """A cell as text, trimmed, with each run of whitespace made one space; "" for a
    placeholder."""
    return given(" ".join(as_text(value).split()))
