"""Retention's part in the leads app: delete a range of a batch's rows, keep hashed tombstones."""

from django.db import connection, transaction
from django.db.models import QuerySet

from leads.models import LeadContactClaim, LeadOwner, LeadValidation
from leads.services.contacts import contact_claims_tombstone
from leads.services.erasure import lead_owners_tombstone


def leads_in_range(*, batch_pk: int, start: int, stop: int) -> QuerySet[LeadValidation]:
    """The rows of a batch with start <= seq < stop."""
    return LeadValidation.objects.filter(batch_id=batch_pk, seq__gte=start, seq__lt=stop)


def leads_purge_range(*, batch_pk: int, start: int, stop: int) -> tuple[int, int, int]:
    """Delete the rows with start <= seq < stop; return (deleted, lead ids, contacts tombstoned).

    Links to these rows are emptied first, in bulk: lead owners and e-mail and phone claims
    point here without a database constraint (they stay as tombstones, the lead id or value
    replaced by its keyed hash), and `duplicate_of` has one. The rows are
    then deleted by one plain statement, rather than through Django's collector, which
    would load them to find those same links. Other apps' links (deliveries) are the
    caller's to empty beforehand, in the same transaction.
    """
    ids = leads_in_range(batch_pk=batch_pk, start=start, stop=stop).values("pk")
    with transaction.atomic():
        tombstoned = lead_owners_tombstone(owners=LeadOwner.objects.filter(owner_id__in=ids))
        contacts = contact_claims_tombstone(
            claims=LeadContactClaim.objects.filter(owner_id__in=ids)
        )
        LeadValidation.objects.filter(duplicate_of_id__in=ids).update(duplicate_of=None)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {LeadValidation._meta.db_table} "
                "WHERE batch_id = %s AND seq >= %s AND seq < %s",
                [batch_pk, start, stop],
            )
            deleted = cursor.rowcount
    return deleted, tombstoned, contacts
