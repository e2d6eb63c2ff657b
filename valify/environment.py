"""Reading settings from the environment: a value that cannot be read stops the process
with a message naming its variable (and what it holds), never a bare traceback."""

from __future__ import annotations

import builtins
from collections.abc import Mapping

import environ
from django.core.exceptions import ImproperlyConfigured

FALSE_WORDS = ("false", "off", "no", "n", "0")


def _refusal(var: str, raw: object, what: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{var}={str(raw)[:60]!r} is not {what}.")


class Environment(environ.Env):
    """django-environ's reader, strict: a malformed number, switch or URL is refused."""

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ImproperlyConfigured:
            raise
        except (TypeError, ValueError) as exc:
            what = {int: "a whole number", float: "a number"}.get(cast, f"readable ({exc})")
            raise _refusal(var, self.ENVIRON.get(var, ""), what) from None

    def float(self, var, default=environ.Env.NOTSET):
        raw = self.ENVIRON.get(var)
        if raw is None:
            return super().float(var, default=default)
        # django-environ drops the characters it does not expect: "1e3x" read as 13.0.
        try:
            return builtins.float(raw.strip())
        except ValueError:
            raise _refusal(var, raw, "a number") from None

    def bool(self, var, default=environ.Env.NOTSET):
        raw = self.ENVIRON.get(var, "").strip().lower()
        # django-environ reads any word it does not know as false: "ture" turned a switch off.
        if raw and raw not in self.BOOLEAN_TRUE_STRINGS and raw not in FALSE_WORDS:
            raise _refusal(var, raw, "true or false (true/false, on/off, yes/no, 1/0)")
        return super().bool(var, default=default)

    def db_url(self, var=environ.Env.DEFAULT_DATABASE_ENV, default=environ.Env.NOTSET, engine=None):
        try:
            config = super().db_url(var, default=default, engine=engine)
        except (ImproperlyConfigured, KeyError, TypeError, ValueError):
            config = {}
        if not config.get("ENGINE"):
            raise _refusal(
                var,
                self.ENVIRON.get(var, ""),
                "a database URL (postgres://user:password@host:5432/name, sqlite:///path)",
            )
        return config

    db = db_url

    def email_url(
        self, var=environ.Env.DEFAULT_EMAIL_ENV, default=environ.Env.NOTSET, backend=None
    ):
        try:
            return super().email_url(var, default=default, backend=backend)
        except (ImproperlyConfigured, KeyError, TypeError, ValueError):
            raise _refusal(
                var,
                self.ENVIRON.get(var, ""),
                "an e-mail URL (smtp+tls://user:password@smtp.example.com:587, consolemail://)",
            ) from None

    email = email_url

    def http_statuses(self, var: str, default: str) -> tuple[int, ...]:
        """A comma list of HTTP status codes (100-599), refused when malformed."""
        codes = []
        for raw in self(var, default=default).split(","):
            item = raw.strip()
            if not item:
                continue
            if not (len(item) == 3 and item.isascii() and item.isdigit() and item[0] in "12345"):
                raise ImproperlyConfigured(f"{var}: {item[:20]!r} is not an HTTP status (100-599).")
            codes.append(int(item))
        return tuple(codes)

    def positive_hours(self, var: str, default: str) -> builtins.float:
        """Hours above 0 (at most 100,000), read by Python's float()."""
        raw = self(var, default=default).strip()
        try:
            hours = builtins.float(raw)
        except ValueError:
            hours = 0.0
        if not 0 < hours <= 100_000:  # also refuses nan and inf
            raise ImproperlyConfigured(f"{var}: {raw[:20]!r} is not a number of hours above 0.")
        return hours


# The least value each numeric setting can take, and those that must be above 0.
SETTING_MINIMUMS = {
    "MAX_LEADS_PER_BATCH": 1,
    "MAX_UPLOAD_MB": 1,
    "CHUNK_SIZE": 1,
    "HEADER_FUZZY_THRESHOLD": 0,
    "MIN_AGE": 0,
    "ENRICH_COMPANY_RATE_LIMIT": 0,
    "ENRICH_CACHE_HOURS": 0,
    "ENRICH_BATCH_SIZE": 1,
    "AI_MAX_CALLS_PER_BATCH": 0,
    "AI_CONCURRENCY": 1,
    "AI_CACHE_DAYS": 0,
    "STALL_TIMEOUT_SECONDS": 1,
    "CHUNK_MAX_RETRIES": 0,
    "WEBHOOK_DELAY_SECONDS": 0,
    "WEBHOOK_RATE_LIMIT": 0,
    "WEBHOOK_SWEEP_SECONDS": 1,
    "WEBHOOK_LEASE_SECONDS": 1,
    "WEBHOOK_DRAINERS": 1,
    "RETENTION_DAYS": 0,
    "EMAIL_TIMEOUT": 1,
}
ABOVE_ZERO = ("WEBHOOK_TIMEOUT", "AI_TIMEOUT", "ENRICH_CHUNK_BUDGET_SECONDS")


def require_ranges(values: Mapping[str, float]) -> None:
    """Refuse a setting outside what it can take, naming it (the settings, once read)."""
    for name, least in SETTING_MINIMUMS.items():
        if not values[name] >= least:  # nan too
            raise ImproperlyConfigured(f"{name} must be at least {least:g}, not {values[name]!r}.")
    for name in ABOVE_ZERO:
        if not 0 < values[name] < builtins.float("inf"):
            raise ImproperlyConfigured(f"{name} must be a number above 0, not {values[name]!r}.")
    if values["HEADER_FUZZY_THRESHOLD"] > 100:
        raise ImproperlyConfigured("HEADER_FUZZY_THRESHOLD is a score from 0 to 100.")
    if values["MAX_AGE"] <= values["MIN_AGE"]:
        raise ImproperlyConfigured(
            f"MAX_AGE ({values['MAX_AGE']}) must be above MIN_AGE ({values['MIN_AGE']})."
        )
