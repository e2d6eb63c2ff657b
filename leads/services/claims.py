"""Cross-batch claims: the unique (lead id, scope) of each owner serialises batches at once."""

from collections.abc import Mapping

from django.db import connection, transaction
from django.utils import timezone

from leads.hashing import lead_key_hashes
from leads.models import LeadOwner
from leads.scopes import EVERY_SCOPE
from valify.bulk import update_from_rows, values_table


def leads_claim(
    *, batch_pk: int, candidates: dict[str, int], take_over: bool, scope: str
) -> dict[str, int | None]:
    """Claim lead ids for rows of this batch in `scope`; return the owner row of each id not won.

    `candidates` maps lead id -> row pk. Claims race through the unique index; a lost
    claim is a cross-batch duplicate unless `take_over` (re-validate existing) is set, which
    takes over earlier batches' claims (a claim another row of this batch holds stays lost).
    An id whose keyed hash is a tombstone in this scope or in every scope (the person was
    erased or purged) is lost to no owner, `take_over` or not.
    """
    if not candidates:
        return {}
    table = LeadOwner._meta.db_table
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    hashes = lead_key_hashes(candidates)
    scopes = [scope, EVERY_SCOPE]
    with transaction.atomic(savepoint=False):
        temp = values_table(
            [("lead_id", "text"), ("owner_id", "bigint"), ("tombstone", "text")],
            [(lead_id, pk, hashes[lead_id]) for lead_id, pk in candidates.items()],
        )
        with connection.cursor() as cursor:
            # Sorted, so two batches claiming overlapping ids lock them in the same order.
            cursor.execute(
                f"INSERT INTO {table} (lead_id, scope, owner_id, batch_id, claimed_at) "
                f"SELECT lead_id, %s, owner_id, %s, %s FROM {temp} AS c "
                f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS t "
                "WHERE t.lead_id = c.tombstone AND t.scope IN (%s, %s)) "
                "ORDER BY lead_id ON CONFLICT (lead_id, scope) DO NOTHING RETURNING lead_id",
                [scope, batch_pk, now, *scopes],
            )
            won = {lead_id for (lead_id,) in cursor.fetchall()}
            if len(won) == len(candidates):
                return {}  # no tombstone stopped any of them either
            # Only now, and only for ids not won, look for tombstones: most chunks win
            # every id and never pay for this second walk of the index.
            cursor.execute(
                f"SELECT c.lead_id FROM {temp} AS c JOIN {table} AS o "
                "ON o.lead_id = c.tombstone AND o.scope IN (%s, %s)",
                scopes,
            )
            erased = {lead_id for (lead_id,) in cursor.fetchall()} - won
            cursor.execute(
                f"SELECT o.lead_id, o.id, o.owner_id, o.batch_id FROM {table} AS o "
                f"JOIN {temp} AS c ON c.lead_id = o.lead_id WHERE o.scope = %s",
                [scope],
            )
            owners = {lead_id: held for lead_id, *held in cursor.fetchall()}
    lost = [lead_id for lead_id in candidates if lead_id not in won and lead_id not in erased]
    nobody = (None, None, None)
    # An id already owned by this very row (a chunk re-run after a lost commit) is not lost.
    lost_to = {
        lid: owners.get(lid, nobody)
        for lid in lost
        if owners.get(lid, nobody)[1] != candidates[lid]
    }
    if take_over and lost_to:
        # Re-validating takes over earlier batches' claims, never another row's of this
        # batch (another chunk's): that row is the lead, this one its duplicate.
        taken = {lid: held for lid, held in lost_to.items() if held[2] != batch_pk}
        update_from_rows(
            table,
            key="id",
            columns=(("owner_id", "bigint"),),
            rows=[
                (claim_pk, candidates[lid])
                for lid, (claim_pk, _, _) in sorted(taken.items())
                if claim_pk is not None
            ],
            extra_set="batch_id = %s",
            extra_params=[batch_pk],
        )
        lost_to = {lid: held for lid, held in lost_to.items() if lid not in taken}
    return {**{lid: owner for lid, (_, owner, _) in lost_to.items()}, **dict.fromkeys(erased)}


def lead_owners_release(*, batch_pk: int, owners: Mapping[str, int]) -> int:
    """Give up the lead-id claims these rows of this batch hold; return how many went.

    `owners` maps lead id -> row pk: rows that claimed their id in this chunk and then
    turned out duplicates (of an e-mail's or phone's holder), so the id is free again.
    """
    if not owners:
        return 0
    deleted, _ = LeadOwner.objects.filter(
        batch_id=batch_pk, lead_id__in=sorted(owners), owner_id__in=sorted(owners.values())
    ).delete()
    return deleted
