"""A chunk's AI standardiser: ask before its transaction, apply the answers by the rules inside."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.utils import timezone

from batches.models import BatchJob, BatchStatus
from leads.models import LeadStatus, LeadValidation
from leads.rules import RuleContext, Validator
from standardiser.decide import CORRECTED, REFUSED, ai_record, decide
from standardiser.services import ANSWERED, AiAnswer, ai_answers, ai_enabled

logger = logging.getLogger(__name__)


def chunk_ask_ai(
    *, batch_pk: int, first_seq: int, last_seq: int, deadline: float | None = None
) -> dict[int, AiAnswer]:
    """The model's answers for the chunk's pending rows the rules could not read, by row pk.

    Outside any transaction, before `deadline` (monotonic) when given. A failing AI service
    never fails the chunk: its rows keep what the rules made of them.
    """
    if not ai_enabled():
        return {}
    if not BatchJob.objects.filter(pk=batch_pk, status=BatchStatus.PROCESSING).exists():
        return {}  # cancelled or failed: nothing of this chunk will stand, ask nothing
    # The split leaves the lead id empty exactly when a name or the date of birth is unread.
    rows = LeadValidation.objects.filter(
        batch_id=batch_pk,
        seq__gte=first_seq,
        seq__lte=last_seq,
        status=LeadStatus.PENDING,
        duplicate_of__isnull=True,
        lead_id="",
    ).values("pk", "seq", "first_name", "last_name", "dob_raw", "raw")

    def progress() -> None:
        BatchJob.objects.filter(pk=batch_pk, status=BatchStatus.PROCESSING).update(
            progress_at=timezone.now()
        )

    try:
        return ai_answers(batch_pk=batch_pk, rows=rows, on_progress=progress, deadline=deadline)
    except Exception:
        logger.exception("ai.chunk_failed", extra={"batch_pk": batch_pk, "first_seq": first_seq})
        return {}


def chunk_apply_ai(
    *,
    rows: list[dict],
    results: dict,
    answers: dict[int, AiAnswer],
    ctx: RuleContext,
    validators: Sequence[Validator],
) -> dict[int, dict]:
    """Put each answer through the rules; return each asked row's `ai` by pk.

    A corrected row's result replaces the rules' one in `results`, and its new lead id is
    set on the row (`row["lead_id"]`) so it claims like any other lead; when another row of
    the chunk has that lead id already, the corrected row becomes its duplicate
    (`row["duplicate_of_id"]`), as the split links rows with the same id.
    """
    records: dict[int, dict] = {}
    if not answers:
        return records
    holders: dict[str, int] = {}
    for row in rows:
        if row["lead_id"]:
            holders.setdefault(row["lead_id"], row["duplicate_of_id"] or row["pk"])
    for row in rows:
        answer = answers.get(row["pk"])
        if answer is None or row["pk"] not in results:
            continue
        outcome, changed = answer.outcome, {}
        if outcome == ANSWERED:
            result, changed = decide(
                fields=row
                | {"dob": row["dob_raw"], "consent_at": row["consent_at"] or row["consent_given"]},
                answer=answer.answer,
                cells=answer.cells,
                sent=answer.sent,
                unread=answer.unread,
                ctx=ctx,
                validators=validators,
                malformed=bool(row["malformed"]),
            )
            if result is None:
                outcome, changed = REFUSED, {}
            else:
                outcome = CORRECTED
                results[row["pk"]] = result
                row["lead_id"] = result.lead_id
                row["duplicate_of_id"] = holders.get(result.lead_id)
                holders.setdefault(result.lead_id, row["pk"])
        records[row["pk"]] = ai_record(
            model=answer.model,
            prompt_version=answer.prompt_version,
            outcome=outcome,
            changed=changed,
            reason=answer.reason,
        )
    return records
