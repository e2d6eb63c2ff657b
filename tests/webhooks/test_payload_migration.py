"""Upgrading to bodies stored as sent (webhooks 0005): open deliveries get the sent form."""

import importlib

import pytest
from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast

from tests.migrating import back_to_the_latest, migrate  # noqa: F401 (fixture)
from tests.webhooks.factories import make_batch
from webhooks.models import Delivery
from webhooks.signing import payload_bytes

BEFORE = [("webhooks", "0004_delivery_customer_endpoint")]
AFTER = [("webhooks", "0005_payload_json_text")]
PAYLOAD = {"id": "ann.lee.01011980", "first_name": "Ann", "extra": {"Zeta": "z", "Ä": "ä"}}


def stored_payload(pk: int) -> dict:
    # Only the payload: columns of later migrations are not there yet.
    return Delivery.objects.only("payload").get(pk=pk).payload


def stored_text(pk: int) -> str:
    rows = Delivery.objects.filter(pk=pk).annotate(text=Cast("payload", TextField()))
    return rows.values_list("text", flat=True).get()


@pytest.mark.django_db(transaction=True)
def test_open_deliveries_are_rewritten_as_sent_and_finished_ones_keep_their_values():
    batch = make_batch()
    old = migrate(BEFORE).get_model("webhooks", "Delivery")
    fields = {"batch_id": batch.pk, "due_at": batch.created_at, "payload": PAYLOAD}
    waiting = old.objects.create(
        msg_id="msg_" + "a" * 32, status="scheduled", next_attempt_at=batch.created_at, **fields
    )
    done = old.objects.create(
        msg_id="msg_" + "b" * 32, status="delivered", next_attempt_at=batch.created_at, **fields
    )

    migrate(AFTER)

    assert stored_text(waiting.pk) == payload_bytes(PAYLOAD).decode()
    assert stored_payload(waiting.pk) == PAYLOAD
    assert stored_payload(done.pk) == PAYLOAD


@pytest.mark.django_db(transaction=True)
def test_open_deliveries_are_rewritten_page_after_page(monkeypatch):
    migration = importlib.import_module("webhooks.migrations.0005_payload_json_text")
    monkeypatch.setattr(migration, "PAGE", 2)  # five open deliveries: three pages
    batch = make_batch()
    old = migrate(BEFORE).get_model("webhooks", "Delivery")
    made = {}
    for n, status in enumerate(["scheduled", "delivered", "retrying", "sending", "failed"] * 2):
        payload = {**PAYLOAD, "row": n, "Zz": [n, {"b": 1, "a": 2}]}
        delivery = old.objects.create(
            batch_id=batch.pk,
            msg_id=f"msg_{n:032x}",
            status=status,
            due_at=batch.created_at,
            next_attempt_at=batch.created_at,
            payload=payload,
        )
        made[delivery.pk] = (status, payload)

    migrate(AFTER)

    for pk, (status, payload) in made.items():
        assert stored_payload(pk) == payload
        if status in ("scheduled", "sending", "retrying"):
            assert stored_text(pk) == payload_bytes(payload).decode(), status
        elif connection.vendor == "postgresql":
            assert stored_text(pk) != payload_bytes(payload).decode()  # jsonb's text, left
