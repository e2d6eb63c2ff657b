"""API tokens (stored hashed) and remembered answers for Idempotency-Key."""

import hashlib
import secrets

from django.conf import settings
from django.db import models

TOKEN_PREFIX = "vb_"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A bearer token acting as its user; only its SHA-256 is stored.

    The plain token is shown once, when it is created; it cannot be recovered afterwards.
    """

    name = models.CharField(max_length=100, help_text="What the token is for, e.g. a script.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="The token acts with this staff user's permissions.",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="Scoped: it uploads to this customer only. Empty: as its user may.",
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=12, editable=False, help_text="The first characters, to recognise it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, *, name: str, user, customer=None) -> tuple["ApiToken", str]:
        """Create a token; return it with the plain value (shown once)."""
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            name=name,
            user=user,
            customer=customer,
            digest=token_digest(plain),
            prefix=plain[:10],
        )
        return token, plain


class IdempotentResponse(models.Model):
    """The first answer to a POST with an Idempotency-Key, replayed for 24 hours.

    The row is claimed (no status yet) before the request is processed, so a concurrent
    twin finds it and waits for the answer instead of making a second batch.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the request's files and options."
    )
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty while the first request is being processed."
    )
    body = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique")
        ]

    def __str__(self) -> str:
        return self.key
