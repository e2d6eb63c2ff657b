"""Running the configured steps over a chunk's valid leads, in batches; a failing step is
recorded as `failed` for its batch and never fails the chunk."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from leads.enrichment.base import EnrichContext, Enricher, EnrichLead, failed

logger = logging.getLogger(__name__)

# The code a disposable address is given with ENRICH_REJECT_DISPOSABLE.
DISPOSABLE_CODE = "email_disposable"


def enrich_leads(
    leads: Sequence[EnrichLead],
    *,
    enrichers: Sequence[Enricher],
    ctx: EnrichContext,
    batch_size: int,
) -> list[dict]:
    """Return each lead's ``{step name: result}``, in the order of `leads`."""
    results: list[dict] = [{} for _ in leads]
    size = max(1, batch_size)
    for step in enrichers:
        for start in range(0, len(leads), size):
            part = leads[start : start + size]
            try:
                answers = step(part, ctx)
                if len(answers) != len(part):
                    raise ValueError(f"answered {len(answers)} of {len(part)} leads")
                if not all(isinstance(answer, dict) for answer in answers):
                    raise TypeError("answered something other than a dict per lead")
                # Stored as JSON in the chunk's transaction: a value that cannot be would
                # fail the whole chunk there, so it fails only this step here.
                # Each distinct answer once: skipped() answers are shared between leads.
                distinct = {id(answer): answer for answer in answers}
                json.dumps(list(distinct.values()), allow_nan=False)
            except Exception as exc:  # a step's failure is the step's, never the chunk's
                logger.warning("enrichment.step_failed", extra={"step": step.name}, exc_info=True)
                reason = f"{type(exc).__name__}: {exc}"[:200]
                keys = getattr(step, "keys", ())
                answers = [failed(reason, keys) for _ in part]
            for offset, answer in enumerate(answers):
                results[start + offset][step.name] = answer
    return results


def is_disposable_result(enrichment: dict) -> bool:
    """Whether the e-mail step found the address disposable."""
    return bool((enrichment.get("email") or {}).get("disposable"))
