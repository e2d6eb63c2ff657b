"""Re-send deliveries chosen by batch, lead, status and creation time, as new deliveries."""

import argparse
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from batches.models import BatchJob
from customers.models import Customer, Endpoint
from webhooks.models import FINAL_STATUSES, Delivery
from webhooks.selectors import deliveries_for_resend
from webhooks.services import deliveries_resend

ANY_STATUS = "any"
LISTED = 20  # deliveries listed by name; -v 2 lists them all


def parse_utc(value: str) -> datetime:
    """Parse ISO 8601 (``2026-01-15``, ``2026-01-15T10:30:00Z``); no offset means UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        # argparse's own error: the usage and this line, not a traceback.
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time, e.g. 2026-01-15T10:30:00Z"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class Command(BaseCommand):
    help = (
        "Re-send finished webhook deliveries as new ones (new webhook-id, same payload). "
        "Filters combine; at least --batch, --lead, --since or --until is required."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", metavar="BATCH_ID", help="Only this batch's deliveries.")
        parser.add_argument("--lead", metavar="LEAD_ID", help="Only this lead id's deliveries.")
        parser.add_argument(
            "--customer", metavar="SLUG", help="Only deliveries of this customer's batches."
        )
        parser.add_argument(
            "--endpoint", type=int, metavar="ID", help="Only deliveries to this customer endpoint."
        )
        parser.add_argument(
            "--status",
            default="failed",
            choices=[*(str(s) for s in FINAL_STATUSES), ANY_STATUS],  # listed by value
            help="Deliveries in this status (default: failed; 'any' = any finished one).",
        )
        parser.add_argument(
            "--since", type=parse_utc, metavar="ISO", help="Created at or after (UTC)."
        )
        parser.add_argument("--until", type=parse_utc, metavar="ISO", help="Created before (UTC).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be re-sent; change nothing."
        )

    def handle(
        self, *args, batch, lead, customer, endpoint, status, since, until, dry_run, verbosity, **_
    ):
        if not (batch or lead or since or until):
            raise CommandError(
                "refusing to re-send without a filter: give --batch, --lead, --since or --until"
            )
        if batch and not BatchJob.objects.filter(batch_id=batch).exists():
            raise CommandError(f"unknown batch {batch!r}")
        if customer and not Customer.objects.filter(slug=customer).exists():
            raise CommandError(f"unknown customer {customer!r}")
        if endpoint is not None and not Endpoint.objects.filter(pk=endpoint).exists():
            raise CommandError(f"unknown endpoint {endpoint}")
        if since and until and since >= until:
            raise CommandError("--since must be before --until")
        chosen = deliveries_for_resend(
            batch_id=batch,
            lead_id=lead,
            status=None if status == ANY_STATUS else status,
            since=since,
            until=until,
            customer=customer,
            endpoint_pk=endpoint,
        )
        described = _describe(
            batch=batch,
            lead=lead,
            customer=customer,
            endpoint=endpoint,
            status=status,
            since=since,
            until=until,
        )
        limit = None if verbosity >= 2 else LISTED
        if dry_run:
            originals = list(chosen.values_list("msg_id", "lead_key", "status"))
            self.stdout.write(f"Dry run: would re-send {len(originals)} deliveries ({described}).")
            for msg_id, lead_key, was in originals[:limit]:
                self.stdout.write(f"  {msg_id}  {lead_key or '-'}  {was}")
            self._more(len(originals), limit)
            return
        created = deliveries_resend(deliveries=chosen)
        self.stdout.write(f"Re-sent {len(created)} deliveries ({described}).")
        originals = Delivery.objects.filter(pk__in=[d.resend_of_id for d in created])
        old_ids = dict(originals.values_list("pk", "msg_id"))
        for delivery in created[:limit]:
            self.stdout.write(
                f"  {old_ids.get(delivery.resend_of_id, '?')} -> {delivery.msg_id}  "
                f"{delivery.lead_key or '-'}"
            )
        self._more(len(created), limit)

    def _more(self, total: int, limit: int | None) -> None:
        if limit is not None and total > limit:
            self.stdout.write(f"  ... and {total - limit} more (-v 2 lists them all)")


def _describe(**filters) -> str:
    parts = []
    for name, value in filters.items():
        if value:
            text = value.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, datetime) else value
            parts.append(f"{name} {text}")
    return ", ".join(parts)
