"""The chat completions call: one row's cells out, its answer back, retried, never raising.

Each attempt is bounded by the wall clock and its answer by size (valify.outbound): the
endpoint is a service on the network, and a slow or rambling one must not hold a chunk.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import requests

from standardiser.prompt import chat_messages
from standardiser.proposals import parse_answer
from valify.outbound import Watch, read_capped, watched_session
from webhooks.retry import parse_retry_after

logger = logging.getLogger(__name__)

ATTEMPTS = 3  # the call and two retries
BACKOFF_SECONDS = 0.5  # before the first retry, doubled after each
# A 429's or 5xx's Retry-After is waited out up to this; a longer one ends the call (the row
# keeps its rule errors), as it would the chunk's budget.
MAX_RETRY_AFTER_SECONDS = 10.0
MAX_WAITS_SECONDS = (ATTEMPTS - 1) * MAX_RETRY_AFTER_SECONDS  # all waits between attempts
# An answer is three short fields in a small JSON envelope, a few hundred bytes: anything
# near this is not an answer to keep (max_tokens is only a request to the server).
MAX_ANSWER_BYTES = 64 * 1024
TOO_LARGE = "answer_too_large"  # not asked again: a rambling model rambles again
OUT_OF_TIME = "out_of_time"  # the chunk's network budget ran out before an answer
_RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))


@dataclass(frozen=True)
class ModelReply:
    """The model's answer, or why there is none: "http_401", "timeout", "connection_error",
    "empty_answer", "answer_too_large", "retry_after_too_long" or "out_of_time"."""

    answer: dict[str, str] | None
    reason: str = ""


@dataclass(frozen=True)
class ModelConfig:
    base_url: str
    model: str
    api_key: str
    timeout: float
    backoff: float = BACKOFF_SECONDS
    deadline: float | None = None  # time.monotonic() past which no attempt starts or lasts


def ask_model(
    *, config: ModelConfig, sent: Mapping[str, str], session: requests.Session | None = None
) -> ModelReply:
    """Ask for the fields of these cells; no answer (and the last attempt's reason) when
    every attempt failed or answered nothing.

    Timeouts, connection errors, 429, 5xx and an empty or unreadable answer (some providers
    return empty content now and then) are retried twice; any other refusal is final.
    """
    http = session or watched_session(connections=1)
    url = config.base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    body = {
        "model": config.model,
        "messages": chat_messages(sent),
        "response_format": {"type": "json_object"},
        "temperature": 0,
        "max_tokens": 200,  # three short fields; bounds what a rambling answer costs
    }
    retry_after = None
    reason = OUT_OF_TIME
    for attempt in range(ATTEMPTS):
        if attempt:
            wait = max(config.backoff * 2 ** (attempt - 1), retry_after or 0.0)
            if config.deadline is not None and time.monotonic() + wait >= config.deadline:
                return ModelReply(None, OUT_OF_TIME)  # the chunk's budget bounds the waits too
            time.sleep(wait)
        timeout = config.timeout
        if config.deadline is not None:
            timeout = min(timeout, config.deadline - time.monotonic())
            if timeout <= 0:
                return ModelReply(None, OUT_OF_TIME)
        status, content, retry_after = _post(http, url, body, headers, timeout)
        reason = status if isinstance(status, str) else f"http_{status}"
        if status in _RETRY_STATUSES or (isinstance(status, str) and status != TOO_LARGE):
            logger.info("ai.call_failed", extra={"attempt": attempt + 1, "status": status})
            if retry_after is not None and retry_after > MAX_RETRY_AFTER_SECONDS:
                logger.warning(
                    "ai.call_refused", extra={"status": status, "retry_after": retry_after}
                )
                return ModelReply(None, "retry_after_too_long")
            continue
        if status == TOO_LARGE or status >= 400:
            logger.warning("ai.call_refused", extra={"status": status})
            return ModelReply(None, reason)
        answer = parse_answer(_content(content))
        if answer is not None:
            return ModelReply(answer)
        reason = "empty_answer"
        logger.info("ai.answer_empty", extra={"attempt": attempt + 1})
    return ModelReply(None, reason)


def _post(
    http, url: str, body: dict, headers: dict, seconds: float
) -> tuple[int | str, bytes, float | None]:
    """One attempt: (status code, body, its Retry-After in seconds), or (why it failed, b"",
    None) when it has none: "connection_error", "timeout" (past ``seconds`` of wall clock or
    of a read), "answer_too_large"."""
    try:
        with Watch(seconds) as watch:
            try:
                response = http.post(
                    url,
                    json=body,
                    headers=headers,
                    timeout=(seconds, seconds),
                    stream=True,
                    allow_redirects=False,
                )
                with response:
                    # Only an answer's body is read: a gateway's error page may be large.
                    ok = 200 <= response.status_code < 300
                    content = read_capped(response, MAX_ANSWER_BYTES) if ok else b""
            except requests.RequestException as exc:
                timed_out = watch.fired or isinstance(exc, requests.Timeout)
                return ("timeout" if timed_out else "connection_error"), b"", None
            if watch.fired:  # a cut connection can read as a short answer
                return "timeout", b"", None
    except OSError:  # the watch's shutdown surfacing outside requests' wrapping
        return "timeout", b"", None
    if content is None:
        return TOO_LARGE, b"", None
    return response.status_code, content, parse_retry_after(response.headers.get("Retry-After"))


def _content(body: bytes) -> str | None:
    try:
        return json.loads(body)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError, RecursionError):
        return None
