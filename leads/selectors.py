"""Lead reads: the rows and claims of one person, for erasure; enrichment counts."""

from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet

from leads.hashing import TOMBSTONE_PREFIX, lead_key_hashes
from leads.models import ContactKind, LeadContactClaim, LeadOwner, LeadValidation
from leads.rules import normalise_email
from leads.scopes import EVERY_SCOPE


def email_key(address: str) -> str:
    """An address as lead rows store it: normalised when valid, else trimmed as given."""
    return normalise_email(address) or address.strip()


def leads_of_person(
    *, lead_id: str = "", email: str = "", batch_pks: QuerySet
) -> QuerySet[LeadValidation]:
    """The rows of one person in the batches `batch_pks` (a query of batch pks).

    By lead id, the rows with that id. By e-mail, the rows with that address (compared
    without case, as invalid addresses are stored as given) and every row sharing a lead id
    with one of them: the same name and birth date is the same person.
    """
    rows = LeadValidation.objects.filter(batch_id__in=batch_pks)
    if lead_id:
        return rows.filter(lead_id=lead_id)
    # Found first through lead_email_idx (its condition excludes rows with no e-mail), then
    # by pk and lead id: one condition with an OR across both read the whole table.
    by_email = rows.exclude(email="").filter(email__iexact=email_key(email))
    found = list(by_email.values_list("pk", "lead_id"))
    lead_ids = {found_id for _, found_id in found if found_id}
    return rows.filter(Q(pk__in=[pk for pk, _ in found]) | Q(lead_id__in=lead_ids))


def _with_tombstones(values: Iterable[str]) -> list[str]:
    """The values and their keyed hashes: a purge's tombstones of them are theirs too."""
    wanted = {value for value in values if value}
    return sorted(wanted | set(lead_key_hashes(wanted).values()))


def lead_owners_of_person(
    *, lead_ids: Iterable[str], batch_pks: QuerySet | None = None
) -> QuerySet[LeadOwner]:
    """The lead-id claims an erasure of one person turns into tombstones.

    Their claims in every scope, and the tombstones a purge left of them in one scope; not
    their tombstones in every scope already. With `batch_pks` (an erasure within some
    batches), only the claims those batches hold.
    """
    owners = LeadOwner.objects.filter(lead_id__in=_with_tombstones(lead_ids)).exclude(
        scope=EVERY_SCOPE, lead_id__startswith=TOMBSTONE_PREFIX
    )
    return owners if batch_pks is None else owners.filter(batch_id__in=batch_pks)


def contact_claims_of_person(
    *,
    lead_pks: Iterable[int],
    emails: Iterable[str],
    phones: Iterable[str],
    batch_pks: QuerySet | None = None,
) -> QuerySet[LeadContactClaim]:
    """The e-mail and phone claims of one person: held by their rows, or of their values.

    By value too, since a claim of their e-mail or phone may be held by a row the eraser
    cannot see; values are compared as claimed (normalised e-mail, E.164 phone), and as a
    purge's tombstones of them. Not their tombstones in every scope already. With
    `batch_pks` (an erasure within some batches), only the claims those batches hold.
    """
    claims = LeadContactClaim.objects.filter(
        Q(owner_id__in=sorted(set(lead_pks)))
        | Q(kind=ContactKind.EMAIL, value__in=_with_tombstones(emails))
        | Q(kind=ContactKind.PHONE, value__in=_with_tombstones(phones))
    ).exclude(scope=EVERY_SCOPE, value__startswith=TOMBSTONE_PREFIX)
    return claims if batch_pks is None else claims.filter(batch_id__in=batch_pks)


def lead_enrichment_counts(*, batch_pk: int) -> dict[str, int]:
    """How many of a batch's leads the e-mail step found disposable, role and free-mail, and
    the company provider found a company for, found none for, or failed on."""
    flags = {"disposable": "disposable", "role": "role", "free_mail": "free"}
    provider = {
        "company_found": Q(enrichment__company_provider__status="ok"),
        "company_not_found": Q(
            enrichment__company_provider__status="skipped",
            enrichment__company_provider__reason="not_found",
        ),
        "company_failed": Q(enrichment__company_provider__status="failed"),
    }
    return LeadValidation.objects.filter(batch_id=batch_pk).aggregate(
        **{
            name: Count("pk", filter=Q(**{f"enrichment__email__{key}": True}))
            for name, key in flags.items()
        },
        **{name: Count("pk", filter=found) for name, found in provider.items()},
    )


def leads_maybe_asked_ai(leads: QuerySet[LeadValidation]) -> QuerySet[LeadValidation]:
    """Those of these rows the AI standardiser may have been asked about: its answer stored
    (`ai` names the model), or not stored (a cancelled batch, a failed chunk) on a row the
    split formed no lead id for, the only rows it asks about."""
    return leads.filter(Q(ai__has_key="model") | Q(lead_id=""))
