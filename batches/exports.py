"""The results CSV: one row per lead in file order, safe to open in a spreadsheet."""

import codecs
import csv
from collections.abc import Iterable, Iterator

from django.db.models import F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from leads.models import LeadValidation
from leads.rules import dob_text
from valify.timefmt import utc_iso
from webhooks.models import Delivery

RESULT_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "dob",
    "email",
    "phone",
    "company",
    "validation_status",
    "validation_errors",
    "validated_at",
    "batch_id",
    "source_file",
    "worksheet",
    "row_number",
    "duplicate_of",
    "webhook_status",
    "webhook_scheduled_for",
    "webhook_sent_at",
    "webhook_attempts",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> str:
    """Prefix a cell that a spreadsheet would read as a formula with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def results_queryset(leads: QuerySet[LeadValidation]) -> QuerySet:
    """Annotate leads with what the CSV needs, in file order, in one query."""
    latest = Delivery.objects.filter(lead=OuterRef("pk")).order_by("-created_at", "-pk")
    attempts = (
        Delivery.objects.filter(lead=OuterRef("pk"))
        .order_by()
        .values("lead")
        .annotate(total=Sum("attempts"))
        .values("total")
    )
    return (
        leads.order_by("batch_id", "seq")
        .annotate(
            public_batch_id=F("batch__batch_id"),
            dup_batch=F("duplicate_of__batch__batch_id"),
            dup_file=F("duplicate_of__source_file"),
            dup_row=F("duplicate_of__row_number"),
            webhook_status=Subquery(latest.values("status")[:1]),
            webhook_scheduled_for=Subquery(latest.values("due_at")[:1]),
            webhook_sent_at=Subquery(latest.values("delivered_at")[:1]),
            webhook_attempts=Coalesce(Subquery(attempts, output_field=IntegerField()), Value(0)),
        )
        .values(
            "lead_id",
            "first_name",
            "last_name",
            "dob",
            "dob_raw",
            "email",
            "phone",
            "company",
            "status",
            "errors",
            "validated_at",
            "public_batch_id",
            "source_file",
            "worksheet",
            "row_number",
            "dup_batch",
            "dup_file",
            "dup_row",
            "webhook_status",
            "webhook_scheduled_for",
            "webhook_sent_at",
            "webhook_attempts",
        )
    )


def result_row(lead: dict) -> list[str]:
    """Format one annotated lead as a CSV row (formula-escaped)."""
    duplicate_of = (
        f"{lead['dup_batch']}:{lead['dup_file']}:{lead['dup_row']}" if lead["dup_batch"] else ""
    )
    cells = (
        lead["lead_id"],
        lead["first_name"],
        lead["last_name"],
        dob_text(lead["dob"], lead["dob_raw"]),
        lead["email"],
        lead["phone"],
        lead["company"],
        lead["status"],
        ";".join(lead["errors"] or ()),
        utc_iso(lead["validated_at"]),
        lead["public_batch_id"],
        lead["source_file"],
        lead["worksheet"],
        lead["row_number"],
        duplicate_of,
        lead["webhook_status"] or "",
        utc_iso(lead["webhook_scheduled_for"]),
        utc_iso(lead["webhook_sent_at"]),
        lead["webhook_attempts"],
    )
    return [escape_cell(cell) for cell in cells]


class _Line:
    """A file-like that hands back what csv.writer writes, for streaming."""

    def write(self, value: str) -> str:
        return value


def iter_results_csv(leads: QuerySet[LeadValidation]) -> Iterator[str]:
    """Yield the results CSV as text lines: BOM + header first, then one line per lead."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    yield codecs.BOM_UTF8.decode("utf-8") + writer.writerow(RESULT_COLUMNS)
    for lead in results_queryset(leads).iterator(chunk_size=2000):
        yield writer.writerow(result_row(lead))


def write_results_csv(leads: QuerySet[LeadValidation], stream: Iterable) -> int:
    """Write the results CSV to a binary stream; return the number of lead rows."""
    count = -1
    for line in iter_results_csv(leads):
        stream.write(line.encode("utf-8"))
        count += 1
    return count
