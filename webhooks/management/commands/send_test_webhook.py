"""Send the test webhook to one endpoint and print what it answered."""

from django.core.management.base import BaseCommand, CommandError

from customers.models import Endpoint
from webhooks.services.probe import endpoint_send_test


class Command(BaseCommand):
    help = (
        "Send a signed {'type': 'webhook.test'} request to a customer endpoint (even a disabled "
        "one, whatever the sending switch) and print the answer. Exit 0 on 2xx, 1 otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument("endpoint_id", type=int, metavar="ENDPOINT_ID")

    def handle(self, *args, endpoint_id: int, **options):
        endpoint = Endpoint.objects.select_related("customer").filter(pk=endpoint_id).first()
        if endpoint is None:
            raise CommandError(f"No endpoint {endpoint_id}.")
        report = endpoint_send_test(endpoint=endpoint)
        if not report.ok:
            raise CommandError(str(report))
        self.stdout.write(str(report))
