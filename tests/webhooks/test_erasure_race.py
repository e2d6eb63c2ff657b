"""An answer recorded by a sender that lost its lease, while its person is being erased."""

import threading
import uuid

import pytest
from django.db import connection, connections
from django.utils import timezone

from tests.webhooks.factories import make_deliveries, rejection_quoting_the_lead
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus
from webhooks.services import deliveries_erase_person
from webhooks.services import erasure as erasure_module
from webhooks.services import outcomes as outcomes_module
from webhooks.services.outcomes import deliveries_record_outcomes


@pytest.mark.django_db(transaction=True)
def test_a_late_answer_is_blanked_when_the_erasure_commits_after_it_was_checked(monkeypatch):
    """The erasure marks the delivery and blanks the excerpts it can see, then commits only
    after the late sender checked for erasures: the check must wait for that commit."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need a database server (PostgreSQL)")
    [delivery] = make_deliveries(1)
    stale_token = uuid.uuid4()
    # Another sender took the delivery over and delivered it: ended, so the erasure's
    # cancel takes no lock on it, and the stale sender's outcome changes nothing.
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DELIVERED, lease_token=None, delivered_at=timezone.now()
    )
    inserted, erasure_blanked, recorded = threading.Event(), threading.Event(), threading.Event()
    insert_rows, excerpts_blank = outcomes_module.insert_rows, erasure_module.excerpts_blank

    def insert_then_let_the_erasure_run(*args, **kwargs):
        count = insert_rows(*args, **kwargs)
        inserted.set()
        erasure_blanked.wait(5)
        return count

    def blank_then_commit_late(**kwargs):
        count = excerpts_blank(**kwargs)
        erasure_blanked.set()
        recorded.wait(3)  # with the check waiting for this commit, it times out
        return count

    monkeypatch.setattr(outcomes_module, "insert_rows", insert_then_let_the_erasure_run)
    monkeypatch.setattr(erasure_module, "excerpts_blank", blank_then_commit_late)
    outcome = rejection_quoting_the_lead(delivery)

    def record():
        try:
            deliveries_record_outcomes(token=stale_token, outcomes=[outcome])
        finally:
            recorded.set()
            connections.close_all()

    def erase():
        try:
            inserted.wait(5)
            deliveries_erase_person(lead_pks=[], lead_keys=[delivery.lead_key])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=record), threading.Thread(target=erase)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)

    assert Delivery.objects.get(pk=delivery.pk).erased_at is not None
    assert DeliveryAttempt.objects.get(delivery=delivery).response_excerpt == ""
