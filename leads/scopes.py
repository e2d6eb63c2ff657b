"""Where a lead id, e-mail or phone is claimed once: per customer, or once for every batch.

DEDUPE_SCOPE=customer (the default) lets one person be delivered once to each customer;
`global` makes leads exclusive: one claim across all customers. An erased person's
tombstones are in EVERY_SCOPE: they asked not to be sold again, to anyone. Retention's
tombstones stay in the scope of the claim they replace, so a purge never takes a lead from
another customer.
"""

from django.conf import settings

PER_CUSTOMER = "customer"
EXCLUSIVE = "global"
DEDUPE_SCOPES = (PER_CUSTOMER, EXCLUSIVE)
DEFAULT_DEDUPE_SCOPE = PER_CUSTOMER

# The scope of every claim under DEDUPE_SCOPE=global.
GLOBAL_SCOPE = "global"
# Tombstones that match in every scope (erasure; claims left by batches deleted before
# claims had scopes).
EVERY_SCOPE = "*"


def claim_scope(*, customer_pk: int | None) -> str:
    """The scope in which a batch of this customer claims lead ids, e-mails and phones."""
    if settings.DEDUPE_SCOPE == EXCLUSIVE or customer_pk is None:
        return GLOBAL_SCOPE
    return customer_scope(customer_pk)


def customer_scope(customer_pk: int) -> str:
    # The key, not the slug: a slug may be renamed, a claim must not move.
    return f"customer:{customer_pk}"
