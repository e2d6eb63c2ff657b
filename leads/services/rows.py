"""A batch's lead rows: insert them pending, store each chunk's outcomes, fail what is left."""

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection

from leads.enrichment.base import stored as stored_enrichment
from leads.models import LeadStatus, LeadValidation
from valify.bulk import insert_rows, update_from_rows
from valify.jsontext import json_text

INSERT_COLUMNS = (
    "batch_id",
    "seq",
    "source_file",
    "worksheet",
    "row_number",
    "lead_id",
    "first_name",
    "last_name",
    "dob_raw",
    "email",
    "phone",
    "company",
    "website",
    "postcode",
    "reference",
    "consent_at",
    "consent_source",
    "consent_text",
    "extra",
    "raw",
    "malformed",
    "status",
    "errors",
    "failure_reason",
    "created_at",
)
OUTCOME_COLUMNS = (
    ("status", "text"),
    ("errors", "jsonb"),
    ("first_name", "text"),
    ("last_name", "text"),
    ("dob", "date"),
    ("email", "text"),
    ("phone", "text"),
    ("company", "text"),
    ("duplicate_of_id", "bigint"),
    ("enrichment", "jsonb"),
    ("lead_id", "text"),
    ("ai", "jsonb"),
)


# Plain (not frozen) dataclasses: one is built per row, and frozen ones cost 3x to build.
@dataclass(slots=True)
class NewLead:
    """A row of a file as the split writes it: raw values, the lead id already computed."""

    seq: int
    source_file: str
    worksheet: str
    row_number: int
    lead_id: str
    first_name: str
    last_name: str
    dob_raw: str
    email: str
    phone: str
    company: str
    raw: dict
    malformed: str
    website: str = ""
    postcode: str = ""
    reference: str = ""
    consent_at: datetime | None = None
    consent_source: str = ""
    consent_text: str = ""
    extra: dict | None = None  # the supplier's columns, non-empty values only


@dataclass(slots=True)
class LeadOutcome:
    """What a chunk decided for one pending row."""

    pk: int
    status: str
    errors: list[str]
    first_name: str
    last_name: str
    dob: date | None
    email: str
    phone: str
    company: str
    duplicate_of_id: int | None
    enrichment: dict | None = None  # the enrichment steps' results, for a valid lead
    lead_id: str | None = None  # a new lead id (the AI standardiser's correction); None keeps it
    ai: dict | None = None  # what the AI standardiser did, for a row it was asked about


def leads_insert(*, batch_pk: int, leads: Iterable[NewLead], now: datetime) -> int:
    """Insert pending rows in bulk (COPY on PostgreSQL); return how many were written."""
    return insert_rows(LeadValidation, INSERT_COLUMNS, _insert_rows(batch_pk, leads, now))


def _insert_rows(batch_pk: int, leads: Iterable[NewLead], now: datetime) -> Iterator[tuple]:
    pending = LeadStatus.PENDING.value
    for lead in leads:
        yield (
            batch_pk,
            lead.seq,
            lead.source_file,
            lead.worksheet,
            lead.row_number,
            lead.lead_id,
            lead.first_name,
            lead.last_name,
            lead.dob_raw,
            lead.email,
            lead.phone,
            lead.company,
            lead.website,
            lead.postcode,
            lead.reference,
            lead.consent_at,
            lead.consent_source,
            lead.consent_text,
            json_text(lead.extra) if lead.extra else "{}",
            json_text(lead.raw),
            lead.malformed,
            pending,
            "[]",
            "",
            now,
        )


def leads_store_outcomes(*, outcomes: Sequence[LeadOutcome], validated_at: datetime) -> list[int]:
    """Write results to rows still pending; return the pks of the rows changed (idempotent).

    A row another run of the same chunk finalized first is not among them: the update waits
    for that run's commit, then finds the row no longer pending.
    """
    return update_from_rows(
        LeadValidation._meta.db_table,
        key="id",
        columns=OUTCOME_COLUMNS,
        rows=[_outcome_row(o) for o in outcomes],
        extra_set="validated_at = %s",
        sets={"lead_id": "lead_id = COALESCE(v.lead_id, t.lead_id)"},
        extra_params=[_adapt_datetime(validated_at)],
        where="t.status = 'pending'",
    )


def _adapt_datetime(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _outcome_row(o: LeadOutcome) -> tuple:
    return (
        o.pk,
        o.status,
        json.dumps(o.errors) if o.errors else "[]",  # most leads have none
        o.first_name,
        o.last_name,
        o.dob,
        o.email,
        o.phone,
        o.company,
        o.duplicate_of_id,
        json_text(stored_enrichment(o.enrichment)) if o.enrichment else "{}",
        o.lead_id,
        json_text(o.ai) if o.ai else "{}",
    )


def leads_fail_pending(*, batch_pk: int, reason: str) -> int:
    """Give every row still pending the final status `failed` with a reason."""
    return LeadValidation.objects.filter(batch_id=batch_pk, status=LeadStatus.PENDING).update(
        status=LeadStatus.FAILED, failure_reason=reason[:255]
    )
