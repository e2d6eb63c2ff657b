"""The results API's pages: a batch's leads in file order, keyset-paginated on `seq`.

A cursor names the last `seq` served (signed, so it cannot be forged or edited), and the
next page reads the rows after it. Rows are created at upload and only change in place, so
walking a batch without a status filter gives every lead exactly once even while the batch
is still processing; with a filter, a lead matching it throughout the walk appears exactly
once, and one whose status changes during the walk at most once (never twice).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.core import signing
from django.db.models import QuerySet

from batches.exports import result_object, results_queryset
from batches.models import BatchJob
from batches.selectors import supplier_headers
from leads.models import LeadStatus

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
CURSOR_SALT = "api.results.cursor"


class PageRefused(ValueError):
    """The query cannot be answered: the message says which parameter and why."""


@dataclass(frozen=True)
class PageQuery:
    status: str  # empty: every status
    limit: int
    after: int  # the last `seq` already served; 0 before the first page


@dataclass(frozen=True)
class Page:
    results: list[dict]
    cursor: str | None  # for the page after this one; None on the last page


def page_query(*, batch: BatchJob, params: Mapping[str, str]) -> PageQuery:
    """Read `status`, `limit` and `cursor`; PageRefused names a bad one.

    Each is given at most once: `?status=valid&status=invalid` is refused, not read as
    its last value (a caller asking for two statuses would silently get one).
    """
    getlist = getattr(params, "getlist", None)
    for name in ("status", "limit", "cursor"):
        if getlist is not None and len(getlist(name)) > 1:
            raise PageRefused(f"{name} is given more than once; give it once.")
    status = params.get("status", "").strip()
    if status and status not in LeadStatus.values:
        allowed = ", ".join(LeadStatus.values)
        raise PageRefused(f"status must be one of {allowed}; got {status[:50]!r}.")
    raw_limit = params.get("limit", "").strip() or str(DEFAULT_LIMIT)
    try:
        limit = int(raw_limit)
    except ValueError:
        raise PageRefused(f"limit must be an integer from 1 to {MAX_LIMIT}.") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise PageRefused(f"limit must be an integer from 1 to {MAX_LIMIT}; got {limit}.")
    after = 0
    cursor = params.get("cursor", "").strip()
    if cursor:
        try:
            data = signing.loads(cursor, salt=CURSOR_SALT)
        except signing.BadSignature:
            raise PageRefused("cursor is not one this API gave; use the `next` URL.") from None
        if data.get("b") != batch.batch_id or data.get("s") != status:
            raise PageRefused("cursor belongs to another batch or status; use the `next` URL.")
        after = data["a"]
    return PageQuery(status=status, limit=limit, after=after)


def results_page(
    *, batch: BatchJob, query: PageQuery, visible_batches: QuerySet | None = None
) -> Page:
    """Read one page of the batch's leads as result objects: one query for the leads.

    One row more than the limit is read to learn whether another page follows.
    """
    leads = batch.leads.all()
    labels = supplier_headers(leads=leads)
    rows = leads.filter(seq__gt=query.after)
    if query.status:
        rows = rows.filter(status=query.status)
    found = list(results_queryset(rows, visible_batches=visible_batches)[: query.limit + 1])
    page = found[: query.limit]
    cursor = None
    if len(found) > query.limit:
        last = {"b": batch.batch_id, "s": query.status, "a": page[-1]["seq"]}
        cursor = signing.dumps(last, salt=CURSOR_SALT, compress=True)
    return Page(results=[result_object(lead, labels) for lead in page], cursor=cursor)
