"""Sending: signed exact bytes, outcomes and retries, refused endpoints, leases, limits, pause."""

import asyncio
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.webhooks.factories import SECRET, make_batch, make_deliveries
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, WebhookControl
from webhooks.selectors import sweep_last_run
from webhooks.services import (
    deliveries_claim_due,
    deliveries_drain,
    deliveries_send_page,
    deliveries_sweep,
    sending_config,
)
from webhooks.services import page as page_module
from webhooks.services import sending as sending_module
from webhooks.signing import payload_bytes, sign

pytestmark = pytest.mark.django_db


def sweep():
    return deliveries_sweep()


def make_due(*args, **kwargs):
    return make_deliveries(*args, **kwargs)


def refreshed(delivery: Delivery) -> Delivery:
    delivery.refresh_from_db()
    return delivery


# -- delivered --------------------------------------------------------------------------


def test_due_delivery_is_sent_with_its_id_and_exact_signed_bytes(sending, receiver):
    deliveries = make_due(3)

    stats = sweep()

    assert stats["delivered"] == 3
    assert receiver.wait_for(3, timeout=2)
    by_id = {r.headers["webhook-id"]: r for r in receiver.requests}
    assert set(by_id) == {d.msg_id for d in deliveries}
    for delivery in deliveries:
        request = by_id[delivery.msg_id]
        assert request.verified is True, request.verify_error
        assert request.body == payload_bytes(delivery.payload)
        assert "José".encode() in request.body  # UTF-8, not escapes
        assert request.headers["content-type"] == "application/json"


def test_delivered_state_and_attempt_log_are_recorded(sending, receiver):
    receiver.set_responder(lambda request: (200, {}, b"thanks"))
    [delivery] = make_due(1)

    sweep()

    delivery = refreshed(delivery)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1
    assert delivery.delivered_at is not None
    assert delivery.last_status_code == 200
    assert delivery.endpoint == receiver.url
    assert delivery.lease_token is None and delivery.lease_expires_at is None
    [attempt] = delivery.attempt_log.all()
    assert (attempt.number, attempt.status_code, attempt.response_excerpt) == (1, 200, "thanks")
    assert attempt.endpoint == receiver.url
    assert abs((attempt.started_at - timezone.now()).total_seconds()) < 5


def test_receiver_verifies_with_standardwebhooks_and_rejects_tampering_and_stale(sending, receiver):
    [delivery] = make_due(1)
    sweep()
    assert receiver.wait_for(1, timeout=2)
    request = receiver.requests[0]
    webhook = Webhook(SECRET)

    assert webhook.verify(request.body, request.headers) == delivery.payload

    tampered = request.body.replace("José".encode(), b"Jose")
    with pytest.raises(WebhookVerificationError):
        webhook.verify(tampered, request.headers)

    # A correctly signed but 10-minute-old request (a replay) is refused as too old.
    stale = int(request.headers["webhook-timestamp"]) - 600
    replayed = {
        **request.headers,
        "webhook-timestamp": str(stale),
        "webhook-signature": sign(
            secret=SECRET, msg_id=delivery.msg_id, timestamp=stale, body=request.body
        ),
    }
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhook.verify(request.body, replayed)


def test_delivery_not_yet_due_is_not_sent(sending, receiver):
    [delivery] = make_due(1, due=timezone.now() + timedelta(minutes=5))

    assert sweep()["claimed"] == 0

    assert refreshed(delivery).status == DeliveryStatus.SCHEDULED
    assert receiver.request_count == 0


def test_finished_deliveries_are_never_claimed(sending, receiver):
    for status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED):
        make_due(1, status=status)

    assert sweep()["claimed"] == 0
    assert receiver.request_count == 0


def test_page_goes_over_one_keep_alive_connection(sending, receiver):
    make_due(30)

    assert sweep()["delivered"] == 30
    assert receiver.connections_accepted == 1


# -- failures and retries ---------------------------------------------------------------


def test_retry_keeps_the_webhook_id_and_signs_each_attempt_anew(sending, receiver, monkeypatch):
    answers = iter([(503, {}, b"busy"), (204, {}, b"")])
    receiver.set_responder(lambda request: next(answers))
    [delivery] = make_due(1)

    sweep()
    delivery = refreshed(delivery)
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.last_status_code == 503
    assert delivery.last_error == "HTTP 503"
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 55 <= wait <= 75 + 1  # 60 s + up to 25 % jitter

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    later = time.time() + 120  # the retry happens "two minutes later"
    monkeypatch.setattr("webhooks.signing.time", SimpleNamespace(time=lambda: later))
    sweep()

    assert receiver.wait_for(2, timeout=2)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.msg_id
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) >= 119
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
    assert first.verified and second.verified
    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert list(delivery.attempt_log.values_list("number", "status_code")) == [(1, 503), (2, 204)]


def test_longer_retry_after_postpones_the_retry(sending, receiver):
    receiver.set_responder(lambda request: (429, {"Retry-After": "600"}, b""))
    [delivery] = make_due(1)

    sweep()

    wait = (refreshed(delivery).next_attempt_at - timezone.now()).total_seconds()
    assert 590 <= wait <= 601


def test_failure_after_the_last_retry_is_final_and_kept(sending, receiver):
    sending.WEBHOOK_RETRY_SCHEDULE = "60"
    receiver.set_responder(lambda request: (500, {}, b"x" * 3000))
    [delivery] = make_due(1, status=DeliveryStatus.RETRYING, attempts=1)

    sweep()

    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    assert delivery.last_status_code == 500
    assert delivery.attempt_log.get().response_excerpt == "x" * 1024  # the first 1 KB
    assert sweep()["claimed"] == 0
    assert Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).exists()


def test_timeout_is_retried_and_logged(sending, receiver):
    sending.WEBHOOK_TIMEOUT = 0.3

    async def slow(request):
        await asyncio.sleep(2)
        return 204, {}, b""

    receiver.set_responder(slow)
    [delivery] = make_due(1)

    sweep()

    delivery = refreshed(delivery)
    assert delivery.status == DeliveryStatus.RETRYING
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None
    assert "timed out" in attempt.error.lower()
    assert attempt.duration_ms < 2000


def test_connection_error_is_retried(sending, receiver):
    receiver.pause()
    [delivery] = make_due(1)

    sweep()

    delivery = refreshed(delivery)
    assert delivery.status == DeliveryStatus.RETRYING
    assert "refused" in delivery.last_error.lower()
    assert delivery.last_status_code is None


def test_redirect_is_not_followed(sending, receiver):
    receiver.set_responder(lambda request: (301, {"Location": "https://example.com/"}, b""))
    [delivery] = make_due(1)

    sweep()

    assert refreshed(delivery).status == DeliveryStatus.RETRYING
    assert receiver.request_count == 1


def test_refused_endpoint_fails_at_once_with_the_reason(sending, receiver):
    sending.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False  # loopback over plain http
    [delivery] = make_due(1)

    sweep()

    delivery = refreshed(delivery)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 1
    assert "https" in delivery.last_error
    assert "https" in delivery.attempt_log.get().error
    assert receiver.request_count == 0


def test_private_address_is_refused_even_over_https(sending, receiver):
    sending.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    sending.WEBHOOK_URL = "https://10.0.0.7/hook"
    [delivery] = make_due(1)

    sweep()

    delivery = refreshed(delivery)
    assert delivery.status == DeliveryStatus.FAILED
    assert "private" in delivery.last_error


# -- waiting without using attempts -----------------------------------------------------


def test_without_a_secret_deliveries_stay_scheduled_using_no_attempt(sending, receiver):
    sending.WEBHOOK_SECRET = ""
    [delivery] = make_due(1)

    assert sweep()["claimed"] == 0

    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SCHEDULED, 0)
    assert receiver.request_count == 0


def test_malformed_secret_sends_nothing(sending, receiver):
    sending.WEBHOOK_SECRET = "not-a-whsec-secret"
    [delivery] = make_due(1)

    assert sweep()["claimed"] == 0
    assert refreshed(delivery).attempts == 0


def test_without_an_endpoint_only_batches_with_their_own_url_are_sent(sending, receiver):
    sending.WEBHOOK_URL = ""
    [waiting] = make_due(1)
    [own] = make_due(1, batch=make_batch(webhook_url=receiver.url + "?batch=own"))

    assert sweep()["delivered"] == 1

    assert refreshed(own).status == DeliveryStatus.DELIVERED
    waiting = refreshed(waiting)
    assert (waiting.status, waiting.attempts) == (DeliveryStatus.SCHEDULED, 0)
    assert [r.path for r in receiver.requests] == ["/hook?batch=own"]


def test_batch_url_overrides_the_setting(sending, receiver):
    sending.WEBHOOK_URL = "https://hooks.example.com/never"
    [delivery] = make_due(1, batch=make_batch(webhook_url=receiver.url + "?batch=7"))

    sweep()

    assert refreshed(delivery).endpoint == receiver.url + "?batch=7"
    assert receiver.requests[0].path == "/hook?batch=7"


def test_paused_sending_claims_nothing_until_resumed(sending, receiver):
    WebhookControl.objects.create(pk=1, paused=True)
    [delivery] = make_due(1)

    assert sweep()["claimed"] == 0
    assert refreshed(delivery).attempts == 0

    WebhookControl.objects.filter(pk=1).update(paused=False)
    assert sweep()["delivered"] == 1


def test_pause_mid_page_gives_the_rest_back(sending, receiver, monkeypatch):
    monkeypatch.setattr(page_module, "FLUSH_EVERY", 2)
    # An operator flips the switch while the first two are being sent.
    monkeypatch.setattr(page_module, "PAUSE_CHECK_SECONDS", 0)
    monkeypatch.setattr(page_module, "sending_paused", lambda: receiver.request_count >= 2)
    deliveries = make_due(6)

    stats = sweep()

    assert stats["delivered"] == 2 and stats["released"] == 4
    assert stats["stopped"] == "paused"
    states = [(d.status, d.attempts) for d in map(refreshed, deliveries)]
    assert states[:2] == [(DeliveryStatus.DELIVERED, 1)] * 2
    assert states[2:] == [(DeliveryStatus.SCHEDULED, 0)] * 4


# -- claims, leases and fencing -------------------------------------------------------


def test_claim_saves_the_next_attempt_before_sending(sending):
    [delivery] = make_due(1)

    claim = deliveries_claim_due(limit=10, lease_seconds=30, default_url=sending.WEBHOOK_URL)

    delivery = refreshed(delivery)
    assert [d.pk for d in claim.deliveries] == [delivery.pk]
    assert delivery.status == DeliveryStatus.SENDING
    assert delivery.attempts == 1
    assert delivery.lease_token == claim.token
    assert delivery.next_attempt_at == delivery.lease_expires_at
    assert 25 < (delivery.lease_expires_at - timezone.now()).total_seconds() <= 30
    assert delivery.endpoint == sending.WEBHOOK_URL


def test_live_lease_is_not_claimed_again_but_an_expired_one_is(sending):
    [delivery] = make_due(1)
    first = deliveries_claim_due(limit=10, lease_seconds=30, default_url=sending.WEBHOOK_URL)
    assert len(first.deliveries) == 1

    again = deliveries_claim_due(limit=10, lease_seconds=30, default_url=sending.WEBHOOK_URL)
    assert again.deliveries == []

    expired = timezone.now() - timedelta(seconds=1)
    Delivery.objects.filter(pk=delivery.pk).update(
        lease_expires_at=expired, next_attempt_at=expired
    )
    taken_over = deliveries_claim_due(limit=10, lease_seconds=30, default_url=sending.WEBHOOK_URL)
    assert [d.attempt for d in taken_over.deliveries] == [2]
    assert refreshed(delivery).lease_token == taken_over.token


def test_outcome_is_recorded_only_under_the_claim_token(sending, receiver, monkeypatch):
    [delivery] = make_due(1)
    config = sending_config()
    stale = deliveries_claim_due(limit=10, lease_seconds=30, default_url=config.default_url)
    # Its lease lapsed and another sender took the delivery over while its request was on
    # the wire, after the stale sender's last look at its hold.
    monkeypatch.setattr(page_module._Page, "still_held", lambda page, pk: True)
    past = timezone.now() - timedelta(seconds=1)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=past, lease_expires_at=past)
    current = deliveries_claim_due(limit=10, lease_seconds=30, default_url=config.default_url)

    stats = deliveries_send_page(claim=stale, config=config, deadline=time.time() + 30)

    assert stats.lost == 1
    delivery = refreshed(delivery)
    assert delivery.status == DeliveryStatus.SENDING
    assert delivery.lease_token == current.token
    assert delivery.attempt_log.count() == 1  # the request happened: it is in the log


def test_unsent_deliveries_go_back_when_the_deadline_passes(sending, receiver):
    deliveries = make_due(3)
    config = sending_config()
    claim = deliveries_claim_due(limit=10, lease_seconds=30, default_url=config.default_url)

    stats = deliveries_send_page(claim=claim, config=config, deadline=time.time() - 1)

    assert (stats.released, stats.stopped) == (3, "deadline")
    assert receiver.request_count == 0
    for delivery in map(refreshed, deliveries):
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.SCHEDULED, 0)
        assert delivery.lease_token is None


def test_released_retry_goes_back_to_retrying(sending):
    [delivery] = make_due(1, status=DeliveryStatus.RETRYING, attempts=2)
    config = sending_config()
    claim = deliveries_claim_due(limit=10, lease_seconds=30, default_url=config.default_url)

    deliveries_send_page(claim=claim, config=config, deadline=time.time() - 1)

    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.RETRYING, 2)


def test_lease_is_renewed_before_it_could_run_out(sending, receiver, monkeypatch):
    async def slowish(request):
        await asyncio.sleep(0.15)
        return 204, {}, b""

    receiver.set_responder(slowish)
    renewals = []
    real_renew = page_module.claim_renew

    def spy(*, claim, pks):
        renewals.append(len(pks))
        return real_renew(claim=claim, pks=pks)

    monkeypatch.setattr(page_module, "claim_renew", spy)
    deliveries = make_due(10)
    config = sending_config()
    # A 2 s lease: a send needs half of it left, so it runs short after about 7 sends.
    claim = deliveries_claim_due(limit=10, lease_seconds=2.0, default_url=config.default_url)

    stats = deliveries_send_page(claim=claim, config=config, deadline=time.time() + 30)

    assert stats.delivered == 10 and stats.lost == 0
    assert renewals, "the lease was renewed"
    assert renewals[0] < 10  # only for the deliveries still to send
    assert all(refreshed(d).status == DeliveryStatus.DELIVERED for d in deliveries)


def test_delivery_no_longer_held_is_skipped_at_renewal(sending, receiver):
    deliveries = make_due(3)
    config = sending_config()
    claim = deliveries_claim_due(limit=10, lease_seconds=30, default_url=config.default_url)
    # Another sender holds the last one now, and this sender's lease needs renewing.
    Delivery.objects.filter(pk=deliveries[-1].pk).update(lease_token=None)
    claim.expires_at = time.monotonic()

    stats = deliveries_send_page(claim=claim, config=config, deadline=time.time() + 30)

    assert stats.delivered == 2
    assert deliveries[-1].msg_id not in {r.headers["webhook-id"] for r in receiver.requests}


# -- rate limit, sweep, drain -----------------------------------------------------------


def test_rate_limit_spaces_the_requests(sending, receiver):
    sending.WEBHOOK_RATE_LIMIT = 20
    make_due(10)

    assert sweep()["delivered"] == 10

    times = sorted(r.received_at for r in receiver.requests)
    assert times[-1] - times[0] >= 9 / 20 * 0.95


def test_rate_limited_page_is_a_few_seconds_of_sending(sending):
    sending.WEBHOOK_RATE_LIMIT = 2
    assert sending_config().page_size == 10
    sending.WEBHOOK_RATE_LIMIT = 0
    assert sending_config().page_size == sending_module.PAGE_SIZE


def test_sweep_records_its_heartbeat(sending):
    before = timezone.now() - timedelta(seconds=1)

    sweep()

    assert sweep_last_run() >= before
    sending.WEBHOOK_SECRET = ""  # even when it cannot send
    WebhookControl.objects.update(sweep_ran_at=None)
    sweep()
    assert sweep_last_run() is not None


def test_sweep_fans_out_once_on_a_backlog(sending, receiver, monkeypatch):
    monkeypatch.setattr(sending_module, "PAGE_SIZE", 5)
    make_due(12)
    fanned = []

    stats = deliveries_sweep(fan_out=fanned.append)

    assert stats["delivered"] == 12
    assert len(fanned) == 1 and fanned[0] > time.time()


def test_no_fan_out_without_a_backlog(sending, receiver):
    make_due(3)
    fanned = []

    deliveries_sweep(fan_out=fanned.append)

    assert fanned == []


def test_drain_that_starts_after_its_deadline_does_nothing(sending, receiver):
    [delivery] = make_due(1)

    assert deliveries_drain(deadline=time.time() - 1)["claimed"] == 0
    assert refreshed(delivery).status == DeliveryStatus.SCHEDULED


def test_attempt_log_rows_are_one_per_attempt(sending, receiver):
    make_due(5)
    sweep()
    assert DeliveryAttempt.objects.count() == 5


def test_unresolvable_host_is_retried_not_failed(sending, receiver, monkeypatch):
    import socket

    from webhooks import addresses

    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(addresses, "_getaddrinfo", no_such_host)
    sending.WEBHOOK_URL = "https://hooks.customer.example/valify"
    deliveries = make_due(3)

    stats = sweep()

    assert stats["retrying"] == 3
    for delivery in map(refreshed, deliveries):
        assert delivery.status == DeliveryStatus.RETRYING
        assert "does not resolve" in delivery.last_error


def test_response_body_with_nul_and_odd_bytes_is_logged_safely(sending, receiver):
    receiver.set_responder(lambda request: (500, {}, b"bad\x00body \xff\xfe 'quoted' \\ end"))
    [delivery] = make_due(1)

    sweep()

    attempt = refreshed(delivery).attempt_log.get()
    assert attempt.response_excerpt.startswith("bad\ufffdbody")
    assert attempt.response_excerpt.endswith("'quoted' \\ end")


# -- cancelled while claimed --------------------------------------------------------------


def test_deliveries_cancelled_mid_page_are_not_sent(sending, receiver, monkeypatch):
    from webhooks.services import batch_deliveries_cancel

    deliveries = make_due(10)
    batch_pk = deliveries[0].batch_id
    real_send = page_module._send
    sent = []

    def send_then_cancel(claim, config, delivery, transport):
        outcome = real_send(claim, config, delivery, transport)
        sent.append(delivery.pk)
        if len(sent) == 3:  # the operator cancels while the sender holds the whole page
            batch_deliveries_cancel(batch_pk=batch_pk, reason="Batch cancelled by an operator.")
        return outcome

    monkeypatch.setattr(page_module, "_send", send_then_cancel)

    sweep()

    assert receiver.wait_for(3, timeout=2)
    time.sleep(0.2)
    assert len(receiver.requests) == 3, "nothing goes out after the cancel returned"
    statuses = {d.pk: refreshed(d).status for d in deliveries}
    # What was already on the wire says what the receiver did; the rest stays cancelled.
    assert [statuses[pk] for pk in sent] == [DeliveryStatus.DELIVERED] * 3
    assert sum(status == DeliveryStatus.CANCELLED for status in statuses.values()) == 7


def test_deliveries_cancelled_mid_page_keep_no_attempt_and_may_be_re_sent_at_once(
    sending, receiver, monkeypatch
):
    from webhooks.services import batch_deliveries_cancel, deliveries_resend

    deliveries = make_due(10)
    batch_pk = deliveries[0].batch_id
    real_send = page_module._send
    sent = []

    def send_then_cancel(claim, config, delivery, transport):
        outcome = real_send(claim, config, delivery, transport)
        sent.append(delivery.pk)
        if len(sent) == 3:
            batch_deliveries_cancel(batch_pk=batch_pk, reason="Batch cancelled by an operator.")
        return outcome

    monkeypatch.setattr(page_module, "_send", send_then_cancel)

    sweep()

    unsent = Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).exclude(pk__in=sent)
    # No request was made for them: no attempt counted, no sender's token kept.
    assert set(unsent.values_list("status", "attempts", "lease_token")) == {
        (DeliveryStatus.CANCELLED, 0, None)
    }
    assert not DeliveryAttempt.objects.filter(delivery__in=unsent).exists()
    assert len(deliveries_resend(deliveries=unsent)) == 7


@pytest.mark.django_db(transaction=True)
def test_a_cancel_from_another_process_reaches_a_sender_without_a_query_per_send(
    sending, receiver, monkeypatch
):
    from django.db import connection

    from webhooks.services import batch_deliveries_cancel

    if connection.vendor != "postgresql":
        pytest.skip("cancels are announced by PostgreSQL's NOTIFY; SQLite asks before each send")
    deliveries = make_due(10)
    batch_pk = deliveries[0].batch_id
    held_checks = []
    real_held = page_module.claim_held
    _elsewhere_after_three_sends(  # the web process's cancel, on its own connection
        monkeypatch,
        lambda: batch_deliveries_cancel(
            batch_pk=batch_pk, reason="Batch cancelled by an operator."
        ),
    )
    monkeypatch.setattr(
        page_module, "claim_held", lambda **kw: held_checks.append(1) or real_held(**kw)
    )

    sweep()

    assert len(receiver.requests) == 3, "nothing goes out after the cancel returned"
    assert len(held_checks) == 1, "one look at the page's holds, when the cancel was heard"
    statuses = [refreshed(d).status for d in deliveries]
    assert statuses.count(DeliveryStatus.CANCELLED) == 7


def _elsewhere_after_three_sends(monkeypatch, change) -> list[int]:
    """Run ``change`` in another thread on its own connection (the web process) once the
    page has sent three requests, as an operator would; return the pks sent."""
    import threading

    from django.db import connections

    real_send, sent = page_module._send, []

    def elsewhere():
        try:
            change()
        finally:
            connections.close_all()

    def send_then_change(claim, config, delivery, transport):
        outcome = real_send(claim, config, delivery, transport)
        sent.append(delivery.pk)
        if len(sent) == 3:
            thread = threading.Thread(target=elsewhere)
            thread.start()
            thread.join()
            time.sleep(0.05)  # the announcement crosses the socket
        return outcome

    monkeypatch.setattr(page_module, "_send", send_then_change)
    return sent


@pytest.mark.django_db(transaction=True)
def test_a_rotation_from_another_process_reaches_a_page_at_its_next_request(loopback, monkeypatch):
    from django.db import connection

    from customers.services import customer_create, customer_secret_rotate
    from tests.receiver import Receiver

    if connection.vendor != "postgresql":
        pytest.skip("rotations are announced by PostgreSQL's NOTIFY; elsewhere within a second")
    acme = customer_create(slug="acme", name="Acme").customer
    _elsewhere_after_three_sends(monkeypatch, lambda: customer_secret_rotate(customer=acme))
    with Receiver() as receiver:
        make_deliveries(10, batch=make_batch(customer=acme, webhook_url=receiver.url))
        sweep()
        assert receiver.wait_for(10, timeout=2)

    acme.refresh_from_db()
    new = Webhook(acme.secret)
    for request in receiver.requests[3:]:  # every one after the rotation carries the new one
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        new.verify(request.body, request.headers)


@pytest.mark.django_db(transaction=True)
def test_an_endpoint_disabled_elsewhere_gets_no_further_request_from_a_page(loopback, monkeypatch):
    from django.contrib.auth.models import User
    from django.db import connection

    from customers.endpoints import EndpointChange, endpoint_change
    from customers.services import customer_create
    from tests.receiver import Receiver

    if connection.vendor != "postgresql":
        pytest.skip("disabling is announced by PostgreSQL's NOTIFY; elsewhere the flush learns")
    operator = User.objects.create_user("ops", is_staff=True)
    with Receiver() as receiver:
        made = customer_create(slug="acme", name="Acme", endpoint_urls=[receiver.url])
        endpoint = made.endpoints[0]
        sent = _elsewhere_after_three_sends(
            monkeypatch,
            lambda: endpoint_change(  # an operator's PATCH, in the web process
                endpoint_pk=endpoint.pk,
                change=EndpointChange(rate_limit=None, enabled=False),
                user=operator,
                via="API",
            ),
        )
        deliveries = make_deliveries(10, batch=make_batch(customer=made.customer))
        Delivery.objects.update(customer_endpoint=endpoint)
        sweep()
        time.sleep(0.2)

    assert len(receiver.requests) == 3, "nothing goes to it after the disable returned"
    waiting = Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).exclude(pk__in=sent)
    assert set(waiting.values_list("status", "attempts")) == {(DeliveryStatus.SCHEDULED, 0)}
