"""The results CSV's webhook columns follow each lead's latest delivery once sent."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from batches import services
from batches.exports import iter_results_csv
from batches.services.inline import batch_process_inline
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import deliveries_resend, deliveries_sweep

pytestmark = pytest.mark.django_db

CSV = (
    b"first_name,last_name,dob\nJohn,Smith,15/03/1990\nJos\xc3\xa9,N\xc3\xba\xc3\xb1ez,01/01/1980\n"
)


def exported(batch) -> list[dict]:
    text = "".join(iter_results_csv(batch.leads.all()))
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_webhook_columns_after_delivery_failure_and_resend(sending, receiver):
    sending.WEBHOOK_DELAY_SECONDS = 0
    sending.WEBHOOK_RETRY_SCHEDULE = "0"
    batch = services.batch_create(files=[SimpleUploadedFile("crm.csv", CSV)], queue=False)
    batch = batch_process_inline(batch=batch)
    answers = iter([(204, {}, b""), (500, {}, b""), (500, {}, b""), (204, {}, b"")])
    receiver.set_responder(lambda request: next(answers))

    deliveries_sweep()  # John delivered; José fails once...
    deliveries_sweep()  # ...and for good (one retry)
    john, jose = exported(batch)
    assert john["webhook_status"] == "delivered"
    assert john["webhook_sent_at"].endswith("Z") and john["webhook_attempts"] == "1"
    assert jose["webhook_status"] == "failed"
    assert (jose["webhook_sent_at"], jose["webhook_attempts"]) == ("", "2")

    deliveries_resend(deliveries=Delivery.objects.filter(status=DeliveryStatus.FAILED))
    deliveries_sweep()

    john, jose = exported(batch)
    assert jose["webhook_status"] == "delivered"  # the latest delivery: the re-send
    assert jose["webhook_sent_at"].endswith("Z")
    assert jose["webhook_attempts"] == "3"  # attempts of all its deliveries
    assert jose["webhook_scheduled_for"] >= john["webhook_scheduled_for"]
