"""Export a batch's results CSV to a file."""

from django.core.management.base import BaseCommand, CommandError

from batches.exports import write_results_csv
from batches.models import BatchJob
from batches.services import command_user, lead_data_record


class Command(BaseCommand):
    help = "Write the results CSV of a batch (UTF-8 with BOM) to FILE."

    def add_arguments(self, parser):
        parser.add_argument("batch_id", metavar="BATCH_ID")
        parser.add_argument("-o", "--output", required=True, metavar="FILE")
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="Who the admin's history names (default: the inactive system user).",
        )

    def handle(self, *args, batch_id, output, user=None, **options):
        batch = BatchJob.objects.filter(batch_id=batch_id).first()
        if batch is None:
            raise CommandError(f"unknown batch {batch_id!r}")
        try:
            acting, via = command_user(username=user, command="export_results")
        except LookupError as unknown:
            raise CommandError(str(unknown)) from unknown
        try:
            stream = open(output, "wb")  # noqa: SIM115  closed below; opened first to refuse
        except OSError as refused:
            raise CommandError(f"cannot write {output!r}: {refused.strerror}") from None
        with stream:
            rows = write_results_csv(batch.leads.all(), stream)
        lead_data_record(
            user=acting, what="Exported the results CSV", rows=rows, obj=batch, via=via
        )
        self.stderr.write(f"{rows} leads written to {output}")
