"""Load the licensed TPS/CTPS register, replacing the current list."""

from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from screening.selectors import tps_current
from screening.services import TpsFileEmpty, tps_import
from screening.services.tps import tps_file_date

_SHOWN = 20


def _date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise CommandError(f"--date {text!r}: give the file's date as YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = (
        "Load the TPS/CTPS file (one number per line, national or +44 form; blank lines and "
        "# comments skipped) as the list leads' UK phones are screened against. Bad lines are "
        "reported by line number and skipped. The previous list stays in use until the new "
        "one is complete. Without FILE, ENRICH_TPS_FILE is loaded."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", metavar="FILE")
        parser.add_argument(
            "--date",
            metavar="YYYY-MM-DD",
            help="The file's date, shown as tps_screened_at (default: its modification time).",
        )
        parser.add_argument(
            "--if-newer",
            action="store_true",
            help="Load only if the file's date is later than the current list's (for cron).",
        )

    def handle(self, *args, **options):
        name = options["file"] or settings.ENRICH_TPS_FILE
        if not name:
            raise CommandError("give FILE, or set ENRICH_TPS_FILE.")
        path = Path(name)
        if path.is_dir():
            raise CommandError(f"{name}: a folder, not a file: give the list's file.")
        if not path.is_file():
            raise CommandError(f"{name}: no such file.")
        file_date = _date(options["date"]) if options["date"] else None
        if options["if_newer"]:
            current = tps_current()
            date = file_date or tps_file_date(path)
            if current is not None and current.file_date >= date:
                self.stdout.write(
                    f"Not loaded: the current list ({current.source}) is dated "
                    f"{current.file_date:%Y-%m-%d %H:%M:%S}, {path.name} is not newer."
                )
                return
        try:
            report = tps_import(path=path, file_date=file_date)
        except TpsFileEmpty as empty:
            self._bad_lines(path, empty.report)
            raise CommandError(str(empty)) from empty
        except OSError as failed:
            raise CommandError(f"{name}: {failed.strerror or failed}") from failed
        self._bad_lines(path, report)
        self.stdout.write(
            f"Loaded {report.numbers} numbers from {path.name} dated "
            f"{report.tps_list.file_date:%Y-%m-%d} ({report.lines} lines, "
            f"{report.bad_count} bad)."
        )

    def _bad_lines(self, path: Path, report) -> None:
        for line, text in report.bad_lines[:_SHOWN]:
            self.stderr.write(f"{path.name}: line {line}: not a UK phone number: {text!r}")
        if report.bad_count > _SHOWN:
            self.stderr.write(f"{path.name}: ... and {report.bad_count - _SHOWN} more bad lines")
