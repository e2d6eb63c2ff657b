"""The seed endpoints: upload, batch status, results download, webhook status, health."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.auth import api_view, error
from api.metrics import metrics_registry
from api.models import IdempotentResponse
from api.selectors import batch_status, health_checks, webhook_status
from batches.exports import iter_results_csv
from batches.models import BatchJob
from batches.services import BatchRefused, batch_create, lead_data_record
from webhooks.validators import validate_webhook_url

IDEMPOTENCY_WINDOW = timedelta(hours=24)


def _batch_or_404(batch_id: str):
    return BatchJob.objects.filter(batch_id=batch_id).first()


@require_POST
@api_view(permission="batches.upload_batch")
def upload_batch(request: HttpRequest) -> JsonResponse:
    key = request.headers.get("Idempotency-Key", "").strip()[:255]
    if key:
        earlier = IdempotentResponse.objects.filter(
            user=request.user, key=key, created_at__gte=timezone.now() - IDEMPOTENCY_WINDOW
        ).first()
        if earlier is not None:
            return JsonResponse(earlier.body, status=earlier.status_code)
    files = request.FILES.getlist("file")
    if not files:
        return error(400, "file_empty", "Send one or more files in the multipart field 'file'.")
    revalidate = request.POST.get("revalidate_existing", "false").strip().lower()
    if revalidate not in ("true", "false", "1", "0", ""):
        return error(400, "bad_request", "revalidate_existing must be true or false.")
    webhook_url = request.POST.get("webhook_url", "").strip()
    if webhook_url:
        try:
            validate_webhook_url(webhook_url)
        except ValidationError as refused:
            return error(400, "bad_request", refused.messages[0])
    try:
        batch = batch_create(
            files=files,
            user=request.user,
            webhook_url=webhook_url,
            revalidate_existing=revalidate in ("true", "1"),
        )
    except BatchRefused as refused:
        return error(400, refused.code, refused.message)
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
    }
    if key:
        try:
            with transaction.atomic():
                IdempotentResponse.objects.update_or_create(
                    user=request.user, key=key, defaults={"status_code": 201, "body": body}
                )
        except IntegrityError:  # a concurrent twin stored its answer first
            pass
    return JsonResponse(body, status=201)


@require_GET
@api_view(permission="batches.view_batchjob")
def batch_status_view(request: HttpRequest, batch_id: str) -> JsonResponse:
    batch = _batch_or_404(batch_id)
    if batch is None:
        return error(404, "not_found", f"No batch {batch_id}.")
    return JsonResponse(batch_status(batch=batch))


@require_GET
@api_view(permission="batches.export_batch")
def download_results(request: HttpRequest, batch_id: str) -> StreamingHttpResponse:
    batch = _batch_or_404(batch_id)
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
        (line.encode("utf-8") for line in iter_results_csv(leads)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{batch.batch_id}_results.csv"'
    return response


@require_GET
@api_view(permission="batches.view_batchjob")
def webhook_status_view(request: HttpRequest, batch_id: str) -> JsonResponse:
    batch = _batch_or_404(batch_id)
    if batch is None:
        return error(404, "not_found", f"No batch {batch_id}.")
    return JsonResponse(webhook_status(batch=batch))


@require_GET
@api_view(permission="batches.view_batchjob")
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition of the product's figures (protected like the API)."""
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness of the parts: 503 naming the failing part; a late sweep is only reported."""
    checks, sweep_last_run = health_checks()
    ok = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if ok else "error", "checks": checks, "sweep_last_run": sweep_last_run}
    return JsonResponse(body, status=200 if ok else 503)
