"""Export a batch's results CSV to a file."""

from django.core.management.base import BaseCommand, CommandError

from batches.exports import write_results_csv
from batches.models import BatchJob


class Command(BaseCommand):
    help = "Write the results CSV of a batch (UTF-8 with BOM) to FILE."

    def add_arguments(self, parser):
        parser.add_argument("batch_id", metavar="BATCH_ID")
        parser.add_argument("-o", "--output", required=True, metavar="FILE")

    def handle(self, *args, batch_id, output, **options):
        batch = BatchJob.objects.filter(batch_id=batch_id).first()
        if batch is None:
            raise CommandError(f"unknown batch {batch_id!r}")
        with open(output, "wb") as stream:
            rows = write_results_csv(batch.leads.all(), stream)
        self.stderr.write(f"{rows} leads written to {output}")
