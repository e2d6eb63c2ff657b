"""Keep a batch's report figures before retention deletes the rows they are counted from."""

from django.db import transaction

from reports.models import PurgedBatchFigures
from reports.selectors import PERIODS, batch_report_figures


def purged_batch_figures_record(*, batch_pk: int) -> int:
    """Record the batch's figures per day and per month, once (a purge that stopped at its
    deadline and goes on later keeps the first); return the rows written."""
    with transaction.atomic():
        if PurgedBatchFigures.objects.filter(batch_id=batch_pk).exists():
            return 0
        rows = [
            PurgedBatchFigures(
                batch_id=batch_pk,
                period=period,
                at=at,
                validated=figures["validated"],
                delivered=figures["delivered"],
            )
            for period in PERIODS
            for at, figures in batch_report_figures(batch_pk=batch_pk, period=period).items()
        ]
        PurgedBatchFigures.objects.bulk_create(rows)
    return len(rows)
