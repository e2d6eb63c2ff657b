"""Write lead rows in bulk: insert a batch's rows, mark duplicates, store results, claim ids."""

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice

from django.db import connection

from leads.models import LeadOwner, LeadStatus, LeadValidation
from valify.bulk import copy_lines, copy_rows, copy_text, is_postgresql, update_from_rows

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
    "raw",
    "malformed",
    "status",
    "errors",
    "failure_reason",
    "created_at",
)
_BULK_CREATE_SIZE = 1000
# json.dumps() builds a new encoder on every call that passes options.
_encode_json = json.JSONEncoder(ensure_ascii=False).encode
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
)


# Plain (not frozen) dataclasses: one is built per row, and frozen ones cost 3x to build.
@dataclass
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


@dataclass
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


def leads_insert(*, batch_pk: int, leads: Iterable[NewLead], now: datetime) -> int:
    """Insert pending rows in bulk (COPY on PostgreSQL); return how many were written."""
    if is_postgresql():
        return copy_lines(
            LeadValidation._meta.db_table, INSERT_COLUMNS, _insert_lines(batch_pk, leads, now)
        )
    count = 0
    for block in batched(leads, _BULK_CREATE_SIZE):
        LeadValidation.objects.bulk_create(
            [
                LeadValidation(**dict(zip(INSERT_COLUMNS, row, strict=True)))
                for row in (_insert_row(batch_pk, lead, now) for lead in block)
            ]
        )
        count += len(block)
    return count


def batched(items: Iterable, size: int) -> Iterable[list]:
    """Yield lists of up to `size` items (itertools.batched arrived in Python 3.12)."""
    iterator = iter(items)
    while block := list(islice(iterator, size)):
        yield block


def _insert_lines(batch_pk: int, leads: Iterable[NewLead], now: datetime) -> Iterator[str]:
    """_insert_row()'s columns as COPY lines, written out directly: this runs once per row."""
    tail = f"\t{LeadStatus.PENDING}\t[]\t\t{now.isoformat()}"
    for lead in leads:
        a = copy_text((lead.source_file, lead.worksheet))
        b = copy_text(
            (
                lead.lead_id,
                lead.first_name,
                lead.last_name,
                lead.dob_raw,
                lead.email,
                lead.phone,
                lead.company,
                _encode_json(lead.raw),
                lead.malformed,
            )
        )
        yield f"{batch_pk}\t{lead.seq}\t{a}\t{lead.row_number}\t{b}{tail}"


def _insert_row(batch_pk: int, lead: NewLead, now: datetime) -> tuple:
    return (
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
        lead.raw,
        lead.malformed,
        LeadStatus.PENDING,
        [],
        "",
        now,
    )


def leads_claim(
    *, batch_pk: int, candidates: dict[str, int], take_over: bool
) -> dict[str, int | None]:
    """Claim lead ids for rows of this batch; return the owner row of each id not won.

    `candidates` maps lead id -> row pk. Claims race through the unique index; a lost
    claim is a cross-batch duplicate unless `take_over` (re-validate existing) is set.
    """
    if not candidates:
        return {}
    if is_postgresql():
        lost = _claim_postgresql(batch_pk, candidates)
    else:
        LeadOwner.objects.bulk_create(
            [
                LeadOwner(lead_id=lid, owner_id=pk, batch_id=batch_pk)
                for lid, pk in candidates.items()
            ],
            ignore_conflicts=True,
        )
        owners = LeadOwner.objects.filter(lead_id__in=list(candidates)).values_list(
            "lead_id", "owner_id"
        )
        lost = {lid: owner for lid, owner in owners if owner != candidates[lid]}
    if take_over and lost:
        for lid in lost:
            LeadOwner.objects.filter(lead_id=lid).update(
                owner_id=candidates[lid], batch_id=batch_pk
            )
        return {}
    return lost


def _claim_postgresql(batch_pk: int, candidates: dict[str, int]) -> dict[str, int | None]:
    table = LeadOwner._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _claims (lead_id text, owner_id bigint) "
            "ON COMMIT DELETE ROWS"
        )
        cursor.execute("DELETE FROM _claims")
    copy_rows("_claims", ("lead_id", "owner_id"), candidates.items())
    with connection.cursor() as cursor:
        # Sorted, so two batches claiming overlapping ids lock them in the same order.
        cursor.execute(
            f"INSERT INTO {table} (lead_id, owner_id, batch_id, claimed_at) "
            "SELECT lead_id, owner_id, %s, now() FROM _claims ORDER BY lead_id "
            "ON CONFLICT (lead_id) DO NOTHING RETURNING lead_id",
            [batch_pk],
        )
        won = {lead_id for (lead_id,) in cursor.fetchall()}
        if len(won) == len(candidates):
            return {}
        lost = [lead_id for lead_id in candidates if lead_id not in won]
        cursor.execute(
            f"SELECT lead_id, owner_id FROM {table} WHERE lead_id = ANY(%s)",
            [lost],
        )
        owners = dict(cursor.fetchall())
    # An id already owned by this very row (a chunk re-run after a lost commit) is not lost.
    return {lid: owners.get(lid) for lid in lost if owners.get(lid) != candidates[lid]}


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
        extra_params=[validated_at],
        where="t.status = 'pending'",
    )


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
    )


def leads_fail_pending(*, batch_pk: int, reason: str) -> int:
    """Give every row still pending the final status `failed` with a reason."""
    return LeadValidation.objects.filter(batch_id=batch_pk, status=LeadStatus.PENDING).update(
        status=LeadStatus.FAILED, failure_reason=reason[:255]
    )
