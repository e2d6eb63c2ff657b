"""Cell values as text: what a CSV or spreadsheet cell holds, read the same way everywhere."""

from __future__ import annotations


def is_blank(value: object) -> bool:
    """True for None, "" and whitespace-only strings."""
    return value is None or (isinstance(value, str) and (not value or value.isspace()))


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
    """A cell as text, trimmed, with each run of whitespace made one space."""
    return " ".join(as_text(value).split())
