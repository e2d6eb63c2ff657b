"""URL configuration: the admin is the operator console."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Valify Batch"
admin.site.site_title = "Valify Batch"
admin.site.index_title = "Operator console"

batch_list = RedirectView.as_view(pattern_name="admin:batches_batchjob_changelist")

urlpatterns = [
    path("", batch_list),
    path("batch_admin", batch_list),
    path("admin/", admin.site.urls),
    path("", include("api.urls")),
]
