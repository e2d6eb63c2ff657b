"""Purge uploaded files and lead rows older than RETENTION_DAYS (or --days) now."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from batches.services import batches_purge_expired
from valify.timefmt import utc_iso


class Command(BaseCommand):
    help = (
        "Delete the stored files and lead rows of finished batches older than RETENTION_DAYS "
        "(or --days); batch counts, deliveries (the person's values blanked) and hashed "
        "lead-id, e-mail and phone tombstones stay."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, help="Age in days past which to purge (default: RETENTION_DAYS)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be purged; change nothing."
        )

    def handle(self, *args, days, dry_run, **options):
        if days is None:
            days = settings.RETENTION_DAYS
            if days < 1:
                self.stdout.write("Retention is off (RETENTION_DAYS=0); pass --days N to purge.")
                return
        elif days < 1:
            raise CommandError("--days must be at least 1")
        report = batches_purge_expired(days=days, dry_run=dry_run)
        self.stdout.write(
            f"{'Would purge' if dry_run else 'Purged'} {_count(report.batches, 'batch', 'es')} "
            f"created before {utc_iso(report.cutoff)} ({days} days): "
            f"{_count(report.files, 'file')}, {_count(report.leads, 'lead')}; "
            f"{_count(report.deliveries_unlinked, 'delivery')} unlinked "
            f"({report.deliveries_blanked:,} blanked, {report.deliveries_cancelled:,} cancelled), "
            f"{_count(report.tombstones, 'lead id')} and "
            f"{_count(report.contact_tombstones, 'e-mail or phone claim')} kept as hashed "
            "tombstones."
        )
        if not report.complete:
            self.stdout.write("Stopped before the end; run again to finish.")
        if report.files_failed:
            raise CommandError(
                f"{report.files_failed:,} files could not be deleted from storage; run again."
            )


def _count(number: int, noun: str, plural: str = "s") -> str:
    if noun.endswith("y") and number != 1:
        return f"{number:,} {noun[:-1]}ies"
    return f"{number:,} {noun}{'' if number == 1 else plural}"
