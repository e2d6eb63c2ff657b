"""Erasure's part in the leads app: blank a person's rows, turn lead-id claims into tombstones."""

from collections.abc import Iterable, Sequence

from django.db.models import QuerySet

from leads.hashing import lead_key_hashes
from leads.models import LeadOwner, LeadValidation
from leads.services.tombstones import claims_tombstone

# What an erased row keeps: its place (batch, file, row), status and error codes.
BLANK_LEAD = {
    "lead_id": "",
    "first_name": "",
    "last_name": "",
    "dob": None,
    "dob_raw": "",
    "email": "",
    "phone": "",
    "company": "",
    "website": "",
    "postcode": "",
    "reference": "",
    "consent_at": None,
    "consent_source": "",
    "consent_text": "",
    "extra": {},
    "raw": {},
    "enrichment": {},  # an e-mail suggestion holds the address
    "ai": {},  # the names and dates the model read
}


def leads_erase(*, leads: QuerySet[LeadValidation]) -> int:
    """Blank every personal value of these rows, in one statement; return how many.

    The rows stay (the batch's counts and the results CSV keep their shape); the lead id
    lives on only as the keyed hash of its claim (`lead_owners_tombstone`).
    """
    return leads.update(**BLANK_LEAD)


def lead_owners_tombstone(*, owners: QuerySet[LeadOwner], every_scope: bool = False) -> int:
    """Replace these claims' lead ids by their keyed hash and empty their owner; return how many.

    Each stays in its scope (a purge), or with `every_scope` (an erasure) moves to every
    scope, tombstones of the person already there included. A claim whose tombstone exists
    already (the id was claimed again while being erased) is deleted instead: the tombstone
    keeps its place.
    """
    return claims_tombstone(owners, group=(), value="lead_id", every_scope=every_scope)


def lead_ids_tombstones_missing(
    *, lead_ids: Iterable[str], scopes: Sequence[str]
) -> list[tuple[str, str]]:
    """The (keyed hash, scope) tombstones these lead ids lack in these scopes."""
    hashes = set(lead_key_hashes(lid for lid in lead_ids if lid).values())
    wanted = {(key, scope) for key in hashes for scope in scopes}
    if not wanted:
        return []
    found = LeadOwner.objects.filter(lead_id__in=hashes, scope__in=scopes)
    return sorted(wanted - set(found.values_list("lead_id", "scope")))


def lead_ids_tombstone(*, lead_ids: Iterable[str], scopes: Sequence[str]) -> int:
    """Give these lead ids a tombstone in these scopes where they have none; return how many.

    An erased person who never held a claim (an invalid, suppressed or rejected lead) had
    no claim to turn into one, and would have been valid when uploaded again.
    """
    missing = lead_ids_tombstones_missing(lead_ids=lead_ids, scopes=scopes)
    LeadOwner.objects.bulk_create(
        [LeadOwner(lead_id=key, scope=scope) for key, scope in missing], ignore_conflicts=True
    )
    return len(missing)
