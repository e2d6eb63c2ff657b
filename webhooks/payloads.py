"""The one webhook body builder: what a delivery says about a validated lead, and its blanking."""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from valify.jsontext import JsonFragment
from valify.timefmt import utc_iso


# Plain (not frozen): a chunk builds one per lead, and frozen ones cost 3x to build.
@dataclass(slots=True)
class LeadNotice:
    """What the leads side hands the outbox about one validated lead.

    The webhooks app knows a lead only through this: it never reads the leads tables.
    """

    lead_pk: int
    lead_id: str
    first_name: str
    last_name: str
    dob: str  # dd/mm/yyyy, or the text given when it is not a date
    status: str
    errors: list[str]
    messages: list[str]  # a human message per error code, in the same order
    # The rest of the lead's data: "" (or None) when the file had none.
    email: str = ""  # normalised when valid, else as given
    phone: str = ""  # E.164 when valid, else as given
    company: str = ""
    website: str = ""  # the domain
    postcode: str = ""
    reference: str = ""
    source_file: str = ""
    worksheet: str = ""
    row_number: int = 0
    extra: dict | None = None  # the supplier's columns, non-empty values only
    # Or the same as JSON text, as the database returns it: it goes into the body undecoded.
    extra_json: str = ""
    consent_at: datetime | None = None
    consent_source: str = ""
    consent_text: str = ""
    customer: str = ""
    enrichment: dict | None = None  # {step: result} for an enriched (valid) lead
    ai_corrected: bool = False  # the AI standardiser read what the rules could not
    # A suppressed person: the customer learns the row was refused, not who it was.
    withheld: bool = False


EVENT_TYPE = "lead.validated"


def build_payload(
    *,
    notice: LeadNotice,
    batch_id: str,
    validated_at: datetime | str,
    scheduled_for: datetime | str,
) -> dict:
    """Return the webhook body (DESIGN's keys first; extra keys after, never removed).

    Encode it with valify.jsontext.json_text: an `extra_json` is in it as a JSON fragment.
    A `withheld` lead's body has the person's values null, as an erased one has.
    """
    body = {
        "id": notice.lead_id,
        "first_name": notice.first_name,
        "last_name": notice.last_name,
        "dob": notice.dob,
        "validation_status": notice.status,
        "validation_errors": notice.errors,
        "validation_timestamp": _iso(validated_at),
        "batch_id": batch_id,
        "webhook_scheduled_for": _iso(scheduled_for),
        "validation_messages": notice.messages,
        "type": EVENT_TYPE,
        "customer": notice.customer,
        "email": notice.email or None,
        "phone": notice.phone or None,
        "company": notice.company or None,
        "website": notice.website or None,
        "postcode": notice.postcode or None,
        "reference": notice.reference or None,
        "source": {
            "file": notice.source_file,
            "worksheet": notice.worksheet or None,
            "row": notice.row_number,
        },
        "extra": _extra(notice),
        "consent": _consent(notice),
        "enrichment": notice.enrichment,
        "ai_corrected": notice.ai_corrected,
    }
    return blank_payload(body) if notice.withheld else body


def _extra(notice: LeadNotice):
    if notice.extra_json and notice.extra_json != "{}":
        return JsonFragment(notice.extra_json)
    return notice.extra or None


def _consent(notice: LeadNotice) -> dict | None:
    """What the person agreed to, when and where; null without a readable consent date."""
    if notice.consent_at is None:
        return None
    text = notice.consent_text
    return {
        "at": utc_iso(notice.consent_at),
        "source": notice.consent_source or None,
        "text": text or None,
        # Lets a buyer show the wording it holds is the wording the person saw.
        "text_sha256": hashlib.sha256(text.encode()).hexdigest() if text else None,
    }


def _iso(value: datetime | str) -> str:
    return value if isinstance(value, str) else utc_iso(value)


# A payload's keys that hold the person's values: the first four always, the rest when present.
PERSONAL_KEYS = ("id", "first_name", "last_name", "dob")
OPTIONAL_PERSONAL_KEYS = (
    "email",
    "phone",
    "company",
    "website",
    "postcode",
    "reference",
    "extra",
    "consent",
    "enrichment",
)


def blank_payload(payload: dict) -> dict:
    """Return the payload with the person's values set to null (the rest as it was sent)."""
    blanked = {**payload, **dict.fromkeys(PERSONAL_KEYS)}
    for key in OPTIONAL_PERSONAL_KEYS:
        if key in blanked:
            blanked[key] = None
    return blanked


ERASED_MARK = "[erased]"


def text_without_person(text: str, payload: dict, also: Sequence[str] = ()) -> str:
    """``text`` with each of the payload's personal values (and ``also``'s) in it replaced
    by ERASED_MARK.

    For a receiver's rejection reason ("Duplicate in CRM: jo@example.com already exists"):
    what it says stays, and reasons still group ("... [erased] already exists").
    """
    values = [payload.get(key) for key in (*PERSONAL_KEYS, *OPTIONAL_PERSONAL_KEYS)]
    values += [*(payload.get("extra") or {}).values(), *also]
    # Longest first, so an e-mail goes whole before a name inside it.
    for value in sorted(
        {v for v in values if isinstance(v, str) and len(v) > 1}, key=len, reverse=True
    ):
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", ERASED_MARK, text, flags=re.IGNORECASE)
    return text


def resent_payload(payload: dict, *, original_msg_id: str) -> dict:
    """An operator's re-send of a delivery: the same body, saying which message it replaces.

    A re-send has a webhook-id of its own (it is a new message), so a receiver that
    de-duplicates by webhook-id and accepted the original would count the lead twice;
    `resend_of` is the original's webhook-id (of the first of a chain of re-sends).
    """
    return {**payload, "resend_of": payload.get("resend_of") or original_msg_id}
