"""Cross-batch claims of e-mails and phones: the first valid lead to claim one holds it.

With DEDUPE_ON_EMAIL / DEDUPE_ON_PHONE a chunk claims, after the lead ids, the normalised
e-mail and E.164 phone of each lead still valid, in the batch's scope (DEDUPE_SCOPE). The
unique (kind, value, scope) serialises batches running at once exactly like lead ids: sorted
inserts, ON CONFLICT DO NOTHING, in the chunk's transaction. A lead that loses any of its
values is a duplicate of that value's holder, and gives up what it won in the same chunk
(its other values and its lead id), so a duplicate never holds anything nor blocks another
lead. Re-validating batches only lose to tombstones, and then keep their lead id: it may
have been taken over from an earlier holder, whose claim must not vanish.
"""

from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from leads.hashing import lead_key_hashes
from leads.models import ContactKind, LeadContactClaim
from leads.rules import CleanLead, normalise_email, normalise_phone
from leads.scopes import EVERY_SCOPE
from leads.services.claims import lead_owners_release
from leads.services.tombstones import claims_tombstone
from valify.bulk import values_table


def leads_claim_contacts(
    *,
    batch_pk: int,
    leads: Iterable[tuple[int, str, CleanLead]],
    take_over: bool,
    scope: str,
    on_email: bool | None = None,
    on_phone: bool | None = None,
) -> dict[int, int | None]:
    """Claim the e-mails and phones of valid leads in `scope`; return the holder of each loser.

    `leads` are (row pk, lead id, cleaned lead) of the leads still valid after their lead-id
    claim; it is not read at all with both flags off. A lead whose value is already held by
    another lead is lost to that holder (the e-mail's holder before the phone's), and one
    whose value is the tombstone of an erased or purged person to no one (None). A lost lead
    keeps no claim it made here: neither its other values nor, unless `take_over`, its lead
    id. With `take_over` (re-validate existing leads) the lead takes over the values leads
    of earlier batches hold; only tombstones and other leads of this batch still win.
    """
    # The batch customer's flags when given, else DEDUPE_ON_EMAIL / DEDUPE_ON_PHONE.
    on_email = settings.DEDUPE_ON_EMAIL if on_email is None else on_email
    on_phone = settings.DEDUPE_ON_PHONE if on_phone is None else on_phone
    if not (on_email or on_phone):
        return {}
    region = settings.PHONE_DEFAULT_REGION
    keys, lead_ids = [], {}
    for pk, lead_id, lead in leads:
        lead_ids[pk] = lead_id
        if on_email and (email := _valid_email(lead)):
            keys.append((ContactKind.EMAIL.value, email, pk))
        if on_phone and (phone := _valid_phone(lead, region)):
            keys.append((ContactKind.PHONE.value, phone, pk))
    if not keys:
        return {}
    # Sorted, so two batches claiming overlapping values lock them in the same order; and
    # each lead's e-mail comes before its phone.
    keys.sort()
    with transaction.atomic(savepoint=False):
        lost, won = _claim(batch_pk, scope, keys, take_over)
        if lost:
            # Re-validating, a lead keeps its lead id: it may have been taken over.
            _release(won, lost, {} if take_over else lead_ids, batch_pk)
    return lost


def _claim(
    batch_pk: int, scope: str, keys: list[tuple[str, str, int]], take_over: bool
) -> tuple[dict[int, int | None], list[tuple[int, int]]]:
    """Insert the claims; return (lost lead -> holder, (claim id, lead) of each claim won)."""
    table = LeadContactClaim._meta.db_table
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    hashes = lead_key_hashes({value for _, value, _ in keys})
    temp = values_table(
        [("kind", "text"), ("value", "text"), ("owner_id", "bigint"), ("tombstone", "text")],
        [(kind, value, pk, hashes[value]) for kind, value, pk in keys],
    )
    with connection.cursor() as cursor:
        # A purged holder's tombstone counts in its scope, an erased person's in every one.
        cursor.execute(
            f"SELECT DISTINCT c.owner_id FROM {temp} AS c JOIN {table} AS t "
            "ON t.kind = c.kind AND t.value = c.tombstone AND t.scope IN (%s, %s)",
            [scope, EVERY_SCOPE],
        )
        erased = sorted(pk for (pk,) in cursor.fetchall())
        skip = f"c.owner_id NOT IN ({', '.join(['%s'] * len(erased))})" if erased else "1 = 1"
        cursor.execute(
            f"INSERT INTO {table} (scope, kind, value, owner_id, batch_id, claimed_at) "
            f"SELECT %s, kind, value, owner_id, %s, %s FROM {temp} AS c WHERE {skip} "
            "ORDER BY kind, value, owner_id "
            "ON CONFLICT (kind, value, scope) DO NOTHING RETURNING id, owner_id",
            [scope, batch_pk, now, *erased],
        )
        won = cursor.fetchall()
        lost: dict[int, int | None] = dict.fromkeys(erased)
        if not erased and len(won) == len(keys):
            return lost, won
        cursor.execute(
            f"SELECT t.kind, t.value, t.owner_id, t.batch_id FROM {table} AS t "
            f"JOIN {temp} AS c ON t.kind = c.kind AND t.value = c.value WHERE t.scope = %s",
            [scope],
        )
        holders = {(kind, value): (owner, batch) for kind, value, owner, batch in cursor.fetchall()}
    taken, skipped = [], set(erased)
    for kind, value, pk in keys:
        if pk in skipped:  # erased: claims nothing, takes nothing over
            continue
        holder, holder_batch = holders.get((kind, value), (None, None))
        # A value already held by this very lead (a chunk re-run after a lost commit) is kept.
        if holder == pk:
            continue
        # Re-validating takes over earlier batches' values, never another lead's of this one.
        if take_over and holder_batch != batch_pk:
            taken.append((kind, value, pk))
        else:
            lost.setdefault(pk, holder)
    if taken:
        _take_over(taken, scope, batch_pk)
    return lost, won


def _take_over(taken: list[tuple[str, str, int]], scope: str, batch_pk: int) -> None:
    table = LeadContactClaim._meta.db_table
    temp = values_table([("kind", "text"), ("value", "text"), ("owner_id", "bigint")], taken)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET owner_id = c.owner_id, batch_id = %s FROM {temp} AS c "
            "WHERE t.kind = c.kind AND t.value = c.value AND t.scope = %s",
            [batch_pk, scope],
        )


def _release(
    won: list[tuple[int, int]],
    lost: dict[int, int | None],
    lead_ids: dict[int, str],
    batch_pk: int,
) -> None:
    """Give up what lost leads won in this chunk: their other values and their lead ids.

    Only the claims this very statement inserted are deleted (by id), so a concurrent run
    of the same chunk never loses one it committed.
    """
    mine = sorted(claim_pk for claim_pk, owner in won if owner in lost)
    if mine:
        LeadContactClaim.objects.filter(pk__in=mine).delete()
    lead_owners_release(
        batch_pk=batch_pk, owners={lead_ids[pk]: pk for pk in lost if lead_ids.get(pk)}
    )


def _valid_email(lead: CleanLead) -> str:
    """The lead's e-mail, normalised, when it is valid (a rule list may not check it)."""
    if not lead.email or lead.email_valid is False:
        return ""
    return lead.email if lead.email_valid else normalise_email(lead.email) or ""


def _valid_phone(lead: CleanLead, region: str) -> str:
    """The lead's phone in E.164, when it is valid."""
    if not lead.phone or lead.phone_valid is False:
        return ""
    return lead.phone if lead.phone_valid else normalise_phone(lead.phone, region) or ""


def contact_claims_tombstone(
    *, claims: QuerySet[LeadContactClaim], every_scope: bool = False
) -> int:
    """Replace these claims' values by their keyed hash and empty their holder; return how many.

    Like `lead_owners_tombstone`: in their own scope (a purge), or with `every_scope` (an
    erasure) in every scope; a claim whose tombstone exists already there is deleted instead.
    """
    return claims_tombstone(claims, group=("kind",), value="value", every_scope=every_scope)
