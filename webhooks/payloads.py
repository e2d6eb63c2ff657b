"""The one webhook body builder: what a delivery says about a validated lead, and its blanking."""

from dataclasses import dataclass
from datetime import datetime

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
    enrichment: dict | None = None  # {step: result} for an enriched (valid) lead


def build_payload(
    *,
    notice: LeadNotice,
    batch_id: str,
    validated_at: datetime | str,
    scheduled_for: datetime | str,
) -> dict:
    """Return the webhook body (DESIGN's keys first; extra keys after, never removed)."""
    return {
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
        "enrichment": notice.enrichment,
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
