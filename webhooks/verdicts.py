"""Receivers' verdicts: which answers refuse a lead for good, and the reason they give."""

from __future__ import annotations

import json

# WEBHOOK_REJECT_STATUSES' default: a conflict (a duplicate the receiver already has) or a
# lead it cannot process. Retrying either would only get the same answer.
DEFAULT_REJECT_STATUSES: tuple[int, ...] = (409, 422)
GONE = 410  # a batch's own URL answering this is gone: its open deliveries there fail
GONE_ERROR = "410 Gone"
REASON_KEYS = ("reason", "detail", "error")
REASON_CHARS = 200  # a body with no reason field is quoted this far


def rejection_reason(body: str) -> str:
    """The reason a receiver gave: its JSON body's reason, detail or error, else its start."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict):
        for key in REASON_KEYS:
            value = parsed.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:2000]
    return body.strip()[:REASON_CHARS]
