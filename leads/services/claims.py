"""Cross-batch claims: the unique lead id of each owner serialises batches running at once."""

from django.db import connection, transaction
from django.utils import timezone

from leads.models import LeadOwner
from valify.bulk import values_table


def leads_claim(
    *, batch_pk: int, candidates: dict[str, int], take_over: bool
) -> dict[str, int | None]:
    """Claim lead ids for rows of this batch; return the owner row of each id not won.

    `candidates` maps lead id -> row pk. Claims race through the unique index; a lost
    claim is a cross-batch duplicate unless `take_over` (re-validate existing) is set.
    """
    if not candidates:
        return {}
    table = LeadOwner._meta.db_table
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with transaction.atomic(savepoint=False):
        temp = values_table([("lead_id", "text"), ("owner_id", "bigint")], candidates.items())
        with connection.cursor() as cursor:
            # Sorted, so two batches claiming overlapping ids lock them in the same order.
            # (`WHERE true`: SQLite's parser needs it before ON CONFLICT.)
            cursor.execute(
                f"INSERT INTO {table} (lead_id, owner_id, batch_id, claimed_at) "
                f"SELECT lead_id, owner_id, %s, %s FROM {temp} WHERE true ORDER BY lead_id "
                "ON CONFLICT (lead_id) DO NOTHING RETURNING lead_id",
                [batch_pk, now],
            )
            won = {lead_id for (lead_id,) in cursor.fetchall()}
            if len(won) == len(candidates):
                return {}
            cursor.execute(
                f"SELECT o.lead_id, o.owner_id FROM {table} AS o "
                f"JOIN {temp} AS c ON c.lead_id = o.lead_id"
            )
            owners = dict(cursor.fetchall())
    lost = [lead_id for lead_id in candidates if lead_id not in won]
    # An id already owned by this very row (a chunk re-run after a lost commit) is not lost.
    lost_to = {lid: owners.get(lid) for lid in lost if owners.get(lid) != candidates[lid]}
    if take_over and lost_to:
        for lid in lost_to:
            LeadOwner.objects.filter(lead_id=lid).update(
                owner_id=candidates[lid], batch_id=batch_pk
            )
        return {}
    return lost_to
