"""Webhook reads: delivery counts and the status groups they are read with."""

import pytest

from tests.webhooks.factories import make_batch, make_deliveries
from webhooks.models import DUE_STATUSES, FINAL_STATUSES, OPEN_STATUSES, DeliveryStatus
from webhooks.selectors import delivery_status_counts


def test_every_status_is_either_open_or_final_and_due_ones_are_open():
    assert set(OPEN_STATUSES) | set(FINAL_STATUSES) == set(DeliveryStatus.values)
    assert not set(OPEN_STATUSES) & set(FINAL_STATUSES)
    assert set(DUE_STATUSES) == set(OPEN_STATUSES) - {DeliveryStatus.SENDING}


@pytest.mark.django_db
def test_delivery_status_counts_name_every_status_and_keep_to_the_batch():
    batch = make_batch()
    make_deliveries(2, batch=batch, status=DeliveryStatus.DELIVERED)
    make_deliveries(1, batch=batch, status=DeliveryStatus.FAILED)
    make_deliveries(3, status=DeliveryStatus.SCHEDULED)  # another batch

    counts = delivery_status_counts(batch_pk=batch.pk)

    assert counts == dict.fromkeys(DeliveryStatus.values, 0) | {
        DeliveryStatus.DELIVERED: 2,
        DeliveryStatus.FAILED: 1,
    }
    assert delivery_status_counts()[DeliveryStatus.SCHEDULED] == 3
