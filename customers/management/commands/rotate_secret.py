"""Give a customer a new signing secret; the previous one stays valid for a while."""

import json

from django.core.management.base import BaseCommand, CommandError

from customers.errors import CustomerRefused
from customers.models import Customer
from customers.services import customer_secret_rotate
from valify.timefmt import utc_iso


class Command(BaseCommand):
    help = (
        "Rotate a customer's signing secret; the previous one keeps signing for "
        "WEBHOOK_SECRET_ROTATION_HOURS."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", metavar="SLUG")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options):
        customer = Customer.objects.filter(slug=options["slug"]).first()
        if customer is None:
            raise CommandError(f"refused: unknown customer '{options['slug']}'.", returncode=1)
        try:
            plan = customer_secret_rotate(customer=customer)
        except CustomerRefused as refused:
            raise CommandError(f"refused: {refused.message}", returncode=1) from None
        if plan.dropped_previous:
            self.stderr.write(
                "Warning: the secret before the previous one was still valid and no longer is."
            )
        until = utc_iso(plan.previous_valid_until) if plan.previous_valid_until else None
        report = {"customer": customer.slug, "secret": plan.secret, "previous_valid_until": until}
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(f"New signing secret for {customer.slug}: {plan.secret}")
        if until:
            self.stdout.write(f"The previous secret keeps signing until {until}.")
