"""Concurrent claims never overlap: SKIP LOCKED on PostgreSQL, serialised writers on SQLite."""

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection, connections

from customers.services import customer_create, endpoint_create
from tests.receiver import Receiver
from tests.webhooks.factories import SECRET, make_batch, make_deliveries
from valify.bulk import database_now
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import claim_renew, claims, deliveries_claim_due
from webhooks.services.claims import ClaimScope, claim_more

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_on_postgresql_take_disjoint_pages():
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED claims need PostgreSQL (DATABASE_URL); SQLite is tested below")
    deliveries = make_deliveries(400)
    claimed: list[list[int]] = []
    start = threading.Barrier(4)

    def claimer():
        mine = []
        try:
            start.wait()
            while True:
                claim = deliveries_claim_due(
                    limit=25, lease_seconds=30, default_url="https://x.test/"
                )
                if not claim.deliveries:
                    break
                mine.extend(d.pk for d in claim.deliveries)
        finally:
            connections.close_all()
            claimed.append(mine)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    everything = [pk for mine in claimed for pk in mine]
    assert sorted(everything) == sorted(d.pk for d in deliveries)  # none twice, none lost
    assert sum(1 for mine in claimed if mine) > 1, "the claimers really ran side by side"
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}


def test_concurrent_sweeps_on_sqlite_send_each_delivery_once(tmp_path):
    """Three `sweep_webhooks` processes at once on one embedded SQLite database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")
    }
    env.update(VALIFY_VAR_DIR=str(tmp_path), LOG_LEVEL="WARNING")

    def manage(*args, **extra):
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**env, **extra},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    setup = manage(
        "shell",
        "-c",
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "from tests.webhooks.factories import make_deliveries; make_deliveries(600)",
    )
    assert setup.wait(timeout=120) == 0, setup.stderr.read().decode()[-2000:]

    async def slow(request):
        # 600 answers take one sweep 3 s or more: longer than the others take to start, so
        # they overlap whatever the machine's speed.
        await asyncio.sleep(0.005)
        return 204, {}, b""

    with Receiver(secret=SECRET, responder=slow) as receiver:
        sending = {
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_URL": receiver.url,
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
        }
        sweeps = [manage("sweep_webhooks", **sending) for _ in range(3)]
        claimed = []
        for sweep in sweeps:
            out, err = sweep.communicate(timeout=120)
            assert sweep.returncode == 0, err.decode()[-2000:]
            claimed.append(json.loads(out.decode().strip().splitlines()[-1])["claimed"])
        assert sum(claimed) == 600
        assert sum(1 for n in claimed if n) > 1, "the sweeps really ran side by side"

        ids = Counter(request.headers["webhook-id"] for request in receiver.requests)
        assert len(ids) == 600
        assert max(ids.values()) == 1, "no delivery was sent twice"
        assert all(request.verified for request in receiver.requests)

    with sqlite3.connect(tmp_path / "valify.sqlite3") as db:
        states = set(db.execute("SELECT status, attempts FROM webhooks_delivery"))
    assert states == {(DeliveryStatus.DELIVERED.value, 1)}


@pytest.mark.django_db
def test_claiming_more_keeps_the_token_and_skips_what_the_page_holds_enough_of():
    customer = customer_create(slug="acme", name="Acme").customer
    slow = endpoint_create(customer=customer, url="https://slow.test/", rate_limit=1)
    fast = endpoint_create(customer=customer, url="https://fast.test/")
    batch = make_batch(customer=customer)
    slows = make_deliveries(3, batch=batch, customer_endpoint=slow)  # due first
    fasts = make_deliveries(3, batch=batch, customer_endpoint=fast)
    defaults = make_deliveries(3, batch=make_batch())  # the default customer's: WEBHOOK_URL
    claim = deliveries_claim_due(limit=1, lease_seconds=30, default_url="https://x.test/")
    assert [d.pk for d in claim.deliveries] == [slows[0].pk]

    skip_slow = ClaimScope(default_url="https://x.test/", skip_endpoints=(slow.pk,))
    more = claim_more(claim=claim, limit=10, scope=skip_slow)
    assert [d.pk for d in more] == [d.pk for d in fasts + defaults]
    skip_default = ClaimScope(default_url="https://x.test/", skip_default_route=True)
    rest = claim_more(claim=claim, limit=10, scope=skip_default)
    assert [d.pk for d in rest] == [d.pk for d in slows[1:]], "each claimed once"

    held = Delivery.objects.filter(lease_token=claim.token, status=DeliveryStatus.SENDING)
    assert held.count() == 9
    assert set(held.values_list("attempts", flat=True)) == {1}


@pytest.mark.django_db
def test_the_claims_clock_is_never_ahead_of_the_databases(monkeypatch):
    """An answer's time (from the claim's clock) is when a retry with no delay falls due:
    the next claim must find it due, however long this claim took around its clock read."""
    make_deliveries(2, batch=make_batch())
    apply = claims.environment_apply

    def slow_apply():  # the environment's settings reach the database first: a write
        apply()
        time.sleep(0.05)

    monkeypatch.setattr(claims, "environment_apply", slow_apply)
    claim = deliveries_claim_due(limit=10, lease_seconds=30, default_url="https://x.test/")
    assert len(claim.deliveries) == 2
    claimed_at = claim.now()
    assert claimed_at <= database_now()
    assert claim_renew(claim=claim, pks=[d.pk for d in claim.deliveries])
    assert claimed_at <= claim.now() <= database_now()
