"""The batch filter of the leads and deliveries lists."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import RequestFactory

from batches.admin_filters import BatchFilter
from batches.models import BatchJob
from leads.models import LeadValidation
from tests.webhooks.factories import make_batch
from webhooks.admin import DeliveryBatchFilter
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db


def offered(model, params: dict) -> tuple[str, list[str]]:
    """The batch filter's parameter on ``model``'s admin list, and the batch ids it offers."""
    model_admin = admin.site.get_model_admin(model)
    [filter_class] = [f for f in model_admin.list_filter if f in (BatchFilter, DeliveryBatchFilter)]
    request = RequestFactory().get("/", params)
    request.user = User(is_superuser=True, is_active=True)
    found = filter_class(request, dict(request.GET.lists()), model, model_admin)
    return found.parameter_name, [value for value, _label in found.lookup_choices]


@pytest.mark.parametrize(
    ("model", "parameter"), [(LeadValidation, "batch"), (Delivery, "batch__batch_id")]
)
def test_batch_filter_offers_recent_batches_and_the_linked_one(model, parameter):
    oldest = make_batch()
    for _ in range(BatchFilter.recent):
        make_batch()
    newest = BatchJob.objects.order_by("-created_at", "-pk").first()

    name, recent = offered(model, {})
    _, linked = offered(model, {parameter: oldest.batch_id})

    assert name == parameter
    assert len(recent) == BatchFilter.recent and oldest.batch_id not in recent
    assert newest.batch_id in recent
    assert linked == [oldest.batch_id, *recent]
