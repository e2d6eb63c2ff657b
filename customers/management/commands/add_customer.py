"""Add a customer with a fresh signing secret and, optionally, its endpoints."""

import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from customers.services import customer_create


class Command(BaseCommand):
    help = "Add a customer (it gets a signing secret) with its webhook endpoints."

    def add_arguments(self, parser):
        parser.add_argument("slug", metavar="SLUG", help="a-z, 0-9 and hyphens, 1-50 characters.")
        parser.add_argument("--name", required=True)
        parser.add_argument("--endpoint", action="append", default=[], metavar="URL")
        parser.add_argument(
            "--rate-limit", type=float, default=None, help="Requests/s per endpoint; 0 = none."
        )
        parser.add_argument("--alert-email", action="append", default=[], metavar="E")
        parser.add_argument("--max-leads-per-day", type=int, default=0)
        parser.add_argument("--max-open-batches", type=int, default=0)
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options):
        if options["rate_limit"] is not None and options["rate_limit"] < 0:
            raise CommandError("refused: --rate-limit must be 0 or more.", returncode=1)
        try:
            made = customer_create(
                slug=options["slug"],
                name=options["name"],
                endpoint_urls=options["endpoint"],
                rate_limit=options["rate_limit"],
                alert_emails=options["alert_email"],
                max_leads_per_day=options["max_leads_per_day"],
                max_open_batches=options["max_open_batches"],
            )
        except ValidationError as refused:
            raise CommandError(f"refused: {_said(refused.messages)}", returncode=1) from None
        report = {
            "customer": made.customer.slug,
            "secret": made.customer.secret,
            "endpoints": [{"id": e.pk, "url": e.url} for e in made.endpoints],
        }
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(f"Customer {report['customer']} added.")
        self.stdout.write(f"Signing secret (give it to the customer): {report['secret']}")
        for endpoint in report["endpoints"]:
            self.stdout.write(f"Endpoint {endpoint['id']}: {endpoint['url']}")


def _said(messages: list[str]) -> str:
    """The refusal in this command's words: its URLs are given as --endpoint."""
    text = "; ".join(message.replace("The URL", "--endpoint URL", 1) for message in messages)
    if not settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS and ("https" in text or "private" in text):
        text += (
            " (a receiver on this machine or a private network, for testing, needs "
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS=true, in this command's environment and the workers')"
        )
    return text
