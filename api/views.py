"""The API: upload, batch status, results download and pages, webhook status, health."""

import json

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.auth import allow, api_view, error
from api.idempotency import (
    idempotency_claim,
    idempotency_record,
    idempotency_release,
    request_fingerprint,
)
from api.metrics import metrics_registry
from api.results import PageRefused, page_query, results_page
from api.selectors import batch_status, health_checks, webhook_status
from batches.exports import iter_results_csv
from batches.selectors import batch_mapping_profiles, batch_reading_notes, batches_visible
from batches.services import BatchRefused, batch_create, lead_data_record
from customers.endpoints import EndpointChangeRefused, endpoint_change, endpoint_change_parse
from customers.errors import CustomerRefused
from customers.selectors import (
    customer_for_upload,
    endpoints_visible_to,
    user_sees_all_customers,
)
from valify.middleware import form_problem
from webhooks.validators import validate_webhook_url


def _batch_or_404(request: HttpRequest, batch_id: str):
    """The caller's batch, or None when unknown or out of scope (both answer 404)."""
    return _visible_batches(request).filter(batch_id=batch_id).first()


def _visible_batches(request: HttpRequest):
    """The caller's batches, for exports to hide other customers' duplicates."""
    scope = {"token_customer": request.token_customer} if request.token_customer else {}
    return batches_visible(user=request.user, **scope)


@allow("POST")
@api_view(permission="batches.upload_batch")
def upload_batch(request: HttpRequest) -> JsonResponse:
    problem = form_problem(request)  # a script's form, read now its token is known
    if problem:
        return error(400, "bad_request", problem)
    files = request.FILES.getlist("file")
    if not files:
        return error(400, "file_empty", "Send one or more files in the multipart field 'file'.")
    options = {
        "revalidate_existing": request.POST.get("revalidate_existing", "false").strip().lower(),
        "webhook_url": request.POST.get("webhook_url", "").strip(),
    }
    customer_slug = request.POST.get("customer", "").strip()
    if customer_slug:  # only when given, so fingerprints of earlier requests still match
        options["customer"] = customer_slug
    key = request.headers.get("Idempotency-Key", "").strip()
    if key and request.token_customer is not None:
        # Keys are scoped to (user, token's customer): one user's scoped tokens never collide.
        key = f"{request.token_customer.pk}:{key}"
    key = key[:255]
    claim = None
    if key:
        outcome = idempotency_claim(
            user=request.user,
            key=key,
            fingerprint=request_fingerprint(files=files, options=options),
        )
        if outcome.replay is not None:
            made = outcome.replay.body.get("batch_id")
            visible = batches_visible(user=request.user, token_customer=request.token_customer)
            if made and not visible.filter(batch_id=made).exists():
                # The batch is of a customer the caller has since stopped acting for.
                return error(
                    403,
                    "forbidden",
                    "This Idempotency-Key made a batch of a customer you no longer act for.",
                )
            return JsonResponse(outcome.replay.body, status=outcome.replay.status_code)
        if outcome.refusal == "in_progress":
            return error(
                409,
                "idempotency_in_progress",
                "A request with this Idempotency-Key is still being processed; retry shortly.",
            )
        if outcome.refusal == "reused":
            return error(
                422,
                "idempotency_key_reused",
                "This Idempotency-Key was used with other files or options; use a new key.",
            )
        claim = outcome.claim
    try:
        with transaction.atomic():
            status, body = _upload(request, files=files, options=options)
            if claim is not None:
                idempotency_record(claim=claim, status_code=status, body=body)
    except BaseException:
        if claim is not None:
            idempotency_release(claim=claim)
        raise
    return JsonResponse(body, status=status)


def _upload(request: HttpRequest, *, files: list, options: dict[str, str]) -> tuple[int, dict]:
    """Check the options and create the batch; return the answer's status and body."""
    revalidate, webhook_url = options["revalidate_existing"], options["webhook_url"]
    if revalidate not in ("true", "false", "1", "0", ""):
        return 400, {"error": "bad_request", "detail": "revalidate_existing must be true or false."}
    if webhook_url:
        try:
            validate_webhook_url(webhook_url)
        except ValidationError as refused:
            return 400, {"error": "bad_request", "detail": refused.messages[0]}
    try:
        customer = customer_for_upload(
            user=request.user,
            slug=options.get("customer", ""),
            token_customer=request.token_customer,
        )
    except CustomerRefused as refused:
        return 400, {"error": refused.code, "detail": refused.message}
    try:
        batch = batch_create(
            files=files,
            user=request.user,
            webhook_url=webhook_url,
            revalidate_existing=revalidate in ("true", "1"),
            customer=customer,
        )
    except BatchRefused as refused:
        return 400, {"error": refused.code, "detail": refused.message}
    lead_data_record(
        user=request.user,
        what="Uploaded through the API",
        rows=batch.total_leads,
        obj=batch,
        via="POST /upload_batch",
    )
    body = {
        "batch_id": batch.batch_id,
        "status": batch.status,
        "total_leads": batch.total_leads,
        "status_url": request.build_absolute_uri(
            reverse("api:batch_status", args=[batch.batch_id])
        ),
        # Which customer's endpoints and quotas apply: "default" when none was named.
        "customer": customer.slug,
    }
    profiles = batch_mapping_profiles(batch=batch)
    if profiles:  # as `import_batch --json`: the key is there only when a profile applied
        body["mapping_profiles"] = profiles
    notes = batch_reading_notes(batch=batch)
    if notes:  # likewise: rows left out (a totals line), a header found below a title
        body["notes"] = notes
    return 201, body


@allow("GET")
@api_view(permission="batches.view_batchjob")
def batch_status_view(request: HttpRequest, batch_id: str) -> JsonResponse:
    batch = _batch_or_404(request, batch_id)
    if batch is None:
        return error(404, "not_found", f"No batch {batch_id}.")
    return JsonResponse(batch_status(batch=batch))


@allow("GET")
@api_view(permission="batches.export_batch")
def download_results(request: HttpRequest, batch_id: str) -> StreamingHttpResponse:
    batch = _batch_or_404(request, batch_id)
    if batch is None:
        return error(404, "not_found", f"No batch {batch_id}.")
    leads = batch.leads.all()
    lead_data_record(
        user=request.user,
        what="Exported the results CSV",
        rows=leads.count(),
        obj=batch,
        via=f"GET /download_results/{batch.batch_id}",
    )
    response = StreamingHttpResponse(
        (
            line.encode("utf-8")
            for line in iter_results_csv(leads, visible_batches=_visible_batches(request))
        ),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{batch.batch_id}_results.csv"'
    return response


@allow("GET")
@api_view(permission="batches.export_batch")
def batch_leads(request: HttpRequest, batch_id: str) -> JsonResponse:
    """One page of a batch's results: {"results": [...], "next": URL or null, "batch_status"}."""
    batch = _batch_or_404(request, batch_id)
    if batch is None:
        return error(404, "not_found", f"No batch {batch_id}.")
    try:
        query = page_query(batch=batch, params=request.GET)
    except PageRefused as refused:
        return error(400, "bad_request", str(refused))
    page = results_page(batch=batch, query=query, visible_batches=_visible_batches(request))
    path = reverse("api:batch_leads", args=[batch.batch_id])
    lead_data_record(
        user=request.user,
        what="Read results through the API",
        rows=len(page.results),
        obj=batch,
        via=f"GET {path}",
    )
    next_url = None
    if page.cursor is not None:
        params = {"limit": query.limit, "cursor": page.cursor}
        if query.status:
            params["status"] = query.status
        next_url = request.build_absolute_uri(f"{path}?{urlencode(params)}")
    # A walk that ends while the batch runs has read only the rows split and validated so far.
    return JsonResponse({"results": page.results, "next": next_url, "batch_status": batch.status})


@allow("GET")
@api_view(permission="batches.view_batchjob")
def webhook_status_view(request: HttpRequest, batch_id: str) -> JsonResponse:
    batch = _batch_or_404(request, batch_id)
    if batch is None:
        return error(404, "not_found", f"No batch {batch_id}.")
    return JsonResponse(webhook_status(batch=batch))


@allow("PATCH")
@api_view(permission="customers.change_endpoint")
def endpoint_patch(request: HttpRequest, endpoint_id: int) -> JsonResponse:
    """Change an endpoint's rate and/or re-enable it: {"rate_limit": 15, "enabled": true}."""
    if (
        not endpoints_visible_to(request.user, token_customer=request.token_customer)
        .filter(pk=endpoint_id)
        .exists()
    ):
        return error(404, "not_found", f"No endpoint {endpoint_id}.")
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return error(400, "bad_request", "The body is not valid JSON.")
    try:
        change = endpoint_change_parse(body)
    except EndpointChangeRefused as refused:
        return error(400, "bad_request", str(refused))
    state = endpoint_change(
        endpoint_pk=endpoint_id,
        change=change,
        user=request.user,
        via=f"PATCH /api/endpoints/{endpoint_id}",
    )
    return JsonResponse(state)


@allow("GET")
@api_view(permission="batches.view_batchjob")
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition of the product's figures (protected like the API).

    The figures are every customer's together, so only for who may see every customer.
    """
    if request.token_customer is not None or not user_sees_all_customers(request.user):
        return error(
            403,
            "forbidden",
            "The metrics cover every customer: they need a user who sees every customer "
            "(and a token not limited to one customer).",
        )
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)


# It changes nothing: a POST to a wrong URL gets this JSON 404, not a CSRF page.
@csrf_exempt
def api_not_found(request: HttpRequest) -> JsonResponse:
    detail = f"No API endpoint at {request.path}."
    bare = request.path_info.rstrip("/")
    if bare != request.path_info and _is_api_view(bare):
        detail += f" The API's URLs end without a slash: {request.path.rstrip('/')}"
    return error(404, "not_found", detail)


def _is_api_view(path: str) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.namespace == "api" and match.func is not api_not_found


@allow("GET")
def health(request: HttpRequest) -> JsonResponse:
    """Liveness of the parts: 503 naming the failing part; a late sweep is only reported.

    Anonymous callers learn only `ok` or `error` per part; staff also get the error text.
    """
    return health_response(detail=request.user.is_staff)


def health_response(*, detail: bool) -> JsonResponse:
    checks, sweep_last_run = health_checks()
    ok = all(value == "ok" for value in checks.values())
    if not detail:
        checks = {part: "ok" if value == "ok" else "error" for part, value in checks.items()}
    body = {"status": "ok" if ok else "error", "checks": checks, "sweep_last_run": sweep_last_run}
    return JsonResponse(body, status=200 if ok else 503)
