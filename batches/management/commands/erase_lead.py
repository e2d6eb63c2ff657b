"""Erase one person's data, found by lead id or by e-mail address."""

import json

from django.core.management.base import BaseCommand, CommandError

from batches.services import ErasureRefused, command_user, person_erase


class Command(BaseCommand):
    help = (
        "Erase one person's data (lead rows, delivery payloads, attempt excerpts, the uploaded "
        "files of their batches); keep only a keyed hash of the lead id as the duplicate "
        "tombstone. Exits 0 whether it erased something or found nothing."
    )

    def add_arguments(self, parser):
        # Exactly one of these, checked in handle() so that a wrong call exits 1 like any error.
        parser.add_argument("--lead-id", metavar="ID", help="The lead id (first.last.ddmmyyyy).")
        parser.add_argument("--email", metavar="ADDRESS", help="The e-mail address.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be erased; change nothing."
        )
        parser.add_argument("--json", action="store_true", help="Print the counts as JSON.")
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="Who the admin's history names (default: the inactive system user).",
        )

    def handle(self, *args, **options):
        dry_run = options["dry_run"]
        if bool(options["lead_id"]) == bool(options["email"]):
            raise CommandError("give exactly one of --lead-id and --email")
        try:
            acting, via = command_user(username=options["user"], command="erase_lead")
        except LookupError as unknown:
            raise CommandError(str(unknown)) from unknown
        try:
            report = person_erase(
                user=acting,
                lead_id=options["lead_id"] or "",
                email=options["email"] or "",
                dry_run=dry_run,
                via=via,
            )
        except (ValueError, ErasureRefused) as refused:
            raise CommandError(str(refused)) from refused
        if options["json"]:
            body = {"dry_run": dry_run, "key_hash": report.key_hash, **report.counts()}
            self.stdout.write(json.dumps(body, sort_keys=True))
            return
        if not (
            report.leads or report.deliveries or report.tombstones or report.contact_tombstones
        ):
            self.stdout.write(f"Nothing found for {report.key_hash}.")
            return
        done = "Would erase" if dry_run else "Erased"
        self.stdout.write(f"{done} {report.key_hash}: {report.summary()}.")
