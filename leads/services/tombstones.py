"""Claims turned into tombstones: the value replaced by its keyed hash, the holder emptied.

Shared by lead owners (lead id) and e-mail and phone claims (kind, value). A purge keeps
each tombstone in its claim's scope; an erasure moves it to every scope, its own earlier
tombstones included. Two claims that would become one tombstone leave one row.
"""

from collections.abc import Iterable

from django.db.models import Model, QuerySet

from leads.hashing import TOMBSTONE_PREFIX, lead_key_hashes
from leads.scopes import EVERY_SCOPE
from valify.bulk import update_from_rows

# Tombstones looked up per query (well under both databases' parameter limits).
_LOOKUP_BLOCK = 2000


def claims_to_tombstone(claims: QuerySet, *, value: str, every_scope: bool) -> QuerySet:
    """The claims of `claims` that tombstoning would change (the rest are tombstones already)."""
    hashed = {f"{value}__startswith": TOMBSTONE_PREFIX}
    return claims.exclude(scope=EVERY_SCOPE, **hashed) if every_scope else claims.exclude(**hashed)


def claims_tombstone(
    claims: QuerySet, *, group: tuple[str, ...], value: str, every_scope: bool
) -> int:
    """Tombstone these claims in bulk; return how many claims changed or went.

    `value` names the claimed column, `group` the columns that go with it in the unique key
    besides the scope (the kind of an e-mail or phone claim). One read, one look-up of
    existing tombstones per block, one delete, one update.
    """
    model: type[Model] = claims.model
    found = list(
        claims_to_tombstone(claims, value=value, every_scope=every_scope)
        .order_by("pk")
        .values_list("pk", *group, value, "scope")
    )
    if not found:
        return 0
    plain = lead_key_hashes(row[-2] for row in found if not row[-2].startswith(TOMBSTONE_PREFIX))
    existing = _existing(model, group, value, {plain.get(row[-2], row[-2]) for row in found})
    doubled, rows = [], []
    for pk, *kind, claimed, scope in found:
        key = (*kind, plain.get(claimed, claimed), EVERY_SCOPE if every_scope else scope)
        if key in existing:  # that tombstone is there already (or made just now): one row
            doubled.append(pk)
            continue
        existing.add(key)
        rows.append((pk, key[-2], key[-1]))
    if doubled:
        model.objects.filter(pk__in=doubled).delete()
    changed = update_from_rows(
        model._meta.db_table,
        key="id",
        columns=((value, "text"), ("scope", "text")),
        rows=rows,
        extra_set="owner_id = NULL",
    )
    return len(changed) + len(doubled)


def _existing(
    model: type[Model], group: tuple[str, ...], value: str, hashes: Iterable[str]
) -> set[tuple[str, ...]]:
    wanted = sorted(set(hashes))
    found: set[tuple[str, ...]] = set()
    for start in range(0, len(wanted), _LOOKUP_BLOCK):
        block = wanted[start : start + _LOOKUP_BLOCK]
        found.update(
            model.objects.filter(**{f"{value}__in": block}).values_list(*group, value, "scope")
        )
    return found
