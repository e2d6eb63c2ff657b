"""Reading screening input: TPS lines into numbers, suppression values into (kind, normal form).

Pure functions: the same normal forms as the lead rules, so a value in a file and the same
value on a lead meet.
"""

from __future__ import annotations

import re

from leads.rules import normalise_email, normalise_phone, normalise_postcode

UK_CALLING_CODE = "44"
# Spacing and punctuation a register or a spreadsheet may put in a number.
_NUMBER_NOISE = re.compile(r"[\s\-().]")
# A UK national significant number: 9 or 10 digits, not starting with 0.
_UK_NSN = re.compile(r"[1-9][0-9]{8,9}")
_LEAD_ID = re.compile(r"[a-z0-9-]+\.[a-z0-9-]+\.[0-9]{8}")

KINDS = ("email", "phone", "lead_id", "postcode")


def tps_number(line: str) -> int | None:
    """A register line (``01632 960001``, ``+44 1632 960001``, ``+44 (0)1632...``, ``0044...``)
    as the integer of its E.164 digits (441632960001); None when it is not a UK number."""
    text = _NUMBER_NOISE.sub("", line)
    if text.startswith("+44"):
        national = text[3:]
    elif text.startswith("0044"):
        national = text[4:]
    elif text.startswith("0"):
        national = text
    else:
        return None
    if national.startswith("0"):  # the trunk 0, also when written after +44 as (0)
        national = national[1:]
    if not _UK_NSN.fullmatch(national):
        return None
    return int(UK_CALLING_CODE + national)


def uk_number(e164: str) -> int | None:
    """A lead's E.164 phone as a register number, when it is a UK one; else None."""
    if not e164.startswith("+" + UK_CALLING_CODE):
        return None
    national = e164[1 + len(UK_CALLING_CODE) :]
    return int(e164[1:]) if _UK_NSN.fullmatch(national) else None


def normal_value(kind: str, value: str, *, region: str) -> str | None:
    """The normal form of a value of a known kind, None when it is not one."""
    text = value.strip()
    if not text:
        return None
    if kind == "email":
        return normalise_email(text)
    if kind == "phone":
        return normalise_phone(text, region)
    if kind == "postcode":
        return normalise_postcode(text)
    if kind == "lead_id":
        folded = text.lower()
        return folded if _LEAD_ID.fullmatch(folded) else None
    raise ValueError(f"unknown suppression kind {kind!r}")


def detect_value(value: str, *, region: str) -> tuple[str, str] | None:
    """(kind, normal form) of a value of any kind, or None when it is none of them.

    An ``@`` makes an e-mail; a ``first.last.ddmmyyyy`` shape a lead id; then a postcode
    (letters and digits in the UK pattern), then a phone number.
    """
    text = value.strip()
    if not text:
        return None
    if "@" in text:
        kind = "email"
    elif _LEAD_ID.fullmatch(text.lower()):
        kind = "lead_id"
    elif normalise_postcode(text) is not None:
        kind = "postcode"
    else:
        kind = "phone"
    normal = normal_value(kind, text, region=region)
    return (kind, normal) if normal is not None else None


def suppression_key(kind: str, normal: str) -> str:
    """What is hashed: the kind keeps a value of one kind from matching another."""
    return f"{kind}:{normal}"


def lead_keys(*, email: str, phone: str, lead_id: str, postcode: str) -> list[str]:
    """The suppression keys a lead carries (its values already in their normal forms)."""
    keys = []
    if email and "@" in email:
        keys.append(suppression_key("email", email.lower()))
    if phone.startswith("+"):
        keys.append(suppression_key("phone", phone))
    if lead_id:
        keys.append(suppression_key("lead_id", lead_id))
    if postcode and (normal := normalise_postcode(postcode)):
        keys.append(suppression_key("postcode", normal))
    return keys


__all__ = [
    "KINDS",
    "detect_value",
    "lead_keys",
    "normal_value",
    "suppression_key",
    "tps_number",
    "uk_number",
]
