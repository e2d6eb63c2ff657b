"""Write lead rows in bulk: insert a batch's rows, mark duplicates, store results, claim ids."""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection
from django.db.models import Exists, OuterRef, Subquery

from leads.models import LeadOwner, LeadStatus, LeadValidation

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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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
    if connection.vendor == "postgresql":
        return _leads_copy(batch_pk=batch_pk, leads=leads, now=now)
    count = 0
    block: list[LeadValidation] = []
    for lead in leads:
        block.append(
            LeadValidation(
                batch_id=batch_pk,
                seq=lead.seq,
                source_file=lead.source_file,
                worksheet=lead.worksheet,
                row_number=lead.row_number,
                lead_id=lead.lead_id,
                first_name=lead.first_name,
                last_name=lead.last_name,
                dob_raw=lead.dob_raw,
                email=lead.email,
                phone=lead.phone,
                company=lead.company,
                raw=lead.raw,
                malformed=lead.malformed,
            )
        )
        if len(block) >= _BULK_CREATE_SIZE:
            LeadValidation.objects.bulk_create(block)
            count += len(block)
            block = []
    if block:
        LeadValidation.objects.bulk_create(block)
        count += len(block)
    return count


def _leads_copy(*, batch_pk: int, leads: Iterable[NewLead], now: datetime) -> int:
    table = LeadValidation._meta.db_table
    sql = f"COPY {table} ({', '.join(INSERT_COLUMNS)}) FROM STDIN"
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for lead in leads:
            copy.write_row(
                (
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
                    json.dumps(lead.raw, ensure_ascii=False),
                    lead.malformed,
                    LeadStatus.PENDING,
                    "[]",
                    "",
                    now,
                )
            )
            count += 1
    return count


def leads_mark_in_batch_duplicates(*, batch_pk: int) -> int:
    """Link every repeat of a lead id to its first occurrence (lowest seq) in the batch."""
    same_id = LeadValidation.objects.filter(batch_id=batch_pk, lead_id=OuterRef("lead_id"))
    first = same_id.order_by("seq").values("pk")[:1]
    return (
        LeadValidation.objects.filter(batch_id=batch_pk)
        .exclude(lead_id="")
        .filter(Exists(same_id.filter(seq__lt=OuterRef("seq"))))
        .update(duplicate_of=Subquery(first))
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
    LeadOwner.objects.bulk_create(
        [LeadOwner(lead_id=lid, owner_id=pk, batch_id=batch_pk) for lid, pk in candidates.items()],
        ignore_conflicts=True,
    )
    owners = dict(
        LeadOwner.objects.filter(lead_id__in=list(candidates)).values_list("lead_id", "owner_id")
    )
    lost = {lid: owner for lid, owner in owners.items() if owner != candidates[lid]}
    if take_over and lost:
        for lid in lost:
            LeadOwner.objects.filter(lead_id=lid).update(
                owner_id=candidates[lid], batch_id=batch_pk
            )
        return {}
    return lost


def leads_store_outcomes(*, outcomes: Sequence[LeadOutcome], validated_at: datetime) -> int:
    """Write results to rows still pending; return how many rows changed (idempotent)."""
    if not outcomes:
        return 0
    table = LeadValidation._meta.db_table
    if connection.vendor == "postgresql":
        sql = f"""
            UPDATE {table} AS l SET
                status = v.status, errors = v.errors::jsonb, first_name = v.first_name,
                last_name = v.last_name, dob = v.dob, email = v.email, phone = v.phone,
                company = v.company, duplicate_of_id = v.dup, validated_at = %s
            FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[],
                        %s::date[], %s::text[], %s::text[], %s::text[], %s::bigint[])
                 AS v(id, status, errors, first_name, last_name, dob, email, phone, company, dup)
            WHERE l.id = v.id AND l.status = 'pending'
        """
        columns = list(zip(*(_outcome_row(o) for o in outcomes), strict=True))
        with connection.cursor() as cursor:
            cursor.execute(sql, [validated_at, *[list(c) for c in columns]])
            return cursor.rowcount
    sql = f"""
        UPDATE {table} SET status = %s, errors = %s, first_name = %s, last_name = %s, dob = %s,
            email = %s, phone = %s, company = %s, duplicate_of_id = %s, validated_at = %s
        WHERE id = %s AND status = 'pending'
    """
    params = []
    for outcome in outcomes:
        pk, *values = _outcome_row(outcome)
        params.append([*values, validated_at, pk])
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
        return cursor.rowcount


def _outcome_row(o: LeadOutcome) -> tuple:
    return (
        o.pk,
        o.status,
        json.dumps(o.errors),
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
