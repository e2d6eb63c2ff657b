"""The company provider over HTTP: one GET per domain, bounded in time and size, retried.

`GET {url}?domain=<domain>` with a bearer key answers `{"name", "size", "location",
"industry"}`. The answer is untrusted: its body is read up to a cap, every value is coerced to
short plain text, and the whole request (connect, status line, headers, body) is bounded by
the wall clock (valify.outbound).
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from valify.outbound import Watch, read_capped, watched_session
from webhooks.retry import parse_retry_after

# Defaults of ENRICH_COMPANY_RATE_LIMIT, ENRICH_CACHE_HOURS and ENRICH_CHUNK_BUDGET_SECONDS.
DEFAULT_RATE_LIMIT = 10.0  # requests per second, across workers
DEFAULT_CACHE_HOURS = 720
DEFAULT_CHUNK_BUDGET_SECONDS = 60.0
PROVIDER_TIMEOUT_SECONDS = 5.0
MAX_ANSWER_BYTES = 64 * 1024  # a company record is a few hundred bytes
MAX_FIELD_CHARS = 255
MAX_ATTEMPTS = 3
BACKOFF_SECONDS = (0.5, 1.5)  # before the 2nd and 3rd attempt, plus up to 25 % jitter
# A longer Retry-After cannot be waited out inside one chunk's budget: the lookup fails and a
# later chunk (or a reprocess) asks again, since failures are not cached.
MAX_RETRY_AFTER_SECONDS = 10.0
FIELDS = ("name", "size", "location", "industry")
RATE_KEY = "enrich:company"

OK = "ok"
NOT_FOUND = "not_found"
FAILED = "failed"

_rng = random.Random()


@dataclass(frozen=True)
class ProviderAnswer:
    status: str  # ok | not_found | failed
    fields: dict[str, str | None] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class _Attempt:
    answer: ProviderAnswer
    retry: bool = False
    retry_after: float | None = None


_TIMED_OUT = _Attempt(ProviderAnswer(FAILED, reason="timeout"), retry=True)


def clean_text(value: object) -> str | None:
    """A provider's value as short plain text: numbers written out, anything else dropped."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    elif isinstance(value, float):
        value = f"{value:g}" if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    # Control characters (NUL, newlines) become spaces; runs of spaces collapse.
    text = "".join(ch if ch.isprintable() else " " for ch in value[: MAX_FIELD_CHARS * 4])
    text = " ".join(text.split())[:MAX_FIELD_CHARS].strip()
    return text or None


def parse_answer(body: bytes) -> ProviderAnswer:
    """A 200 answer's body: a company, `not_found` when empty, `failed` when not a JSON object."""
    if not body.strip():
        return ProviderAnswer(NOT_FOUND)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return ProviderAnswer(FAILED, reason="bad_answer")
    if data is None:
        return ProviderAnswer(NOT_FOUND)
    if not isinstance(data, dict):
        return ProviderAnswer(FAILED, reason="bad_answer")
    fields = {name: clean_text(data.get(name)) for name in FIELDS}
    if not any(fields.values()):
        return ProviderAnswer(NOT_FOUND)
    return ProviderAnswer(OK, fields)


class CompanyProvider:
    """Looks companies up by domain; safe to share between threads."""

    def __init__(
        self,
        *,
        url: str,
        api_key: str,
        limiter,
        rate: float,
        timeout: float = PROVIDER_TIMEOUT_SECONDS,
        connections: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.url = url
        self.limiter = limiter
        self.rate = rate
        self.timeout = timeout
        self.sleep = sleep
        self.session = watched_session(connections=connections)
        self.session.headers.update({"Accept": "application/json"})
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def close(self) -> None:
        self.session.close()

    def lookup(self, domain: str, *, deadline: float) -> ProviderAnswer | None:
        """The provider's answer, retried on timeouts, 429 and 5xx within `deadline`
        (time.monotonic()); None when not even a first request fitted in it."""
        last: ProviderAnswer | None = None
        for attempt in range(MAX_ATTEMPTS):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.limiter.acquire(RATE_KEY, self.rate, timeout=remaining):
                return last
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return last
            outcome = self._attempt(domain, min(self.timeout, remaining))
            last = outcome.answer
            if not outcome.retry or attempt + 1 == MAX_ATTEMPTS:
                return last
            wait = BACKOFF_SECONDS[attempt] * (1 + _rng.uniform(0, 0.25))
            if outcome.retry_after is not None:
                if outcome.retry_after > MAX_RETRY_AFTER_SECONDS:
                    return last
                wait = max(wait, outcome.retry_after)
            if time.monotonic() + wait >= deadline:
                return last
            self.sleep(wait)
        return last

    def _attempt(self, domain: str, seconds: float) -> _Attempt:
        try:
            with Watch(seconds) as watch:
                try:
                    outcome = self._get(domain, seconds)
                    # A cut connection can read as a short answer (EOF ends the headers).
                    return _TIMED_OUT if watch.fired else outcome
                except requests.RequestException as exc:
                    if watch.fired or isinstance(exc, requests.Timeout):
                        return _TIMED_OUT
                    return _Attempt(ProviderAnswer(FAILED, reason="connection_error"), retry=True)
        except OSError:  # the watchdog's shutdown surfacing outside requests' wrapping
            return _TIMED_OUT

    def _get(self, domain: str, seconds: float) -> _Attempt:
        response = self.session.get(
            self.url,
            params={"domain": domain},
            timeout=(seconds, seconds),
            stream=True,
            allow_redirects=False,
        )
        with response:
            status = response.status_code
            if status == 404:
                return _Attempt(ProviderAnswer(NOT_FOUND))
            if status == 429 or status >= 500:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                return _Attempt(
                    ProviderAnswer(FAILED, reason=f"http_{status}"),
                    retry=True,
                    retry_after=retry_after,
                )
            if status == 204:
                return _Attempt(ProviderAnswer(NOT_FOUND))
            if status != 200:
                return _Attempt(ProviderAnswer(FAILED, reason=f"http_{status}"))
            body = read_capped(response, MAX_ANSWER_BYTES)
            if body is None:
                return _Attempt(ProviderAnswer(FAILED, reason="answer_too_large"))
            return _Attempt(parse_answer(body))
