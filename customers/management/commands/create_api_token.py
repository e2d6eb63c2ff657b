"""Create an API token for a staff user, optionally scoped to one customer."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.models import ApiToken
from customers.models import Customer
from customers.selectors import customer_visible_to


class Command(BaseCommand):
    help = "Create an API token (shown once; only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username", metavar="USERNAME")
        parser.add_argument("--customer", metavar="SLUG", help="Scope the token to a customer.")
        parser.add_argument("--name", default="command line", help="What the token is for.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"refused: no user '{options['username']}'.", returncode=1)
        customer = None
        if options["customer"]:
            customer = Customer.objects.filter(slug=options["customer"]).first()
            if customer is None:
                raise CommandError(
                    f"refused (unknown_customer): unknown customer '{options['customer']}'.",
                    returncode=1,
                )
            if not customer_visible_to(user, customer.pk):
                raise CommandError(
                    f"refused: '{user.get_username()}' does not act for customer "
                    f"'{customer.slug}': make them a member of it first.",
                    returncode=1,
                )
        _, plain = ApiToken.issue(name=options["name"], user=user, customer=customer)
        report = {"token": plain, "customer": customer.slug if customer else None}
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(f"Token (shown once): {plain}")
        if customer:
            self.stdout.write(f"Scoped to customer {customer.slug}.")
