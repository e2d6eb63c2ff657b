"""Benchmark: the company provider path, against a fake provider on loopback.

Two batches of N leads spread over D company domains are split and validated in this
process (no Celery) on the embedded SQLite database (or DATABASE_URL if set). The first
batch fetches every domain into the cache before each chunk's transaction; the second,
other people at the same companies, should find them all there. Prints the provider
lookups per second, each batch's leads/s, and the second batch's cache hit rate.

    python bench/enrich_provider.py                         # 5,000 leads, 1,000 domains
    python bench/enrich_provider.py --latency-ms 50         # a provider answering in 50 ms
    python bench/enrich_provider.py --rate-limit 20 -d 200  # ENRICH_COMPANY_RATE_LIMIT=20
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--leads", type=int, default=5_000)
    parser.add_argument("-d", "--domains", type=int, default=1_000)
    parser.add_argument("--latency-ms", type=float, default=0, help="the fake's answer delay")
    parser.add_argument(
        "--rate-limit", type=float, default=0, help="ENRICH_COMPANY_RATE_LIMIT (0 = off)"
    )
    parser.add_argument("--budget", type=float, default=600, help="ENRICH_CHUNK_BUDGET_SECONDS")
    args = parser.parse_args()

    from tests.leads.provider_support import FakeProvider

    companies = {
        f"firm{n}.co.uk": {"name": f"Firm {n}", "size": "11-50", "location": "GB"}
        for n in range(args.domains)
    }
    with FakeProvider(companies, keep_requests=False) as fake, tempfile.TemporaryDirectory() as var:
        if args.latency_ms:
            fake.script = _Delays(args.latency_ms / 1000)
        os.environ.update(
            {
                "VALIFY_VAR_DIR": var,
                "ENRICH_COMPANY_URL": fake.url,
                "ENRICH_COMPANY_API_KEY": "bench",
                "ENRICH_COMPANY_RATE_LIMIT": str(args.rate_limit),
                "ENRICH_CHUNK_BUDGET_SECONDS": str(args.budget),
                "LOG_LEVEL": "WARNING",
                "DJANGO_DEBUG": "false",
                "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
            }
        )
        os.environ.pop("CELERY_BROKER_URL", None)
        os.environ.pop("REDIS_URL", None)
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valify.settings")
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        print(
            f"leads                 {args.leads:,} per batch, {args.domains:,} domains, "
            f"latency {args.latency_ms:g} ms, rate limit {args.rate_limit or 'off'}"
        )
        first = run_batch(args, people_offset=0)
        asked = fake.request_count
        print(
            f"batch 1 (cold cache)  {first['seconds']:6.2f} s  {args.leads / first['seconds']:8.0f}"
            f" leads/s  {asked:,} lookups ({asked / first['seconds']:.0f} per second of batch)"
        )
        second = run_batch(args, people_offset=args.leads)
        extra = fake.request_count - asked
        print(
            f"batch 2 (warm cache)  {second['seconds']:6.2f} s  "
            f"{args.leads / second['seconds']:8.0f} leads/s  {extra:,} lookups"
        )
        print(
            f"cache hit rate        {second['cached'] / max(1, second['answered']):.1%} of "
            f"{second['answered']:,} leads with an answer in batch 2"
        )


class _Delays(dict):
    """A script that answers every domain after the same pause."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def get(self, domain, default=None):
        return [("sleep", self.seconds)]


def run_batch(args, *, people_offset: int) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from batches.services import batch_create, batch_finalize, batch_split, chunk_validate
    from leads.models import LeadValidation

    lines = ["first_name,last_name,dob,email"]
    for i in range(people_offset, people_offset + args.leads):
        day, month = 1 + i % 28, 1 + (i // 28) % 12
        lines.append(
            f"Ann{i},Lee{i},{day:02d}/{month:02d}/{1950 + i % 50},a{i}@firm{i % args.domains}.co.uk"
        )
    upload = SimpleUploadedFile("bench.csv", "\n".join(lines).encode(), content_type="text/csv")
    batch = batch_create(files=[upload], queue=False)
    started = time.perf_counter()
    for first, last in batch_split(batch_pk=batch.pk):
        chunk_validate(batch_pk=batch.pk, first_seq=first, last_seq=last)
    batch_finalize(batch_pk=batch.pk)
    seconds = time.perf_counter() - started
    results = [
        (e or {}).get("company_provider") or {}
        for e in LeadValidation.objects.filter(batch=batch).values_list("enrichment", flat=True)
    ]
    answered = [r for r in results if r.get("status") == "ok" or r.get("reason") == "not_found"]
    return {
        "seconds": seconds,
        "answered": len(answered),
        "cached": sum(1 for r in answered if r.get("cached")),
    }


if __name__ == "__main__":
    main()
