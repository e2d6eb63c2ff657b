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

logger = logging.getLogger(__name__)

ATTEMPTS = 3  # the call and two retries
BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = BACKOFF_SECONDS * (2 ** (ATTEMPTS - 1) - 1)  # all waits between attempts
# An answer is three short fields in a small JSON envelope, a few hundred bytes: anything
# near this is not an answer to keep (max_tokens is only a request to the server).
MAX_ANSWER_BYTES = 64 * 1024
TOO_LARGE = "answer_too_large"  # not asked again: a rambling model rambles again
_RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))


@dataclass(frozen=True)
class ModelConfig:
    base_url: str
    model: str
    api_key: str
    timeout: float
    backoff: float = BACKOFF_SECONDS  # before the first retry, doubled after each
    deadline: float | None = None  # time.monotonic() past which no attempt starts or lasts


def ask_model(
    *, config: ModelConfig, sent: Mapping[str, str], session: requests.Session | None = None
) -> dict[str, str] | None:
    """Ask for the fields of these cells; None when every attempt failed or answered nothing.

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
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(config.backoff * 2 ** (attempt - 1))
        timeout = config.timeout
        if config.deadline is not None:
            # The chunk's network budget bounds the retries too.
            timeout = min(timeout, config.deadline - time.monotonic())
            if timeout <= 0:
                return None
        status, content = _post(http, url, body, headers, timeout)
        if status in _RETRY_STATUSES or (isinstance(status, str) and status != TOO_LARGE):
            logger.info("ai.call_failed", extra={"attempt": attempt + 1, "status": status})
            continue
        if status == TOO_LARGE or status >= 400:
            logger.warning("ai.call_refused", extra={"status": status})
            return None
        answer = parse_answer(_content(content))
        if answer is not None:
            return answer
        logger.info("ai.answer_empty", extra={"attempt": attempt + 1})
    return None


def _post(http, url: str, body: dict, headers: dict, seconds: float) -> tuple[int | str, bytes]:
    """One attempt: (status code, body), or (why it failed, b"") when it has none: an
    error's name, "timeout" past ``seconds`` of wall clock, "answer_too_large"."""
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
                    content = read_capped(response, MAX_ANSWER_BYTES)
            except requests.RequestException as exc:
                return ("timeout" if watch.fired else type(exc).__name__), b""
            if watch.fired:  # a cut connection can read as a short answer
                return "timeout", b""
    except OSError:  # the watch's shutdown surfacing outside requests' wrapping
        return "timeout", b""
    if content is None:
        return TOO_LARGE, b""
    return response.status_code, content


def _content(body: bytes) -> str | None:
    try:
        return json.loads(body)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError, RecursionError):
        return None
