"""AI standardiser reads: which batches it ran for, and what it did with a batch's rows."""

from django.db.models import Count, Q, QuerySet

from standardiser.decide import CORRECTED, REFUSED
from standardiser.models import AiBatchUsage
from standardiser.services.run import FAILED, NO_BUDGET


def ai_usages() -> QuerySet[AiBatchUsage]:
    """Every batch the standardiser ran for (filter by `batch_id`)."""
    return AiBatchUsage.objects.all()


def ai_counts(*, leads: QuerySet) -> dict[str, int]:
    """Of these leads: corrected, refused by the rules, left for lack of budget, failed calls."""
    outcomes = {
        "corrected": CORRECTED,
        "refused": REFUSED,
        "no_budget": NO_BUDGET,
        "failed": FAILED,
    }
    return leads.aggregate(
        **{name: Count("pk", filter=Q(ai__outcome=value)) for name, value in outcomes.items()}
    )
