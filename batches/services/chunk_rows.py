"""The lead rows a chunk reads, and what the lead rules are given of each."""

from django.db.models import Case, QuerySet, TextField, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from leads.models import LeadValidation

ROW_FIELDS = (
    "pk",
    "seq",
    "status",
    "lead_id",
    "first_name",
    "last_name",
    "dob_raw",
    "email",
    "phone",
    "company",
    "malformed",
    "duplicate_of_id",
    "website",
    "postcode",
    "reference",
    "consent_at",
    "consent_source",
    "consent_text",
    "extra_json",
    "source_file",
    "worksheet",
    "row_number",
    "consent_given",
)


def lead_rows(leads: QuerySet[LeadValidation]) -> list[dict]:
    """These rows as dicts of ROW_FIELDS, in seq order."""
    return list(
        leads.order_by("seq")
        # The consent date as given, for telling an unreadable one from none: read only
        # where none was read, as it parses the row's whole `raw` JSON text.
        .annotate(
            consent_given=Case(
                When(consent_at__isnull=True, then=KeyTextTransform("consent_at", "raw"))
            )
        )
        # The supplier's columns as JSON text: they only pass through, into the payload.
        .annotate(extra_json=Cast("extra", TextField()))
        .values(*ROW_FIELDS)
    )


def rules_fields(row: dict) -> dict:
    """What validate_lead reads of a row: the date of birth and consent date as given."""
    return row | {"dob": row["dob_raw"], "consent_at": row["consent_at"] or row["consent_given"]}
