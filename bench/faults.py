"""Benchmark: faults during an N-lead batch on the real services, one line per fault.

Each scenario imports the same generated file (tests/leadgen.py, 20,000 leads by default)
into a scratch PostgreSQL database (created for the run and dropped at the end; its tables
are emptied between scenarios), with a private redis-server as broker (the machine's own
Redis is never touched), real `celery worker` and `celery beat` processes, and the loopback
webhook receiver of tests/receiver.py. The fault strikes while the batch or its sending is
under way, is undone, and the scenario waits until the batch is completed and every delivery
delivered:

  baseline          no fault; timed from where the mid-batch faults strike (--at, 40%
                    validated, when the first webhooks are usually going out too)
  kill-mid-batch    worker and pool SIGKILLed at 40% validated, then a new worker
  kill-mid-send     the batch validated with sending paused (the admin switch), then sending
                    resumed and the worker SIGKILLed at 30% delivered, then a new worker
  redis-restart     the private Redis killed at 40% validated (queued and unacknowledged
                    messages are lost: it keeps nothing on disk), back a second later
  postgres-restart  the machine's PostgreSQL cluster restarted at 40% validated; this cuts
                    every connection on the machine, other users' included (--skip it)
  receiver-down     the receiver stops listening at 10% delivered for --down seconds (10)
  two-beats         a second beat from the start; at 40% validated the worker is SIGKILLed
                    and restarted, so both beats' reconcilers re-drive the same batch
  hostile-receiver  beside the healthy endpoint, --hostile deliveries (due before the batch)
                    go to a second receiver that answers half of them 503 with a
                    `Retry-After` of 400 digits and drips the other half's headers a byte
                    every 0.5 s; the healthy batch must still finish as usual, and no
                    hostile webhook-id may be in flight twice at once (`fault at` shows
                    that receiver's requests, ids and overlaps)

Columns: `lost` leads not in a final state (file rows minus valid, invalid and duplicate
rows); `undelivered` non-duplicate leads the receiver never got; `dup` deliveries of a lead
beyond its first under another webhook-id (never expected; a lead as a receiver sees it:
the batch and the person in the payload, and generated first names carry their row number);
`same-id` a webhook-id received again (expected after a kill: sending is at least once, and
receivers de-duplicate by webhook-id); `recover` seconds from the fault undone (the new
worker ready, Redis or PostgreSQL accepting connections, the receiver listening) until the
batch is completed and every delivery delivered; `fault at` where it struck (share of the
leads validated, of the webhooks received, and deliveries claimed by senders). A scenario
prints FAIL with the reasons unless every lead is in exactly one final state with the
file's counts, every non-duplicate lead has one delivery, delivered, received and verified.

Settings lowered for the run (in the worker's and beat's environment, and the periodic task
rows), so recovery plays out in seconds rather than minutes; the rest keep their defaults:

  STALL_TIMEOUT_SECONDS 3 (90)   how long a batch's progress may stand still before the
                                 reconciler re-queues its pending rows; 90 s would make
                                 every kill or lost message cost a minute and a half
  batches.reconcile every 1 s (30 s)      the reconciler's period, for the same reason
  WEBHOOK_SWEEP_SECONDS 1 (30)            sweeps (and so sending) every second, not every 30 s
  WEBHOOK_LEASE_SECONDS 8 (80)            a dead sender's claimed deliveries are due again
  WEBHOOK_TIMEOUT 2 (30)                  after 8 s; the lease must outlast the timeout by 6 s
  WEBHOOK_RETRY_SCHEDULE 1,2,4,8,15,30    retries in seconds while the receiver is down
                (60,300,...)              (about a minute in all, well over --down)
  WEBHOOK_DELAY_SECONDS 0 (86400)         deliveries fall due as soon as they are validated:
                                          validating 20,000 leads takes about 5 s, and
                                          with a 1-2 s delay hardly any had been sent by
                                          then, so the mid-batch faults met no send in
                                          flight
  MAX_LEADS_PER_BATCH N (10000)           so an N-lead file is accepted

    python bench/faults.py                          # 20,000 leads, every scenario
    python bench/faults.py -n 5000 --only kill-mid-batch,receiver-down
    python bench/faults.py --skip postgres-restart  # leave the machine's PostgreSQL alone
"""

import argparse
import base64
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.faultrig import (  # noqa: E402
    FaultRig,
    db_safe,
    import_file,
    outcome_problems,
    periodic_every_second,
    restart_postgresql,
    scratch_database,
)
from tests.integration_support import wait_for  # noqa: E402
from tests.leadgen import generate_leads  # noqa: E402

SCENARIOS: dict[str, Callable] = {}  # name -> strike(run): filled by @scenario below
BENCH_SETTINGS = {
    "STALL_TIMEOUT_SECONDS": "3",
    "WEBHOOK_SWEEP_SECONDS": "1",
    "WEBHOOK_LEASE_SECONDS": "8",
    "WEBHOOK_TIMEOUT": "2",
    "WEBHOOK_RETRY_SCHEDULE": "1,2,4,8,15,30",
    "WEBHOOK_DELAY_SECONDS": "0",
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
}
FINAL_LEAD_STATUSES = ("valid", "invalid", "duplicate")
# Emptied between scenarios: each starts with no batch, lead owner or delivery.
SCENARIO_TABLES = (
    "batches_batchjob", "batches_batchfile", "leads_leadvalidation", "leads_leadowner",
    "webhooks_delivery", "webhooks_deliveryattempt", "django_celery_results_taskresult",
    "django_celery_results_chordcounter", "django_celery_results_groupresult",
)  # fmt: skip
COLUMNS = "{:<17} {:>5} {:>11} {:>4} {:>7} {:>9}  {:<44} {}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--leads", type=int, default=20_000)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--at", type=float, default=0.4, help="share validated when a mid-batch fault strikes"
    )
    parser.add_argument("--down", type=float, default=10, help="seconds the receiver is down")
    parser.add_argument(
        "--hostile", type=int, default=8, help="deliveries to the hostile receiver (half drip)"
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds a scenario may take")
    parser.add_argument("--only", default="", help="comma-separated scenarios to run")
    parser.add_argument("--skip", default="", help="comma-separated scenarios to leave out")
    args = parser.parse_args()
    names = [n for n in (args.only.split(",") if args.only else SCENARIOS) if n]
    skip = {n for n in args.skip.split(",") if n}
    unknown = sorted((set(names) | skip) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    names = [n for n in names if n not in skip]

    work = Path(tempfile.mkdtemp(prefix="valify-faults-"))
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    env = {
        **os.environ,
        **BENCH_SETTINGS,
        "WEBHOOK_SECRET": secret,
        "MAX_LEADS_PER_BATCH": str(max(args.leads, 10_000)),
        "MAX_UPLOAD_MB": "200",
        "MEDIA_ROOT": str(work / "media"),
        "PYTHONUNBUFFERED": "1",
    }
    failed = False
    started = time.monotonic()
    with scratch_database(args.pg, env, prefix="valify_bench_faults") as url:
        env["DATABASE_URL"] = url
        os.environ.update(env)
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valify.settings")
        django.setup()
        from django.db import connections

        from tests.receiver import Receiver

        periodic_every_second("batches.reconcile")
        periodic_every_second("webhooks.sweep")
        tally = Tally()
        receiver = Receiver(secret=secret, keep_requests=False, responder=tally.respond).start()
        env["WEBHOOK_URL"] = receiver.url
        try:
            generated = generate_leads(args.leads, seed=31)
            leads_file = work / "leads.csv"
            leads_file.write_bytes(generated.content)
            webhooks = generated.valid + generated.invalid
            print(
                f"faults on {args.leads:,}-lead batches ({generated.valid:,} valid, "
                f"{generated.invalid:,} invalid, {generated.duplicate:,} duplicate: "
                f"{webhooks:,} webhooks each); {args.concurrency} worker processes; "
                f"load {load()}",
                flush=True,
            )
            header = ("scenario", "lost", "undelivered", "dup", "same-id", "recover s")
            print(COLUMNS.format(*header, "fault at", "result"), flush=True)
            for name in names:
                run = Run(
                    name=name,
                    args=args,
                    env=env,
                    log_dir=work / name,
                    leads_file=leads_file,
                    generated=generated,
                    tally=tally,
                    receiver=receiver,
                )
                result = run_scenario(run)
                failed = failed or bool(result.problems)
                print(result.line(), flush=True)
        finally:
            receiver.stop()
            connections.close_all()
    print(f"total wall time {time.monotonic() - started:.1f} s; load {load()}")
    if failed:
        print(f"FAIL: worker and beat logs kept in {work}")
        sys.exit(1)
    shutil.rmtree(work, ignore_errors=True)


def load() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


class Tally:
    """What the receiver got: requests, webhook-ids, and the webhook-ids of each lead."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.requests = 0
            self.unverified = 0
            self.ids: set[str] = set()
            self.leads: dict[tuple, set[str]] = defaultdict(set)

    def respond(self, request):
        """The receiver's responder (on its event loop): note the request, answer 204."""
        payload = json.loads(request.body)
        lead = (payload["batch_id"], payload["first_name"], payload["last_name"], payload["dob"])
        msg_id = request.headers.get("webhook-id", "")
        with self.lock:
            self.requests += 1
            self.unverified += request.verified is not True
            self.ids.add(msg_id)
            self.leads[lead].add(msg_id)
        return 204, {}, b""

    @property
    def received(self) -> int:
        """Leads received at least once."""
        return len(self.leads)


@dataclass
class Run:
    name: str
    args: argparse.Namespace
    env: dict[str, str]
    log_dir: Path
    leads_file: Path
    generated: object
    tally: Tally
    receiver: object
    rig: FaultRig | None = None
    batch_pk: int = 0
    hostile_receiver: object | None = None

    @property
    def webhooks(self) -> int:
        return self.generated.valid + self.generated.invalid

    def validated(self) -> int:
        from batches.models import BatchJob

        return (
            db_safe(
                lambda: (
                    BatchJob.objects.filter(pk=self.batch_pk)
                    .values_list("processed_leads", flat=True)
                    .first()
                ),
                None,
            )
            or 0
        )

    def wait_validated(self, share: float) -> None:
        rows = int(self.generated.total * share)
        wait_for(
            lambda: self.validated() >= rows,
            timeout=self.args.timeout,
            interval=0.02,
            message=f"{share:.0%} of the batch to be validated",
        )

    def wait_received(self, share: float) -> None:
        wait_for(
            lambda: self.tally.received >= int(self.webhooks * share),
            timeout=self.args.timeout,
            interval=0.01,
            message=f"{share:.0%} of the webhooks to be received",
        )

    def wait_finished(self) -> None:
        """Until the batch is final and no delivery is left to send."""
        from batches.models import BatchJob
        from webhooks.models import OPEN_STATUSES, Delivery

        def finished() -> bool:
            return db_safe(
                lambda: (
                    BatchJob.objects.filter(
                        pk=self.batch_pk, status__in=("completed", "failed", "cancelled")
                    ).exists()
                    and not Delivery.objects.filter(
                        batch_id=self.batch_pk, status__in=OPEN_STATUSES
                    ).exists()
                ),
                False,
            )

        wait_for(finished, timeout=self.args.timeout, interval=0.1, message="the batch to end")

    def progress(self) -> str:
        """Where the batch is: validated, delivered, and claimed (being sent) right now."""
        from webhooks.models import Delivery, DeliveryStatus

        claimed = db_safe(lambda: Delivery.objects.filter(status=DeliveryStatus.SENDING).count())
        return (
            f"{self.validated() / self.generated.total:.0%} validated, "
            f"{self.tally.received / self.webhooks:.0%} delivered, "
            f"{'?' if claimed is None else claimed} claimed"
        )

    def kill_and_restart_worker(self) -> tuple[float, str]:
        self.rig.worker.kill()
        at = self.progress()
        self.rig.worker.start()  # returns once the new worker is ready
        return time.monotonic(), at


@dataclass
class Result:
    name: str
    lost: int | str = "-"
    undelivered: int | str = "-"
    dup: int | str = "-"
    same_id: int | str = "-"
    recover: float | None = None
    at: str = ""
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        recover = f"{self.recover:.1f}" if self.recover is not None else "-"
        verdict = "FAIL: " + "; ".join(self.problems) if self.problems else "ok"
        return COLUMNS.format(
            self.name, self.lost, self.undelivered, self.dup, self.same_id, recover, self.at,
            verdict,
        )  # fmt: skip


def scenario(strike: Callable[[Run], tuple[float, str]]) -> Callable:
    """Register a scenario: ``strike(run)`` waits, injects the fault, undoes it and returns
    (time.monotonic() when it was undone, where it struck)."""
    SCENARIOS[strike.__name__.replace("_", "-")] = strike
    return strike


@scenario
def baseline(run: Run) -> tuple[float, str]:
    run.wait_validated(run.args.at)
    return time.monotonic(), run.progress()


@scenario
def kill_mid_batch(run: Run) -> tuple[float, str]:
    run.wait_validated(run.args.at)
    return run.kill_and_restart_worker()


@scenario
def kill_mid_send(run: Run) -> tuple[float, str]:
    from batches.models import BatchJob
    from webhooks.models import WebhookControl

    # Paused before the import (see run_scenario): all N are due at once when it lifts.
    wait_for(
        lambda: BatchJob.objects.filter(pk=run.batch_pk, status="completed").exists(),
        timeout=run.args.timeout,
        interval=0.1,
        message="the batch to be validated",
    )
    WebhookControl.objects.filter(pk=WebhookControl.SINGLETON_PK).update(paused=False)
    run.wait_received(0.3)
    return run.kill_and_restart_worker()


@scenario
def redis_restart(run: Run) -> tuple[float, str]:
    run.wait_validated(run.args.at)
    at = run.progress()
    run.rig.redis.restart(down_for=1.0)  # start() returns once it accepts connections
    return time.monotonic(), at


@scenario
def postgres_restart(run: Run) -> tuple[float, str]:
    run.wait_validated(run.args.at)
    at = run.progress()
    restart_postgresql()  # returns once the cluster is up again
    return time.monotonic(), at


@scenario
def receiver_down(run: Run) -> tuple[float, str]:
    run.wait_received(0.1)
    at = run.progress()
    run.receiver.pause()
    time.sleep(run.args.down)
    run.receiver.resume()
    return time.monotonic(), at


@scenario
def two_beats(run: Run) -> tuple[float, str]:
    run.wait_validated(run.args.at)  # the second beat was started with the rig
    return run.kill_and_restart_worker()


POISON_RETRY_AFTER = "1" + "0" * 400
DRIP_EVERY = 0.5  # a byte of the answer's head this often: inside every read timeout


class Hostile:
    """The second receiver's answers, and when each webhook-id arrived there."""

    def __init__(self):
        self.lock = threading.Lock()
        self.arrivals: dict[str, list[float]] = defaultdict(list)

    def respond(self, request):
        from tests.receiver import Drip

        msg_id = request.headers.get("webhook-id", "")
        with self.lock:
            self.arrivals[msg_id].append(request.received_at)
        if json.loads(request.body).get("hostile") == "poison":
            return 503, {"Retry-After": POISON_RETRY_AFTER}, b""
        return Drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 120, every=DRIP_EVERY)

    def overlaps(self, timeout: float) -> int:
        """Requests that arrived while an earlier one for the same webhook-id could still
        be in flight (a request lasts at most WEBHOOK_TIMEOUT; the schedule waits longer)."""
        with self.lock:
            return sum(
                1
                for times in self.arrivals.values()
                for earlier, later in zip(sorted(times), sorted(times)[1:], strict=False)
                if later - earlier < timeout
            )

    def summary(self, timeout: float) -> str:
        with self.lock:
            requests = sum(len(times) for times in self.arrivals.values())
            ids = len(self.arrivals)
        return f"hostile: {requests} requests, {ids} ids, {self.overlaps(timeout)} overlaps"


def add_hostile_deliveries(url: str, count: int) -> None:
    """A batch of its own whose deliveries go to ``url``, due now, before the healthy ones."""
    from datetime import timedelta

    from django.utils import timezone

    from batches.models import BatchJob, BatchStatus
    from webhooks.models import Delivery, DeliveryStatus

    batch = BatchJob.objects.create(status=BatchStatus.COMPLETED, webhook_url=url)
    due = timezone.now() - timedelta(seconds=1)
    Delivery.objects.bulk_create(
        Delivery(
            batch=batch,
            lead_key=f"hostile.{n}",
            payload={"batch_id": batch.batch_id, "hostile": "poison" if n % 2 else "drip"},
            status=DeliveryStatus.SCHEDULED,
            due_at=due,
            next_attempt_at=due,
        )
        for n in range(count)
    )


@scenario
def hostile_receiver(run: Run) -> tuple[float, str]:
    # The hostile deliveries were due before the import (see run_scenario).
    run.wait_validated(run.args.at)
    return time.monotonic(), run.progress()


def run_scenario(run: Run) -> Result:
    from batches.models import BatchJob
    from tests.receiver import Receiver

    result = Result(run.name)
    hostile = None
    reset_tables()
    run.tally.reset()
    run.log_dir.mkdir(parents=True)
    run.rig = FaultRig(run.env, run.log_dir, concurrency=run.args.concurrency)
    try:
        run.rig.start()
        if run.name == "two-beats":
            run.rig.add_beat()
        if run.name == "kill-mid-send":
            pause_sending()
        if run.name == "hostile-receiver":
            hostile = Hostile()
            run.hostile_receiver = Receiver(responder=hostile.respond, keep_requests=False)
            run.hostile_receiver.start()
            add_hostile_deliveries(run.hostile_receiver.url, run.args.hostile)
        batch_id = import_file(run.leads_file, run.rig.env)
        run.batch_pk = BatchJob.objects.get(batch_id=batch_id).pk
        undone_at, result.at = SCENARIOS[run.name](run)
        run.wait_finished()
        result.recover = time.monotonic() - undone_at
    except Exception as exc:
        result.problems.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        run.rig.stop()
        if run.hostile_receiver is not None:
            run.hostile_receiver.stop()
    if run.batch_pk:
        measure(run, result)
    if run.hostile_receiver is not None:
        judge_hostile(run, hostile, result)
    return result


def judge_hostile(run: Run, hostile: Hostile, result: Result) -> None:
    """Add what the hostile receiver saw to the line, and what went wrong with its share."""
    from webhooks.models import Delivery, DeliveryStatus
    from webhooks.retry import parse_schedule

    timeout = float(BENCH_SETTINGS["WEBHOOK_TIMEOUT"])
    result.at = hostile.summary(timeout)
    if hostile.overlaps(timeout):
        result.problems.append("a hostile webhook-id was in flight twice at once")
    theirs = Delivery.objects.exclude(batch_id=run.batch_pk)
    if theirs.filter(status=DeliveryStatus.DELIVERED).exists():
        result.problems.append("a hostile delivery was recorded delivered")
    most = max(theirs.values_list("attempts", flat=True), default=0)
    allowed = len(parse_schedule(BENCH_SETTINGS["WEBHOOK_RETRY_SCHEDULE"])) + 1
    if most > allowed:
        result.problems.append(f"a hostile delivery used {most} attempts (at most {allowed})")


def measure(run: Run, result: Result) -> None:
    """Fill in the counts and the problems from the rows and from what the receiver got."""
    from leads.models import LeadValidation
    from webhooks.models import Delivery, DeliveryStatus

    generated, tally = run.generated, run.tally
    final = LeadValidation.objects.filter(batch_id=run.batch_pk, status__in=FINAL_LEAD_STATUSES)
    result.lost = generated.total - final.count()
    result.undelivered = run.webhooks - tally.received
    result.dup = sum(len(ids) - 1 for ids in tally.leads.values())
    result.same_id = tally.requests - len(tally.ids)
    problems = outcome_problems(run.batch_pk, generated)
    if result.lost:
        problems.insert(0, f"{result.lost:,} leads lost")
    mine = Delivery.objects.filter(batch_id=run.batch_pk)  # not the hostile receiver's
    open_or_failed = mine.exclude(status=DeliveryStatus.DELIVERED).count()
    if open_or_failed:
        problems.append(f"{open_or_failed:,} deliveries not delivered")
    if result.undelivered:
        problems.append(f"{result.undelivered:,} leads never received")
    if result.dup:
        problems.append(f"{result.dup:,} leads received under two webhook-ids")
    if tally.unverified:
        problems.append(f"{tally.unverified:,} requests failed signature verification")
    result.problems.extend(problems)


def reset_tables() -> None:
    from django.db import connection

    from webhooks.models import WebhookControl

    connection.close()  # a PostgreSQL restart may have cut it
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(SCENARIO_TABLES)} CASCADE")
    WebhookControl.objects.filter(pk=WebhookControl.SINGLETON_PK).update(paused=False)


def pause_sending() -> None:
    from webhooks.models import WebhookControl

    WebhookControl.objects.update_or_create(
        pk=WebhookControl.SINGLETON_PK, defaults={"paused": True}
    )


if __name__ == "__main__":
    main()
