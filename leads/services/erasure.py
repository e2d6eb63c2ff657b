"""Erasure's part in the leads app: blank a person's rows, turn lead-id claims into tombstones."""

from collections.abc import Iterable

from django.db.models import QuerySet

from leads.hashing import TOMBSTONE_PREFIX, lead_key_hashes
from leads.models import LeadOwner, LeadValidation
from valify.bulk import update_from_rows

# Tombstones looked up per query (well under both databases' parameter limits).
_LOOKUP_BLOCK = 2000

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


def lead_owners_tombstone(*, owners: QuerySet[LeadOwner]) -> int:
    """Replace these claims' lead ids by their keyed hash and empty their owner; return how many.

    In bulk: one read, one look-up of existing tombstones per block, one update. A claim
    whose tombstone exists already (the id was claimed again while being erased) is deleted
    instead: the tombstone keeps its place.
    """
    claims = list(owners.exclude(lead_id__startswith=TOMBSTONE_PREFIX).values_list("pk", "lead_id"))
    if not claims:
        return 0
    hashes = lead_key_hashes(lead_id for _, lead_id in claims)
    existing = _existing_tombstones(hashes.values())
    doubled = [pk for pk, lead_id in claims if hashes[lead_id] in existing]
    if doubled:
        LeadOwner.objects.filter(pk__in=doubled).delete()
    changed = update_from_rows(
        LeadOwner._meta.db_table,
        key="id",
        columns=(("lead_id", "text"),),
        rows=[(pk, hashes[lead_id]) for pk, lead_id in claims if hashes[lead_id] not in existing],
        extra_set="owner_id = NULL",
    )
    return len(changed) + len(doubled)


def _existing_tombstones(hashes: Iterable[str]) -> set[str]:
    wanted = sorted(set(hashes))
    found: set[str] = set()
    for start in range(0, len(wanted), _LOOKUP_BLOCK):
        block = wanted[start : start + _LOOKUP_BLOCK]
        found.update(LeadOwner.objects.filter(lead_id__in=block).values_list("lead_id", flat=True))
    return found
