"""Add a file's e-mails, phones, lead ids and postcodes to the suppression list."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from customers.models import Customer
from screening.services import SuppressionFileError, suppressions_import

_SHOWN = 20


class Command(BaseCommand):
    help = (
        "Suppress the values of FILE (CSV with columns email/phone/lead_id/postcode, or one "
        "value per line, its kind detected) for one customer (--customer) or for all. Only "
        "keyed hashes are stored. Bad values are reported by line and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--customer", metavar="SLUG", help="Default: every customer.")

    def handle(self, *args, **options):
        customer = None
        if options["customer"]:
            customer = Customer.objects.filter(slug=options["customer"]).first()
            if customer is None:
                raise CommandError(f"unknown customer {options['customer']!r}.")
        path = Path(options["file"])
        try:
            with path.open("rb") as stream:
                report = suppressions_import(stream=stream, name=path.name, customer=customer)
        except SuppressionFileError as refused:
            raise CommandError(str(refused)) from refused
        except OSError as failed:
            raise CommandError(f"{path}: {failed.strerror or failed}") from failed
        for line, reason in report.bad_lines[:_SHOWN]:
            self.stderr.write(f"{path.name}: line {line}: {reason}")
        if report.bad_count > _SHOWN:
            self.stderr.write(f"{path.name}: ... and {report.bad_count - _SHOWN} more bad values")
        scope = f"customer {customer.slug}" if customer else "every customer"
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(report.kinds.items())) or "none"
        self.stdout.write(
            f"Suppressed for {scope}: {report.added} added, "
            f"{report.values - report.added} already there ({kinds}); {report.bad_count} bad."
        )
