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


def require_at_least(values: Mapping[str, float], lowest: Mapping[str, float]) -> None:
    """Refuse a setting below the least value it can take, naming it."""
    for name, least in lowest.items():
        if not values[name] >= least:  # nan too
            raise ImproperlyConfigured(f"{name} must be at least {least:g}, not {values[name]!r}.")


def require_above_zero(values: Mapping[str, float], names: tuple[str, ...]) -> None:
    for name in names:
        if not 0 < values[name] < float("inf"):
            raise ImproperlyConfigured(f"{name} must be a number above 0, not {values[name]!r}.")
