"""The results CSV: one row per lead in file order, safe to open in a spreadsheet."""

import codecs
import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from django.db.models import Exists, F, OuterRef, QuerySet, Value

from batches.selectors import supplier_headers
from leads.enrichment import enrichment_values
from leads.models import LeadValidation
from leads.rules import dob_text
from standardiser.decide import CORRECTED
from standardiser.selectors import ai_usages
from valify.timefmt import utc_iso
from webhooks.selectors import lead_webhook_summary

# The seed contract's columns, then the lead's own data, then what later features add, in
# the order DESIGN pins; the supplier's columns follow them.
CONTRACT_COLUMNS = (
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
LEAD_DATA_COLUMNS = ("reference", "postcode", "consent_at", "consent_source", "website")
FEATURE_COLUMNS = (
    "email_disposable",
    "email_role",
    "email_free",
    "email_suggestion",
    "company_domain",
    "company_name",
    "company_size",
    "company_location",
    "company_industry",
    "phone_type",
    "phone_tps",
    "tps_screened_at",
    "ai_corrected",
    "customer",
)
RESULT_COLUMNS = CONTRACT_COLUMNS + LEAD_DATA_COLUMNS + FEATURE_COLUMNS
# What a supplier's header equal to one of ours is given, so every column stays distinct.
SUPPLIER_SUFFIX = " (file)"
# duplicate_of when the holding lead is in a batch the reader may not see.
ANOTHER_CUSTOMER = "another customer"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> str:
    """Prefix a cell that a spreadsheet would read as a formula with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def supplier_columns(labels: Iterable[str]) -> list[str]:
    """Return the CSV header of each supplier column: its label, ` (file)` added if ours."""
    taken = set(RESULT_COLUMNS)
    headers = []
    for label in labels:
        header = label
        while header in taken:
            header += SUPPLIER_SUFFIX
        taken.add(header)
        headers.append(header)
    return headers


def results_queryset(
    leads: QuerySet[LeadValidation], *, visible_batches: QuerySet | None = None
) -> QuerySet:
    """Annotate leads with what the CSV needs, in file order, in one query.

    ``visible_batches`` are the batches the reader may see (None: all); a duplicate whose
    holder lies outside them names no batch (a subquery, not a query per lead).
    """
    if visible_batches is None:
        dup_shown = Value(True)
    else:
        dup_shown = Exists(visible_batches.filter(pk=OuterRef("duplicate_of__batch_id")))
    return (
        leads.order_by("batch_id", "seq")
        .annotate(
            public_batch_id=F("batch__batch_id"),
            customer_slug=F("batch__customer__slug"),
            dup_batch=F("duplicate_of__batch__batch_id"),
            dup_file=F("duplicate_of__source_file"),
            dup_row=F("duplicate_of__row_number"),
            dup_shown=dup_shown,
            ai_on=Exists(ai_usages().filter(batch_id=OuterRef("batch_id"))),
            **lead_webhook_summary(lead=OuterRef("pk")),
        )
        .values(
            "seq",
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
            "dup_shown",
            "webhook_status",
            "webhook_scheduled_for",
            "webhook_sent_at",
            "webhook_attempts",
            "reference",
            "postcode",
            "consent_at",
            "consent_source",
            "website",
            "extra",
            "enrichment",
            "ai",
            "ai_on",
            "customer_slug",
        )
    )


def feature_values(lead: dict) -> tuple[object, ...]:
    """Return the FEATURE_COLUMNS values of one lead: None for a step that did not run.

    The one place their values will come from (enrichment, phone screening, the AI
    standardiser, the customer), each read from what its step stores on the lead, typed
    (booleans as bool) and None when the step did not run.
    """
    values = enrichment_values(lead.get("enrichment"))
    if lead.get("ai_on"):
        values["ai_corrected"] = (lead.get("ai") or {}).get("outcome") == CORRECTED
    values["customer"] = lead.get("customer_slug")
    return tuple(values.get(name) for name in FEATURE_COLUMNS)


def result_values(lead: dict) -> tuple[object, ...]:
    """Return one annotated lead's RESULT_COLUMNS values, typed: the one row model of the
    CSV (result_row formats it) and the results API (result_object)."""
    duplicate_of = None
    if lead["dup_batch"]:
        duplicate_of = (
            f"{lead['dup_batch']}:{lead['dup_file']}:{lead['dup_row']}"
            if lead["dup_shown"]
            else ANOTHER_CUSTOMER
        )
    return (
        lead["lead_id"],
        lead["first_name"],
        lead["last_name"],
        dob_text(lead["dob"], lead["dob_raw"]),
        lead["email"],
        lead["phone"],
        lead["company"],
        lead["status"],
        list(lead["errors"] or ()),
        lead["validated_at"],
        lead["public_batch_id"],
        lead["source_file"],
        lead["worksheet"],
        lead["row_number"],
        duplicate_of,
        lead["webhook_status"],
        lead["webhook_scheduled_for"],
        lead["webhook_sent_at"],
        lead["webhook_attempts"],
        lead["reference"],
        lead["postcode"],
        lead["consent_at"],
        lead["consent_source"],
        lead["website"],
        *feature_values(lead),
    )


# How a typed value is written in the CSV, by its type; anything else (text, integers) as is.
_CSV_FORMATS = {
    type(None): lambda value: "",
    bool: lambda value: "true" if value else "false",
    datetime: utc_iso,
    list: ";".join,
}


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return utc_iso(value)
    return None if value == "" else value


def result_row(lead: dict, supplier_labels: Sequence[str] = ()) -> list[str]:
    """Format one annotated lead as a CSV row (formula-escaped)."""
    extra = lead["extra"] or {}
    cells = (
        *(
            value if (write := _CSV_FORMATS.get(type(value))) is None else write(value)
            for value in result_values(lead)
        ),
        *(extra.get(label) for label in supplier_labels),
    )
    return [escape_cell(cell) for cell in cells]


def result_object(lead: dict, supplier_labels: Sequence[str] = ()) -> dict[str, object]:
    """One annotated lead as the results API gives it: the CSV's columns as keys, JSON-typed
    (None for empty), the supplier's columns under `extra` by their labels."""
    values = zip(RESULT_COLUMNS, result_values(lead), strict=True)
    item = {name: _json_value(value) for name, value in values}
    extra = lead["extra"] or {}
    item["extra"] = {label: _json_value(extra.get(label)) for label in supplier_labels}
    return item


class _Line:
    """A file-like that hands back what csv.writer writes, for streaming."""

    def write(self, value: str) -> str:
        return value


def iter_results_csv(
    leads: QuerySet[LeadValidation], *, visible_batches: QuerySet | None = None
) -> Iterator[str]:
    """Yield the results CSV as text lines: BOM + header first, then one line per lead."""
    labels = supplier_headers(leads=leads)
    header = [escape_cell(name) for name in (*RESULT_COLUMNS, *supplier_columns(labels))]
    writer = csv.writer(_Line(), lineterminator="\r\n")
    yield codecs.BOM_UTF8.decode("utf-8") + writer.writerow(header)
    for lead in results_queryset(leads, visible_batches=visible_batches).iterator(chunk_size=2000):
        yield writer.writerow(result_row(lead, labels))


def write_results_csv(leads: QuerySet[LeadValidation], stream: Iterable) -> int:
    """Write the results CSV to a binary stream; return the number of lead rows."""
    count = -1
    for line in iter_results_csv(leads):
        stream.write(line.encode("utf-8"))
        count += 1
    return count
