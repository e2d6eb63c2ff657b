"""Import lead files as one batch: queue it, follow it (--wait) or process it here (--inline)."""

import json
import sys
import time
from contextlib import ExitStack

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from batches.models import BatchJob, BatchStatus
from batches.selectors import batch_mapping_profiles, batch_reading_notes
from batches.services import BatchRefused, batch_create
from batches.services.inline import batch_process_inline
from batches.services.upload import open_upload
from customers.models import Customer
from webhooks.validators import validate_webhook_url

FAILED_STATUSES = (BatchStatus.FAILED, BatchStatus.CANCELLED)


class Command(BaseCommand):
    help = "Upload one or more CSV/XLSX files of leads as one batch."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--wait", action="store_true", help="Follow the workers until the batch ends."
        )
        mode.add_argument(
            "--inline",
            action="store_true",
            help="Process the whole batch in this process (no broker or worker needed).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument("--webhook-url", default="", help="Endpoint for this batch.")
        parser.add_argument(
            "--customer", default="default", metavar="SLUG", help="Whose leads these are."
        )
        parser.add_argument(
            "--revalidate-existing",
            action="store_true",
            help="Validate leads already seen in earlier batches instead of marking duplicates.",
        )
        parser.add_argument(
            "--poll", type=float, default=0.5, help="Seconds between checks with --wait."
        )

    def handle(self, *args, **options):
        if not 0 < options["poll"] < float("inf"):  # before anything is stored
            raise CommandError(
                f"refused (bad_request): --poll must be a number of seconds above 0, not "
                f"{options['poll']!r}.",
                returncode=1,
            )
        webhook_url = options["webhook_url"].strip()
        if webhook_url:
            try:
                validate_webhook_url(webhook_url)
            except ValidationError as refused:
                raise CommandError(
                    f"refused (bad_request): {refused.messages[0]}", returncode=1
                ) from refused
        customer = Customer.objects.filter(slug=options["customer"].strip()).first()
        if customer is None:
            raise CommandError(
                f"refused (unknown_customer): Unknown customer '{options['customer']}'.",
                returncode=1,
            )
        with ExitStack() as stack:
            try:
                uploads = [stack.enter_context(open_upload(path)) for path in options["files"]]
            except OSError as exc:
                raise CommandError(f"{exc.filename}: {exc.strerror}", returncode=1) from exc
            try:
                batch = batch_create(
                    files=uploads,
                    webhook_url=webhook_url,
                    revalidate_existing=options["revalidate_existing"],
                    queue=not options["inline"],
                    customer=customer,
                )
            except BatchRefused as refused:
                raise CommandError(
                    f"refused ({refused.code}): {refused.message}", returncode=1
                ) from refused
        if options["inline"]:
            batch = batch_process_inline(batch=batch, on_progress=self._progress)
            self._end_progress()
        elif options["wait"]:
            batch = self._follow(batch, poll=options["poll"])
        self._report(batch, as_json=options["json"])
        if batch.status in FAILED_STATUSES:
            sys.exit(1)

    def _follow(self, batch: BatchJob, *, poll: float) -> BatchJob:
        while not batch.is_final:
            self._progress(batch.processed_leads, batch.total_leads)
            time.sleep(poll)
            batch.refresh_from_db()
        self._progress(batch.processed_leads, batch.total_leads)
        self._end_progress()
        return batch

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        self.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}", ending=""
        )
        self.stderr.flush()

    def _end_progress(self) -> None:
        self.stderr.write("")

    def _report(self, batch: BatchJob, *, as_json: bool) -> None:
        summary = {
            "batch_id": batch.batch_id,
            "status": batch.status,
            "total_leads": batch.total_leads,
            "valid": batch.valid_count,
            "invalid": batch.invalid_count,
            "duplicate": batch.duplicate_count,
        }
        # Only when a profile applied: the object keeps its documented shape otherwise.
        profiles = batch_mapping_profiles(batch=batch)
        if profiles:
            summary["mapping_profiles"] = profiles
        notes = batch_reading_notes(batch=batch)
        if notes:
            summary["notes"] = notes
        if as_json:
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write(
            f"{batch.batch_id}: {batch.status}, {batch.total_leads} leads "
            f"({batch.valid_count} valid, {batch.invalid_count} invalid, "
            f"{batch.duplicate_count} duplicate)"
        )
        for applied in profiles:
            self.stdout.write(
                f"mapping profile «{applied['profile']}» applied to {_where(applied)}"
            )
        for noted in notes:
            self.stdout.write(f"{_where(noted)}: {noted['note']}")
        if batch.error:
            self.stdout.write(f"error: {batch.error}")


def _where(item: dict) -> str:
    """The file, and its worksheet when it has one, of a profile applied or a note."""
    if item["worksheet"]:
        return f"{item['file']}, worksheet {item['worksheet']!r}"
    return item["file"]
