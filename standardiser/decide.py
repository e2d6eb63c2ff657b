"""AI proposes, the rules decide: a row's answer put through the same rules as every lead.

Pure functions (the rules and the proposal checks), no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from leads.rules import STATUS_VALID, LeadResult, RuleContext, Validator, validate_lead
from standardiser.proposals import accepted_fields, changes

CORRECTED = "corrected"
REFUSED = "refused"  # the answer did not re-read the row, or the rules still refused the lead


def ai_record(
    *, model: str, prompt_version: str, outcome: str, changed=None, reason: str = ""
) -> dict:
    """The lead's `ai`: {"model", "prompt_version", "changed", "outcome"}, and "reason" when
    the model gave no answer (why: "http_401", "timeout", "calls_used_up"...)."""
    record = {
        "model": model,
        "prompt_version": prompt_version,
        "changed": changed or {},
        "outcome": outcome,
    }
    if reason:
        record["reason"] = reason
    return record


def decide(
    *,
    fields: Mapping[str, object],
    answer: Mapping[str, str],
    cells: Mapping[str, str],
    sent: Mapping[str, str],
    unread: tuple[bool, bool],
    ctx: RuleContext,
    validators: Sequence[Validator] | None,
    malformed: bool = False,
) -> tuple[LeadResult | None, dict[str, list[str]]]:
    """(the corrected lead's result, {field: [before, after]}), or (None, {}) when refused.

    Only what the rules could not read is taken from the answer (the names, the date of
    birth), only values that re-read the row's text, and only when the lead then passes.
    """
    accepted = accepted_fields(answer=answer, cells=cells, sent=sent)
    if accepted is None:
        return None, {}
    names_unread, dob_unread = unread
    wanted = (("first_name", "last_name") if names_unread else ()) + (
        ("dob",) if dob_unread else ()
    )
    proposal = {name: accepted[name] for name in wanted if name in accepted}
    if not proposal:
        return None, {}
    result = validate_lead(
        {**fields, **proposal}, ctx=ctx, validators=validators, malformed=malformed
    )
    if result.status != STATUS_VALID:
        return None, {}
    before = {
        "first_name": str(fields.get("first_name") or ""),
        "last_name": str(fields.get("last_name") or ""),
        "dob": str(fields.get("dob") or ""),
    }
    changed = changes(before=before, after=proposal)
    if not changed:
        return None, {}
    return result, changed
