"""Benchmark: what a hung receiver costs the other customers' webhooks, on PostgreSQL.

One customer's endpoint never answers (a loopback receiver that sleeps past
WEBHOOK_TIMEOUT); another customer's answers at once. The hung endpoint's deliveries are
older, so every claim takes them first, as a backlog left by a receiver that went down.
Sweeps run one after another in this process (one sender, as `bin/run` has) until every
healthy delivery is delivered, and the script prints how long that took, how many requests
the hung receiver got, and the sweeps it needed.

    python bench/hung_endpoint.py                         # 20 hung, 500 healthy, 2 s timeout
    python bench/hung_endpoint.py --hung 50 --timeout 5
    python bench/hung_endpoint.py --answer-after 1.5  # it answers 200, but after 1.5 s
"""

import argparse
import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_django  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hung", type=int, default=20, help="deliveries to the hung endpoint")
    parser.add_argument("--healthy", type=int, default=500, help="deliveries to the other")
    parser.add_argument("--timeout", type=float, default=2.0, help="WEBHOOK_TIMEOUT")
    parser.add_argument("--sweep", type=int, default=30, help="WEBHOOK_SWEEP_SECONDS")
    parser.add_argument(
        "--answer-after",
        type=float,
        default=None,
        help="the slow endpoint answers 200 after this many seconds instead of hanging",
    )
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    with scratch_django(args.pg, "hung"):
        run(args)


def run(args) -> None:
    from django.conf import settings
    from django.utils import timezone

    from customers.services import customer_create, endpoint_create
    from tests.receiver import Receiver
    from tests.webhooks.factories import make_batch, make_deliveries
    from webhooks.models import Delivery, DeliveryStatus
    from webhooks.services import deliveries_sweep

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_SECRET, settings.WEBHOOK_URL = "", ""
    settings.WEBHOOK_TIMEOUT = args.timeout
    settings.WEBHOOK_LEASE_SECONDS = max(80, 3 * args.timeout)
    settings.WEBHOOK_SWEEP_SECONDS = args.sweep
    settings.WEBHOOK_RATE_LIMIT = 0

    async def hang(request):
        if args.answer_after is not None:
            await asyncio.sleep(args.answer_after)
            return 200, {}, b""
        await asyncio.sleep(args.timeout * 3)
        return 204, {}, b""

    acme = customer_create(slug="acme", name="Acme").customer
    beta = customer_create(slug="beta", name="Beta").customer
    with (
        Receiver(secret=acme.secret, responder=hang, keep_requests=False) as hung_rx,
        Receiver(secret=beta.secret, keep_requests=False) as fast_rx,
    ):
        hung = endpoint_create(customer=acme, url=hung_rx.url)
        fast = endpoint_create(customer=beta, url=fast_rx.url)
        earlier = timezone.now() - timedelta(minutes=5)
        make_deliveries(args.hung, batch=make_batch(customer=acme), customer_endpoint=hung,
                        due=earlier)  # fmt: skip
        make_deliveries(args.healthy, batch=make_batch(customer=beta), customer_endpoint=fast)
        healthy = Delivery.objects.filter(customer_endpoint=fast)

        started = time.perf_counter()
        sweeps = 0
        while healthy.exclude(status=DeliveryStatus.DELIVERED).exists():
            deliveries_sweep()
            sweeps += 1
        elapsed = time.perf_counter() - started
    how = f"answers after {args.answer_after:g} s" if args.answer_after is not None else "hangs"
    print(f"hung endpoint         {args.hung} deliveries ({how}), timeout {args.timeout:g} s")
    print(f"healthy endpoint      {args.healthy} deliveries, all delivered after {elapsed:.1f} s")
    print(f"requests to the hung  {hung_rx.request_count}")
    print(f"sweeps                {sweeps} (WEBHOOK_SWEEP_SECONDS {args.sweep})")


if __name__ == "__main__":
    main()
