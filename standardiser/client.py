"""The chat completions call: one row's cells out, its answer back, retried, never raising."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import requests

from standardiser.prompt import chat_messages
from standardiser.proposals import parse_answer

logger = logging.getLogger(__name__)

ATTEMPTS = 3  # the call and two retries
_RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))


@dataclass(frozen=True)
class ModelConfig:
    base_url: str
    model: str
    api_key: str
    timeout: float
    backoff: float = 0.5  # seconds before the first retry, doubled after each
    deadline: float | None = None  # time.monotonic() past which no attempt starts or lasts


def ask_model(
    *, config: ModelConfig, sent: Mapping[str, str], session: requests.Session | None = None
) -> dict[str, str] | None:
    """Ask for the fields of these cells; None when every attempt failed or answered nothing.

    Timeouts, connection errors, 429, 5xx and an empty or unreadable answer (some providers
    return empty content now and then) are retried twice; any other refusal is final.
    """
    http = session or requests
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
        try:
            response = http.post(url, json=body, headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            logger.info(
                "ai.call_failed", extra={"attempt": attempt + 1, "error": type(exc).__name__}
            )
            continue
        if response.status_code in _RETRY_STATUSES:
            logger.info(
                "ai.call_failed", extra={"attempt": attempt + 1, "status": response.status_code}
            )
            continue
        if response.status_code >= 400:
            logger.warning("ai.call_refused", extra={"status": response.status_code})
            return None
        answer = parse_answer(_content(response))
        if answer is not None:
            return answer
        logger.info("ai.answer_empty", extra={"attempt": attempt + 1})
    return None


def _content(response: requests.Response) -> str | None:
    try:
        return response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
