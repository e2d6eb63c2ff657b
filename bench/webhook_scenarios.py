"""The scenarios of bench/webhooks.py: customers, deliveries, runs, measures and the table.

Runs in the bench's process once Django's settings point at the scratch database; the
worker and the receivers are other processes. Times are Unix times (time.time()), taken
at the receivers and here, on one machine's clock.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

CHANGES = (50, 10, 0)  # d: the rates an operator sets in turn, from 10/s


@dataclass
class Target:
    """An endpoint and the receiver process (by index) that answers it."""

    customer: object
    endpoint: object
    receiver: int

    @property
    def path(self) -> str:
        return "/" + self.endpoint.url.rsplit("/", 1)[1]


def run(args, urls: list[str], worker_pid: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valify.settings")
    django.setup()
    from valify.celery import app

    wait_ready(app)
    bench = Bench(urls, worker_pid, one_receiver=args.one_receiver)
    rows: list[tuple[str, str]] = []
    if args.only & {"a", "b"}:
        rows += throughput(bench, args)
    if "c" in args.only:
        rows += limited(bench, args)
    if "d" in args.only:
        rows += rate_change(bench)
    print()
    print(
        f"worker {args.concurrency} processes (-Q webhooks, WEBHOOK_DRAINERS="
        f"{args.concurrency}); "
        + (
            "one receiver process, one port for all"
            if args.one_receiver
            else "a receiver process per endpoint"
            if args.receiver_processes
            else "one receiver process, a port per endpoint"
        )
        + "; measured at the receivers"
    )
    width = max(len(label) for label, _ in rows)
    for label, figure in rows:
        print(f"{label:<{width}}  {figure}")
    print(f"signatures: {bench.verified:,} requests received, every one verified")


class Bench:
    def __init__(self, urls: list[str], worker_pid: int, *, one_receiver: bool = False):
        from django.contrib.auth import get_user_model

        from customers.services import customer_create

        self.urls = urls = urls[:1] * 4 if one_receiver else urls
        self.worker_pid = worker_pid
        self.verified = 0
        self.user = get_user_model().objects.create_superuser("bench", password=None)
        solo = customer_create(slug="solo", name="Solo", endpoint_urls=[urls[0] + "solo"])
        acme = customer_create(
            slug="acme", name="Acme", endpoint_urls=[urls[0] + "acme-1", urls[1] + "acme-2"]
        )
        globex = customer_create(
            slug="globex",
            name="Globex",
            endpoint_urls=[urls[2] + "globex-1", urls[3] + "globex-2"],
        )
        self.solo = [Target(solo.customer, solo.endpoints[0], 0)]
        self.four = [
            Target(acme.customer, acme.endpoints[0], 0),
            Target(acme.customer, acme.endpoints[1], 0 if one_receiver else 1),
            Target(globex.customer, globex.endpoints[0], 0 if one_receiver else 2),
            Target(globex.customer, globex.endpoints[1], 0 if one_receiver else 3),
        ]
        for index in range(len(urls)):
            self.arrivals(index)  # start from nothing

    def arrivals(self, index: int) -> dict[str, dict]:
        """Each path's arrivals at receiver ``index`` since the last call."""
        with urllib.request.urlopen(self.urls[index] + "_times", timeout=30) as answer:
            return json.load(answer)

    def worker_cpu(self) -> float:
        """CPU seconds (user + system) the worker and its pool have used so far."""
        import psutil

        root = psutil.Process(self.worker_pid)
        return sum(sum(proc.cpu_times()[:2]) for proc in [root, *root.children(recursive=True)])

    def set_rate(self, target: Target, rate: float) -> float:
        """Change the rate as PATCH /api/endpoints/<id> does; return when it was committed."""
        from customers.endpoints import EndpointChange, endpoint_change

        endpoint_change(
            endpoint_pk=target.endpoint.pk,
            change=EndpointChange(rate_limit=Decimal(str(rate)).quantize(Decimal("0.01"))),
            user=self.user,
            via="bench",
        )
        return time.time()

    def send(
        self,
        plan: list[tuple[Target, int]],
        events: list[tuple[float, Callable[[], None]]] = (),
    ) -> tuple[float, list[list[float]]]:
        """Send ``count`` deliveries to each target; return the start and each one's arrivals.

        ``events`` run at their offset (seconds) from the start, while sending goes on.
        """
        from django.conf import settings

        from webhooks.models import OPEN_STATUSES, Delivery
        from webhooks.tasks import sweep

        for target, _ in plan:  # each receiver verifies with its customer's secret
            request = urllib.request.Request(
                self.urls[target.receiver] + "_secret" + target.path,
                data=target.customer.secret.encode(),
                method="PUT",
            )
            urllib.request.urlopen(request, timeout=30).close()
        total = deliveries_create(plan)
        start = time.time()
        sweep.delay()
        next_sweep = start + settings.WEBHOOK_SWEEP_SECONDS
        pending = sorted(events, key=lambda event: event[0])
        # Polls the partial index of open deliveries: cheap, so it does not slow the worker.
        still_open = Delivery.objects.filter(status__in=OPEN_STATUSES)
        while pending or still_open.exists():
            now = time.time()
            if pending and now >= start + pending[0][0]:
                pending.pop(0)[1]()
                continue
            if now >= next_sweep:  # beat's part, for runs longer than one sweep
                sweep.delay()
                next_sweep += settings.WEBHOOK_SWEEP_SECONDS
            if now - start > 900:
                raise SystemExit("still sending after 15 minutes: see the worker's output")
            time.sleep(0.05)
        delivered = Delivery.objects.filter(status="delivered").count()
        Delivery.objects.all().delete()  # the next run counts from nothing
        vacuum()  # ...and finds the tables as the first did, not full of dead rows
        if delivered != total:
            raise SystemExit(f"only {delivered:,} of {total:,} delivered: see the worker's output")
        got = {index: self.arrivals(index) for index in {t.receiver for t, _ in plan}}
        arrived = []
        for target, count in plan:
            path = got[target.receiver].get(target.path, {"times": [], "unverified": 0})
            times, unverified = path["times"], path["unverified"]
            if unverified or len(times) != count:
                raise SystemExit(
                    f"{target.endpoint.url}: {len(times):,} received of {count:,}, "
                    f"{unverified:,} not verified"
                )
            self.verified += len(times)
            arrived.append(sorted(times))
        return start, arrived


def vacuum() -> None:
    from django.db import connection

    from webhooks.models import Delivery, DeliveryAttempt

    with connection.cursor() as cursor:
        for model in (Delivery, DeliveryAttempt):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def deliveries_create(plan: list[tuple[Target, int]]) -> int:
    """COPY the deliveries: one batch per customer, lead by lead to each of its endpoints."""
    from django.db import transaction
    from django.utils import timezone

    from batches.models import BatchJob
    from valify.bulk import insert_rows
    from webhooks.models import Delivery
    from webhooks.signing import new_message_id

    now = timezone.now()
    columns = ("msg_id", "batch_id", "lead_key", "payload", "status", "endpoint", "due_at",
               "next_attempt_at", "attempts", "last_error", "created_at", "updated_at",
               "customer_endpoint_id")  # fmt: skip
    batches = {}
    for target, _ in plan:
        if target.customer.pk not in batches:
            batches[target.customer.pk] = BatchJob.objects.create(
                status="completed", customer=target.customer
            )

    def rows():
        for i in range(max(count for _, count in plan)):
            for target, count in plan:
                if i >= count:
                    continue
                batch = batches[target.customer.pk]
                key = f"jose.nunez{i}.15031990"
                payload = json.dumps(
                    {
                        "type": "lead.validated",
                        "customer": target.customer.slug,
                        "id": key,
                        "first_name": "José",
                        "last_name": f"Núñez{i}",
                        "dob": "15/03/1990",
                        "validation_status": "valid",
                        "validation_errors": [],
                        "validation_timestamp": "2026-01-15T10:30:00Z",
                        "batch_id": batch.batch_id,
                        "webhook_scheduled_for": "2026-01-16T10:30:00Z",
                    },
                    ensure_ascii=False,
                )
                yield (new_message_id(), batch.pk, key, payload, "scheduled", "", now, now, 0,
                       "", now, now, target.endpoint.pk)  # fmt: skip

    with transaction.atomic():
        return insert_rows(Delivery, columns, rows())


# -- a and b ---------------------------------------------------------------------------------


def throughput(bench: Bench, args) -> list[tuple[str, str]]:
    n = args.leads
    a_rates, b_rates, a_cpu, b_cpu = [], [], [], []

    def run_a(round_number):
        cpu = bench.worker_cpu()
        start, arrived = bench.send([(bench.solo[0], n)])
        a_cpu.append((bench.worker_cpu() - cpu) / n * 1e6)
        a_rates.append(n / (arrived[0][-1] - start))
        print(
            f"round {round_number}  a  {a_rates[-1]:,.0f} deliveries/s, "
            f"worker CPU {a_cpu[-1]:,.0f} µs each"
        )

    def run_b(round_number):
        quarter = n // 4
        cpu = bench.worker_cpu()
        start, arrived = bench.send([(target, quarter) for target in bench.four])
        b_cpu.append((bench.worker_cpu() - cpu) / (4 * quarter) * 1e6)
        b_rates.append(4 * quarter / (max(times[-1] for times in arrived) - start))
        print(
            f"round {round_number}  b  {b_rates[-1]:,.0f} deliveries/s in all, "
            f"worker CPU {b_cpu[-1]:,.0f} µs each"
        )

    for round_number in range(1, args.rounds + 1):
        runs = [run for name, run in (("a", run_a), ("b", run_b)) if name in args.only]
        if round_number % 2 == 0:
            runs.reverse()  # each goes first in every other round: neither gets the fresher state
        for run in runs:
            run(round_number)
    rows = []
    if a_rates:
        rows.append((f"a  1 customer, 1 endpoint, {n:,} deliveries", _rates(a_rates)))
        rows.append(("   worker CPU per delivery", _cpu(a_cpu)))
    if b_rates:
        label = f"b  2 customers x 2 endpoints, {4 * (n // 4):,} in all"
        rows.append((label, _rates(b_rates)))
        rows.append(("   worker CPU per delivery", _cpu(b_cpu)))
    if a_rates and b_rates:
        ratios = [b / a for a, b in zip(a_rates, b_rates, strict=True)]
        rows.append(
            (
                "   b / a, round by round",
                " ".join(f"{r:.2f}" for r in ratios)
                + f"  ({'b never lower' if min(ratios) >= 1 else 'b LOWER in some round'})",
            )
        )
    return rows


def _cpu(values: list[float]) -> str:
    each = ", ".join(f"{v:,.0f}" for v in values)
    return f"median {statistics.median(values):,.0f} µs (user + system, pool included; {each})"


def _rates(values: list[float]) -> str:
    each = ", ".join(f"{v:,.0f}" for v in values)
    return f"median {statistics.median(values):,.0f} deliveries/s (sweep -> last received; {each})"


# -- c -----------------------------------------------------------------------------------------


def limited(bench: Bench, args) -> list[tuple[str, str]]:
    """One endpoint at --rate-limit, the other three unlimited with work for the same time."""
    limit = args.rate_limit
    slow = bench.four[0]
    count = max(2, round(limit * args.limited_seconds))
    others = max(1, args.leads // 3)
    bench.set_rate(slow, limit)
    try:
        start, arrived = bench.send([(slow, count)] + [(t, others) for t in bench.four[1:]])
    finally:
        bench.set_rate(slow, 0)
    mine = arrived[0]
    whole = (len(mine) - 1) / (mine[-1] - mine[0])
    others_end = max(times[-1] for times in arrived[1:])
    during = [t for t in mine if t <= others_end]
    rows = [
        (
            f"c  limited endpoint at {limit:g}/s, {count:,} deliveries",
            f"{whole:.2f}/s, error {_error(whole, limit)} (first -> last received)",
        )
    ]
    if len(during) >= 10:
        rate = (len(during) - 1) / (during[-1] - during[0])
        rows.append(
            (
                "   ... while the other 3 were sending",
                f"{rate:.2f}/s, error {_error(rate, limit)} over {during[-1] - during[0]:.1f} s"
                f" ({len(during):,} deliveries)",
            )
        )
    rows.append(
        (
            f"   the other 3, unlimited, {3 * others:,} deliveries",
            f"{3 * others / (others_end - start):,.0f} deliveries/s in all",
        )
    )
    return rows


def _error(rate: float, limit: float) -> str:
    return f"{(rate - limit) / limit * 100:+.1f} %"


# -- d -----------------------------------------------------------------------------------------


def rate_change(bench: Bench, phase: float = 5.0) -> list[tuple[str, str]]:
    """One endpoint at 10/s, changed every ``phase`` seconds to each rate of CHANGES."""
    target = bench.four[0]
    bench.set_rate(target, 10)
    changes: list[tuple[float, float, float]] = []  # (when, from, to)
    rates = [10.0, *CHANGES]

    def change(index: int) -> Callable[[], None]:
        def act() -> None:
            changes.append(
                (bench.set_rate(target, rates[index + 1]), rates[index], rates[index + 1])
            )

        return act

    events = [(phase * (i + 1), change(i)) for i in range(len(CHANGES))]
    # Enough for every limited phase; the rest goes once the limit is lifted.
    count = round(sum(rate * phase for rate in rates[:-1]) * 1.5)
    try:
        _, arrived = bench.send([(target, count)], events=events)
    finally:
        bench.set_rate(target, 0)
    times = arrived[0]
    rows = []
    for k, (when, old, new) in enumerate(changes):
        end = changes[k + 1][0] if k + 1 < len(changes) else math.inf
        held, after = took_hold(times, when, end, old, new)
        label = f"d  {old:g}/s -> {new:g}/s" if new else f"d  {old:g}/s -> unlimited"
        if held is None:
            rows.append((label, "did NOT take hold before the next change"))
        else:
            rows.append(
                (label, f"new spacing from {held:.2f} s after the change, then {after:,.1f}/s")
            )
    return rows


def took_hold(
    times: list[float], when: float, end: float, old: float, new: float, run: int = 5
) -> tuple[float | None, float]:
    """Seconds from ``when`` to the start of the first of ``run`` gaps in a row at the new
    spacing, and the rate from there to ``end``; (None, 0) if none comes before ``end``.

    A gap is at the new spacing when it lies on the new rate's side of the geometric mean
    of the two intervals (half the limited one's when either rate is unlimited).
    """
    old_gap, new_gap = (1 / r if r else 0.0 for r in (old, new))
    threshold = math.sqrt(old_gap * new_gap) if old_gap and new_gap else max(old_gap, new_gap) / 2
    faster = new_gap < old_gap if new_gap else True
    window = [i for i, t in enumerate(times) if when < t < end and i > 0]
    for position, i in enumerate(window):
        ahead = window[position : position + run]
        if len(ahead) < min(run, len(window)):
            break
        gaps = [times[j] - times[j - 1] for j in ahead]
        if all((g < threshold) == faster for g in gaps):
            last = window[-1]
            rate = (last - i) / (times[last] - times[i]) if last > i else 0.0
            # The new spacing starts at the request before that gap: the last at the old one.
            return max(0.0, times[i - 1] - when), rate
    return None, 0.0


def wait_ready(app, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return
    raise SystemExit("worker did not answer")
