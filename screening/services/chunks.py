"""A chunk's screening: TPS flags on its UK phones, suppression of its leads; in memory, two
reads, before the chunk claims anything."""

from __future__ import annotations

from django.conf import settings

from leads.enrichment import OK
from leads.models import LeadStatus
from screening.selectors import suppressed_keys, suppressions_apply, tps_listed
from screening.values import lead_keys, uk_number
from valify.timefmt import utc_iso

TPS_CODE = "phone_tps"
SUPPRESSED_CODE = "suppressed"


def _reject(result, code: str) -> None:
    result.status = LeadStatus.INVALID
    if code not in result.errors:
        result.errors = [*result.errors, code]


def chunk_screen(
    *, rows: list[dict], results: dict, enrichments: dict[int, dict], customer_pk: int | None
) -> set[int]:
    """Screen a chunk's validated leads (`results` and `enrichments` by row pk, changed here).

    Each enriched UK phone gets ``tps`` (on the current list or not) and ``screened_at`` (the
    list's file date) in its phone result; with TPS_REJECT a listed one makes the lead invalid
    (phone_tps). A lead carrying a suppressed e-mail, phone, lead id or postcode becomes
    invalid (suppressed). Return the pks made invalid here: they must not claim.
    """
    rejected: set[int] = set()
    phones = {
        pk: number
        for pk, enrichment in enrichments.items()
        if (enrichment.get("phone") or {}).get("status") == OK
        and (number := uk_number(results[pk].lead.phone)) is not None
    }
    answer = tps_listed(phones.values()) if phones else None
    for pk, enrichment in enrichments.items():
        phone = enrichment.get("phone")
        if not phone or phone.get("status") != OK:
            continue
        listed = None
        if pk in phones and answer is not None and answer.screened_at is not None:
            listed = phones[pk] in answer.listed
        phone["tps"] = listed
        phone["screened_at"] = utc_iso(answer.screened_at) if listed is not None else None
        if listed and settings.TPS_REJECT:
            _reject(results[pk], TPS_CODE)
            rejected.add(pk)

    if not suppressions_apply(customer_pk=customer_pk):
        # No list to match: a lead's keys would cost four keyed hashes each, for nothing.
        return rejected
    keys = {}
    for row in rows:
        result = results.get(row["pk"])
        if result is not None:
            lead = result.lead
            keys[row["pk"]] = lead_keys(
                email=lead.email, phone=lead.phone, lead_id=row["lead_id"], postcode=lead.postcode
            )
    found = suppressed_keys(
        customer_pk=customer_pk, keys=[key for ks in keys.values() for key in ks]
    )
    if found:
        for pk, carried in keys.items():
            if found.intersection(carried):
                _reject(results[pk], SUPPRESSED_CODE)
                rejected.add(pk)
    return rejected
