"""Operator writes and commands: re-send as new deliveries, cancel, resend_webhooks, sweep."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.services import customer_create, endpoint_create
from tests.webhooks.factories import make_batch, make_deliveries
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import (
    batch_deliveries_resend,
    deliveries_cancel,
    deliveries_resend,
    delivery_resend,
)

pytestmark = pytest.mark.django_db


def refreshed(delivery: Delivery) -> Delivery:
    delivery.refresh_from_db()
    return delivery


# -- re-send ---------------------------------------------------------------------------


def test_resend_creates_a_new_delivery_with_a_new_id_and_the_same_payload():
    [failed] = make_deliveries(1, status=DeliveryStatus.FAILED, attempts=7)

    resent = delivery_resend(delivery=failed)

    assert resent.msg_id != failed.msg_id and resent.msg_id.startswith("msg_")
    assert resent.resend_of_id == failed.pk
    resent = refreshed(resent)
    # The same body, saying which message it replaces (a receiver may have accepted it).
    assert resent.payload == {**failed.payload, "resend_of": failed.msg_id}
    assert (resent.batch_id, resent.lead_key) == (failed.batch_id, failed.lead_key)
    assert (resent.status, resent.attempts) == (DeliveryStatus.SCHEDULED, 0)
    assert abs((resent.next_attempt_at - timezone.now()).total_seconds()) < 5
    assert refreshed(failed).status == DeliveryStatus.FAILED  # the original stays as it was


@pytest.mark.parametrize(
    "status", [DeliveryStatus.SCHEDULED, DeliveryStatus.SENDING, DeliveryStatus.RETRYING]
)
def test_open_delivery_is_not_resent(status):
    [open_delivery] = make_deliveries(1, status=status)

    assert delivery_resend(delivery=open_delivery) is None


def test_resending_twice_creates_one_new_delivery():
    [failed] = make_deliveries(1, status=DeliveryStatus.FAILED)

    first = deliveries_resend(deliveries=Delivery.objects.filter(pk=failed.pk))
    second = deliveries_resend(deliveries=Delivery.objects.filter(pk=failed.pk))

    assert len(first) == 1 and second == []
    assert Delivery.objects.filter(resend_of=failed).count() == 1


def test_only_the_newest_of_a_chain_is_resent():
    [original] = make_deliveries(1, status=DeliveryStatus.FAILED)
    [resent] = deliveries_resend(deliveries=Delivery.objects.filter(pk=original.pk))
    Delivery.objects.filter(pk=resent.pk).update(status=DeliveryStatus.FAILED)

    again = deliveries_resend(deliveries=Delivery.objects.filter(status=DeliveryStatus.FAILED))

    assert [d.resend_of_id for d in again] == [resent.pk]
    # A chain names its first message: the one a receiver may have accepted.
    assert refreshed(again[0]).payload["resend_of"] == original.msg_id


def test_a_delivery_can_be_resent_only_once_by_constraint():
    [failed] = make_deliveries(1, status=DeliveryStatus.FAILED)
    delivery_resend(delivery=failed)

    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(
            batch_id=failed.batch_id,
            payload={},
            due_at=timezone.now(),
            next_attempt_at=timezone.now(),
            resend_of=failed,
        )


def test_batch_resend_failed_only_or_all_finished():
    batch = make_batch()
    make_deliveries(2, batch=batch, status=DeliveryStatus.FAILED)
    make_deliveries(1, batch=batch, status=DeliveryStatus.DELIVERED)
    make_deliveries(1, batch=batch, status=DeliveryStatus.SCHEDULED)
    make_deliveries(1, status=DeliveryStatus.FAILED)  # another batch

    assert len(batch_deliveries_resend(batch=batch, failed_only=True)) == 2
    assert len(batch_deliveries_resend(batch=batch, failed_only=False)) == 1  # the delivered one


# -- cancel ----------------------------------------------------------------------------


def test_cancel_stops_unsent_deliveries_only():
    scheduled, retrying, delivered = (
        make_deliveries(1, status=status)[0]
        for status in (DeliveryStatus.SCHEDULED, DeliveryStatus.RETRYING, DeliveryStatus.DELIVERED)
    )
    live = make_deliveries(
        1,
        status=DeliveryStatus.SENDING,
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )[0]
    dead = make_deliveries(
        1,
        status=DeliveryStatus.SENDING,
        lease_expires_at=timezone.now() - timedelta(minutes=1),
    )[0]

    cancelled = deliveries_cancel(deliveries=Delivery.objects.all())

    assert sorted(cancelled) == sorted([scheduled.pk, retrying.pk, dead.pk])
    assert refreshed(scheduled).status == DeliveryStatus.CANCELLED
    assert refreshed(scheduled).last_error == "Cancelled by an operator."
    assert refreshed(dead).lease_token is None
    assert refreshed(delivered).status == DeliveryStatus.DELIVERED
    assert refreshed(live).status == DeliveryStatus.SENDING  # in flight: left alone


def test_one_cancelled_in_flight_is_re_sent_only_once_its_senders_lease_ends():
    lease_ends = timezone.now() + timedelta(minutes=1)
    [claimed] = make_deliveries(
        1, status=DeliveryStatus.SENDING, lease_token=uuid.uuid4(), lease_expires_at=lease_ends
    )
    # As a claim leaves it: due again when its lease ends, should its sender die.
    Delivery.objects.filter(pk=claimed.pk).update(next_attempt_at=lease_ends)
    deliveries_cancel(deliveries=Delivery.objects.filter(pk=claimed.pk), in_flight=True)
    assert refreshed(claimed).status == DeliveryStatus.CANCELLED

    # Its request may be on the wire and be delivered: a re-send now could send it twice.
    assert delivery_resend(delivery=refreshed(claimed)) is None
    assert deliveries_resend(deliveries=Delivery.objects.filter(pk=claimed.pk)) == []

    Delivery.objects.filter(pk=claimed.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert delivery_resend(delivery=refreshed(claimed)) is not None


# -- resend_webhooks command -----------------------------------------------------------


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("resend_webhooks", *args, stdout=out)
    return out.getvalue()


def test_command_refuses_without_a_batch_lead_or_time_filter():
    make_deliveries(1, status=DeliveryStatus.FAILED)

    with pytest.raises(CommandError, match="without a filter"):
        run()
    with pytest.raises(CommandError, match="without a filter"):
        run("--status", "delivered")
    assert Delivery.objects.count() == 1


def test_command_resends_a_batchs_failed_deliveries_by_default():
    batch = make_batch()
    failed = make_deliveries(2, batch=batch, status=DeliveryStatus.FAILED)
    make_deliveries(1, batch=batch, status=DeliveryStatus.DELIVERED)
    make_deliveries(1, status=DeliveryStatus.FAILED)

    output = run("--batch", batch.batch_id)

    assert f"Re-sent 2 deliveries (batch {batch.batch_id}, status failed)" in output
    resent = Delivery.objects.filter(resend_of__isnull=False)
    assert sorted(resent.values_list("resend_of", flat=True)) == [d.pk for d in failed]
    for original in failed:
        assert f"{original.msg_id} -> " in output


def test_command_filters_combine():
    batch = make_batch()
    _other, b = make_deliveries(2, batch=batch, status=DeliveryStatus.DELIVERED)

    output = run("--batch", batch.batch_id, "--lead", b.lead_key, "--status", "delivered")

    assert "Re-sent 1 deliveries" in output
    assert Delivery.objects.get(resend_of__isnull=False).resend_of_id == b.pk


def test_command_since_and_until_are_utc_on_creation_time():
    old, new = make_deliveries(2, status=DeliveryStatus.FAILED)
    Delivery.objects.filter(pk=old.pk).update(created_at=datetime(2026, 1, 1, 12, tzinfo=UTC))
    Delivery.objects.filter(pk=new.pk).update(created_at=datetime(2026, 1, 3, 12, tzinfo=UTC))

    run("--since", "2026-01-02T00:00:00Z")
    assert list(
        Delivery.objects.filter(resend_of__isnull=False).values_list("resend_of", flat=True)
    ) == [new.pk]

    run("--until", "2026-01-02")  # a date alone is midnight UTC
    assert Delivery.objects.filter(resend_of=old).exists()


def test_dry_run_lists_and_changes_nothing():
    batch = make_batch()
    [failed] = make_deliveries(1, batch=batch, status=DeliveryStatus.FAILED)

    output = run("--batch", batch.batch_id, "--dry-run")

    assert "Dry run: would re-send 1 deliveries" in output
    assert failed.msg_id in output
    assert Delivery.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch", "batch_000000000bad"], "unknown batch"),
        (["--since", "yesterday"], "not an ISO 8601 time"),
        (["--since", "2026-01-02", "--until", "2026-01-01"], "before --until"),
    ],
)
def test_command_refuses_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--since", "yesterday"], "'yesterday' is not an ISO 8601 time"),
        (["--status", "bogus"], "(choose from 'delivered', 'failed', 'rejected', 'cancelled'"),
    ],
)
def test_bad_arguments_on_the_command_line_are_one_line_not_a_traceback(capsys, args, said):
    from webhooks.management.commands.resend_webhooks import Command

    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "resend_webhooks", *args])

    err = capsys.readouterr().err
    assert exited.value.code == 2 and said in err and "Traceback" not in err


def test_open_status_is_not_a_choice():
    with pytest.raises(CommandError):
        run("--batch", make_batch().batch_id, "--status", "scheduled")


# -- sweep_webhooks command ------------------------------------------------------------


def test_sweep_command_sends_in_this_process(sending, receiver):
    from io import StringIO

    make_deliveries(2)
    out = StringIO()

    call_command("sweep_webhooks", stdout=out, stderr=StringIO())

    assert json.loads(out.getvalue())["delivered"] == 2
    assert receiver.request_count == 2


def test_sweep_command_says_why_nothing_is_sent(settings):
    from io import StringIO

    settings.WEBHOOK_SECRET = ""
    make_deliveries(1)
    out, err = StringIO(), StringIO()

    call_command("sweep_webhooks", stdout=out, stderr=err)

    assert "WEBHOOK_SECRET is not set" in err.getvalue()
    assert json.loads(out.getvalue())["claimed"] == 0


def test_command_filters_by_customer_and_endpoint():
    acme = customer_create(slug="acme", name="Acme").customer
    one = endpoint_create(customer=acme, url="https://one.example/hooks")
    two = endpoint_create(customer=acme, url="https://two.example/hooks")
    acme_batch = make_batch(customer=acme)
    to_one = make_deliveries(2, batch=acme_batch, status=DeliveryStatus.FAILED)
    to_two = make_deliveries(1, batch=acme_batch, status=DeliveryStatus.FAILED)
    Delivery.objects.filter(pk__in=[d.pk for d in to_one]).update(customer_endpoint=one)
    Delivery.objects.filter(pk__in=[d.pk for d in to_two]).update(customer_endpoint=two)
    make_deliveries(1, batch=make_batch(), status=DeliveryStatus.FAILED)  # default's
    since = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    output = run("--since", since, "--customer", "acme", "--endpoint", str(one.pk))

    assert f"Re-sent 2 deliveries (customer acme, endpoint {one.pk}, status failed" in output
    resent = Delivery.objects.filter(resend_of__isnull=False)
    assert sorted(resent.values_list("resend_of", flat=True)) == [d.pk for d in to_one]
    assert {d.customer_endpoint_id for d in resent} == {one.pk}
    assert "Re-sent 1 deliveries" in run("--since", since, "--customer", "acme")
    with pytest.raises(CommandError, match="unknown customer 'nope'"):
        run("--since", since, "--customer", "nope")
    with pytest.raises(CommandError, match="unknown endpoint 999999"):
        run("--since", since, "--endpoint", "999999")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("failed", {"failed"}),
        ("rejected", {"rejected"}),
        ("delivered", {"delivered"}),
        ("cancelled", {"cancelled"}),
        ("any", {"failed", "rejected", "delivered", "cancelled"}),
    ],
)
def test_command_status_picks_that_final_status_or_any(status, expected):
    batch = make_batch()
    for each in (*expected, "failed", "rejected", "delivered", "cancelled", "retrying"):
        make_deliveries(1, batch=batch, status=each)

    run("--batch", batch.batch_id, "--status", status)

    resent = Delivery.objects.filter(resend_of__isnull=False).select_related("resend_of")
    assert {d.resend_of.status for d in resent} == expected
    assert resent.count() == (8 if status == "any" else 2)  # never the open one
