"""Delivery windows and the daily cap: a customer's deliveries wait outside them."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils import timezone

from customers.selectors import customers_holding_deliveries
from customers.services import customer_create
from customers.windows import DAYS, parse_window, validate_window
from tests.envsettings import settings_from_env
from tests.receiver import Receiver
from tests.webhooks.factories import make_batch, make_deliveries
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import deliveries_claim_due, deliveries_sweep
from webhooks.services.claims import Claim
from webhooks.services.limits import claim_within_limits
from webhooks.services.sending import held_customers

LONDON = ZoneInfo("Europe/London")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


@pytest.mark.parametrize(
    ("window", "moment", "open_"),
    [
        ("Mon-Fri 09:00-20:00", "2026-12-07T09:00", True),  # a Monday
        ("Mon-Fri 09:00-20:00", "2026-12-07T20:00", False),  # the end is excluded
        ("Mon-Fri 09:00-20:00", "2026-12-05T12:00", False),  # a Saturday
        ("Sat 10:00-14:00", "2026-12-05T12:00", True),
        ("Fri-Mon 00:00-24:00", "2026-12-06T23:59", True),  # wraps the week
        ("Fri-Mon 00:00-24:00", "2026-12-09T12:00", False),  # a Wednesday
        ("08:00-18:00", "2026-12-06T08:00", True),  # every day
    ],
)
def test_windows_open_and_close(window, moment, open_):
    assert parse_window(window).is_open(at(moment)) is open_


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ("weekdays", "is not a window"),
        ("Mon-Fry 09:00-20:00", "days are written"),
        ("Mon-Fri 09:00-25:00", "times are HH:MM"),
        ("Mon-Fri 20:00-09:00", "must end after it starts"),
    ],
)
def test_a_bad_window_is_refused_saying_why(window, message):
    with pytest.raises(ValidationError, match=message):
        validate_window(window)


@pytest.mark.django_db
def test_outside_its_window_or_over_its_cap_a_customers_deliveries_wait(settings):
    settings.WEBHOOK_URL = "https://hooks.example.com/valify"
    closed = customer_create(slug="closed", name="Closed").customer
    now = timezone.localtime()
    closed.delivery_window = "00:00-00:01" if now.hour >= 1 else "23:00-23:59"
    capped = customer_create(slug="capped", name="Capped").customer
    capped.max_deliveries_per_day = 1
    open_ = customer_create(slug="open", name="Open").customer
    for customer in (closed, capped):
        customer.full_clean()
        customer.save()
    make_deliveries(1, batch=make_batch(customer=capped), status=DeliveryStatus.DELIVERED)
    Delivery.objects.update(delivered_at=timezone.now())
    # Each batch sends to its own URL (WEBHOOK_URL is the default customer's only).
    url = settings.WEBHOOK_URL
    waiting = {
        c.slug: make_deliveries(1, batch=make_batch(customer=c, webhook_url=url))
        for c in (closed, capped)
    }
    sent = make_deliveries(1, batch=make_batch(customer=open_, webhook_url=url))

    held = held_customers()
    claim = deliveries_claim_due(
        limit=10, lease_seconds=30, default_url=settings.WEBHOOK_URL, held_customers=held
    )

    assert sorted(held) == sorted([closed.pk, capped.pk])
    assert [d.pk for d in claim.deliveries] == [sent[0].pk]
    for (delivery,) in waiting.values():
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.SCHEDULED, 0)


@pytest.mark.django_db
def test_settings_give_the_window_and_cap_of_customers_without_their_own(settings):
    now = timezone.localtime()
    settings.DELIVERY_WINDOW = "00:00-00:01" if now.hour >= 1 else "23:00-23:59"  # closed now
    always = customer_create(slug="always", name="Always").customer
    always.delivery_window = "00:00-24:00"  # its own window wins
    always.full_clean()
    always.save()
    plain = customer_create(slug="plain", name="Plain").customer

    assert plain.pk in held_customers() and always.pk not in held_customers()

    settings.DELIVERY_WINDOW = ""
    settings.MAX_DELIVERIES_PER_DAY = 1
    uncapped = customer_create(slug="uncapped", name="Uncapped").customer
    uncapped.max_deliveries_per_day = 0  # its own "no limit" wins over the setting
    uncapped.save()
    for customer in (plain, uncapped):
        make_deliveries(1, batch=make_batch(customer=customer), status=DeliveryStatus.DELIVERED)
    Delivery.objects.update(delivered_at=timezone.now())

    assert held_customers() == [plain.pk]


@pytest.mark.django_db
def test_deliveries_are_counted_only_when_some_customer_has_a_cap(settings):
    settings.DELIVERY_WINDOW, settings.MAX_DELIVERIES_PER_DAY = "", 0
    windowed = customer_create(slug="windowed", name="Windowed").customer
    windowed.delivery_window = "00:00-24:00"
    windowed.save()
    counted = []

    def delivered_today():
        counted.append(True)
        return {windowed.pk: 5}

    now = timezone.now()
    assert customers_holding_deliveries(now=now, delivered_today=delivered_today) == []
    assert not counted, "no cap: today's deliveries are not counted"

    windowed.max_deliveries_per_day = 5
    windowed.save()
    assert customers_holding_deliveries(now=now, delivered_today=delivered_today) == [windowed.pk]
    assert counted == [True]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DELIVERY_WINDOW": "weekdays"}, "DELIVERY_WINDOW"),
        ({"MAX_DELIVERIES_PER_DAY": "-1"}, "MAX_DELIVERIES_PER_DAY"),
    ],
)
def test_bad_window_or_cap_settings_are_refused_at_start_up(env, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        settings_from_env(**env)


def test_window_and_cap_settings_are_off_by_default():
    loaded = settings_from_env()
    assert (loaded.DELIVERY_WINDOW, loaded.MAX_DELIVERIES_PER_DAY) == ("", 0)
    assert settings_from_env(DELIVERY_WINDOW="Mon-Fri 09:00-20:00").DELIVERY_WINDOW


@pytest.mark.parametrize(
    ("window", "at", "opens"),
    [
        ("Mon-Fri 09:00-20:00", "2026-07-06 10:00", "2026-07-06 10:00"),  # open: now
        ("Mon-Fri 09:00-20:00", "2026-07-06 07:30", "2026-07-06 09:00"),  # later today
        ("Mon-Fri 09:00-20:00", "2026-07-10 20:00", "2026-07-13 09:00"),  # Friday evening
        ("Sat 10:00-14:00", "2026-07-11 14:30", "2026-07-18 10:00"),  # a week on
        ("Fri-Mon 08:00-09:00", "2026-07-07 12:00", "2026-07-10 08:00"),  # across the week
    ],
)
def test_a_window_says_when_it_next_opens(window, at, opens):
    london = ZoneInfo("Europe/London")
    local = datetime.fromisoformat(at).replace(tzinfo=london)

    assert parse_window(window).next_open(local) == datetime.fromisoformat(opens).replace(
        tzinfo=london
    )


def _customer(slug: str, **policy):
    customer = customer_create(slug=slug, name=slug.title()).customer
    for name, value in policy.items():
        setattr(customer, name, value)
    customer.full_clean()
    customer.save()
    return customer


@pytest.mark.django_db
def test_one_sweep_sends_no_more_than_the_daily_cap_has_left(loopback):
    capped = _customer("capped", max_deliveries_per_day=5)
    with Receiver() as receiver:
        make_deliveries(1, batch=make_batch(customer=capped), status=DeliveryStatus.DELIVERED)
        Delivery.objects.update(delivered_at=timezone.now())  # one of the five taken today
        waiting = make_deliveries(20, batch=make_batch(customer=capped, webhook_url=receiver.url))

        assert deliveries_sweep()["delivered"] == 4
        assert receiver.wait_for(4, timeout=2)

    left = Delivery.objects.filter(pk__in=[d.pk for d in waiting]).exclude(
        status=DeliveryStatus.DELIVERED
    )
    assert len(receiver.requests) == 4
    assert set(left.values_list("status", "attempts")) == {(DeliveryStatus.SCHEDULED, 0)}
    assert left.count() == 16


@pytest.mark.django_db
def test_what_another_sender_holds_counts_against_the_cap(loopback):
    capped = _customer("capped", max_deliveries_per_day=5)
    other = _customer("other")
    url = "https://hooks.example.com/valify"
    make_deliveries(4, batch=make_batch(customer=capped, webhook_url=url))
    _, first_rows, _ = claim_within_limits(lambda limits: _claim(limits, 10))
    make_deliveries(4, batch=make_batch(customer=capped, webhook_url=url))
    theirs = make_deliveries(2, batch=make_batch(customer=other, webhook_url=url))

    # The first sender has not sent its four yet: they are taken all the same.
    _, rows, _ = claim_within_limits(lambda limits: _claim(limits, 10))

    assert len(first_rows) == 4
    batches = {row.batch_pk for row in rows}
    assert len(rows) == 3 and len(batches) == 2  # one more of the capped customer's, and theirs
    assert {d.pk for d in theirs} <= {row.pk for row in rows}
    assert Delivery.objects.filter(status=DeliveryStatus.SENDING).count() == 4 + 3


def _claim(limits, limit):
    made = deliveries_claim_due(
        limit=limit,
        lease_seconds=30,
        default_url="",
        signable_only=True,
        held_customers=limits.held,
    )
    return made, made.deliveries


@pytest.mark.django_db
def test_a_page_stops_at_its_customers_window_closing_and_resumes_when_it_opens(
    loopback, monkeypatch
):
    today = timezone.localtime()
    windowed = _customer("windowed", delivery_window=f"{DAYS[today.weekday()]} 00:00-24:00")
    after_midnight = datetime.combine(today.date() + timedelta(days=1), time(0, 30), today.tzinfo)
    sent = []
    # The page's clock: now until three requests have gone, then past midnight, closed.
    monkeypatch.setattr(
        Claim, "now", lambda self: after_midnight if len(sent) >= 3 else timezone.now()
    )
    with Receiver() as receiver:
        receiver.set_responder(lambda request: sent.append(request) or (200, {}, b"ok"))
        waiting = make_deliveries(10, batch=make_batch(customer=windowed, webhook_url=receiver.url))

        stats = deliveries_sweep()

    assert stats["delivered"] == 3 and len(sent) == 3
    left = Delivery.objects.filter(pk__in=[d.pk for d in waiting[3:]])
    assert set(left.values_list("status", "attempts")) == {(DeliveryStatus.SCHEDULED, 0)}
    a_week_on = datetime.combine(today.date() + timedelta(days=7), time(0), today.tzinfo)
    assert set(left.values_list("next_attempt_at", flat=True)) == {a_week_on}


@pytest.mark.django_db
def test_a_window_an_operator_closes_mid_page_stops_its_requests(loopback, monkeypatch):
    from webhooks.services import page as page_module

    windowed = _customer("windowed")
    real_send, sent = page_module._send, []
    now = timezone.localtime()
    closed = "00:00-00:01" if now.hour >= 1 else "23:00-23:59"

    def send_then_close(claim, config, delivery, transport):
        outcome = real_send(claim, config, delivery, transport)
        sent.append(delivery.pk)
        if len(sent) == 3:  # the operator sets a window that is closed now
            type(windowed).objects.filter(pk=windowed.pk).update(delivery_window=closed)
        return outcome

    monkeypatch.setattr(page_module, "_send", send_then_close)
    monkeypatch.setattr(page_module, "FLUSH_EVERY", 1)  # a flush (and a look) after each send
    monkeypatch.setattr(page_module, "PAUSE_CHECK_SECONDS", 0)
    with Receiver() as receiver:
        waiting = make_deliveries(10, batch=make_batch(customer=windowed, webhook_url=receiver.url))
        deliveries_sweep()

    assert len(sent) == 3 and len(receiver.requests) == 3
    left = Delivery.objects.filter(pk__in=[d.pk for d in waiting]).exclude(pk__in=sent)
    assert set(left.values_list("status", "attempts")) == {(DeliveryStatus.SCHEDULED, 0)}
