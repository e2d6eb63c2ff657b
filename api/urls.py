"""URLs of the API (paths are part of the contract)."""

from django.urls import path, re_path

from api import views

app_name = "api"
urlpatterns = [
    path("upload_batch", views.upload_batch, name="upload_batch"),
    path("batch_status/<str:batch_id>", views.batch_status_view, name="batch_status"),
    path("download_results/<str:batch_id>", views.download_results, name="download_results"),
    path("webhook_status/<str:batch_id>", views.webhook_status_view, name="webhook_status"),
    path("api/batches/<str:batch_id>/leads", views.batch_leads, name="batch_leads"),
    path("api/endpoints/<int:endpoint_id>", views.endpoint_patch, name="endpoint"),
    path("health", views.health, name="health"),
    path("metrics", views.metrics, name="metrics"),
    # Last: any other URL under the API's paths answers in the API's error shape, not with
    # an HTML page (a script's trailing slash, a batch_status without its id).
    re_path(
        r"^(?:api|upload_batch|batch_status|download_results|webhook_status|health|metrics)(?:/|$)",
        views.api_not_found,
    ),
]
