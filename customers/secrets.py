"""Signing secrets: making one, and which of a customer's secrets are valid at a moment."""

from __future__ import annotations

import base64
import secrets as random
from dataclasses import dataclass
from datetime import datetime, timedelta

from webhooks.signing import SECRET_PREFIX

SECRET_BYTES = 24  # Standard Webhooks asks for 24-64 bytes; 24-32 keeps headers short
# WEBHOOK_SECRET_ROTATION_HOURS's default: a day covers a receiver deploying its new secret.
DEFAULT_ROTATION_HOURS = 24


def secret_new() -> str:
    """Return a fresh ``whsec_`` + base64 secret of SECRET_BYTES random bytes."""
    return SECRET_PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode("ascii")


@dataclass(frozen=True)
class Rotation:
    """The secrets after a rotation, and whether a still-valid previous secret was dropped."""

    secret: str
    previous_secret: str
    previous_valid_until: datetime | None
    dropped_previous: bool


def rotation_plan(
    *,
    current: str,
    previous: str,
    previous_valid_until: datetime | None,
    new: str,
    now: datetime,
    hours: float,
) -> Rotation:
    """Make ``new`` the current secret, keeping ``current`` valid for ``hours``.

    At most two secrets are valid at once, so a previous secret still valid is dropped.
    A customer with no secret yet gets ``new`` with no previous one.
    """
    dropped = bool(previous) and previous_valid_until is not None and previous_valid_until > now
    if not current:
        return Rotation(new, "", None, dropped)
    return Rotation(new, current, now + timedelta(hours=hours), dropped)


def valid_secrets(
    *, current: str, previous: str, previous_valid_until: datetime | None, now: datetime
) -> list[str]:
    """The secrets to sign with, newest first: the current one, then the previous while valid."""
    if not current:
        return []
    found = [current]
    if previous and previous_valid_until is not None and previous_valid_until > now:
        found.append(previous)
    return found
