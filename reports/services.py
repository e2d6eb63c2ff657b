"""Keep what purged lead rows counted in the delivered leads report, as they go."""

from django.db.models import F

from reports.models import PurgedBatchFigures
from reports.selectors import PERIODS, lead_report_figures


def purged_figures_add(*, batch_pk: int, lead_pks) -> int:
    """Add what the rows ``lead_pks`` of the batch count in the report (per day and per
    month) to its kept figures; return the periods touched.

    Called in the transaction that deletes the rows, with the batch locked: the report
    counts the rows and linked deliveries still there, and these figures for the rest, so
    its figures are the same before, during and after a purge. Rows are counted apart in
    each call (each lead in one chunk), so the sums are exact.
    """
    touched = 0
    for period in PERIODS:
        for at, figures in lead_report_figures(lead_pks=lead_pks, period=period).items():
            kept, _ = PurgedBatchFigures.objects.get_or_create(
                batch_id=batch_pk, period=period, at=at
            )
            PurgedBatchFigures.objects.filter(pk=kept.pk).update(
                validated=F("validated") + figures["validated"],
                delivered=F("delivered") + figures["delivered"],
            )
            touched += 1
    return touched
