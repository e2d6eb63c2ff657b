"""The test webhook: one signed request to an endpoint, reported and not recorded.

It creates no delivery, ignores the sending switch and the endpoint's enabled state, and
does not count toward the endpoint's health: it is how an operator checks a receiver.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from customers.models import Endpoint
from customers.selectors import customer_signing_secrets
from valify.timefmt import utc_iso
from webhooks.addresses import EndpointRefused
from webhooks.signing import new_message_id, payload_bytes, signed_headers
from webhooks.transport import Transport

TEST_EVENT_TYPE = "webhook.test"
BODY_START_CHARS = 200


@dataclass(frozen=True)
class TestWebhookReport:
    __test__ = False  # not a test case, whatever its name

    endpoint_url: str
    msg_id: str
    ok: bool
    status_code: int | None
    duration_ms: int
    body_start: str = ""
    error: str = ""

    def __str__(self) -> str:
        if self.status_code is None:
            return f"Test webhook {self.msg_id} to {self.endpoint_url}: no answer: {self.error}"
        body = f" Body: {self.body_start}" if self.body_start else " Empty body."
        return (
            f"Test webhook {self.msg_id} to {self.endpoint_url}: HTTP {self.status_code} "
            f"in {self.duration_ms} ms.{body}"
        )


def test_webhook_payload(endpoint: Endpoint) -> dict:
    return {
        "type": TEST_EVENT_TYPE,
        "customer": endpoint.customer.slug,
        "sent_at": utc_iso(timezone.now()),
    }


test_webhook_payload.__test__ = False


def endpoint_send_test(*, endpoint: Endpoint) -> TestWebhookReport:
    """Send the test webhook to ``endpoint``, signed with its customer's secrets; report it."""
    msg_id = new_message_id()
    secrets = customer_signing_secrets(endpoint.customer)
    if not secrets:
        return TestWebhookReport(
            endpoint.url, msg_id, False, None, 0, error="the customer has no signing secret"
        )
    body = payload_bytes(test_webhook_payload(endpoint))
    headers = signed_headers(secret=secrets, msg_id=msg_id, body=body)
    with Transport(
        timeout=settings.WEBHOOK_TIMEOUT,
        allow_private_networks=settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
        dns_cache_seconds=0,
    ) as transport:
        try:
            result = transport.post(endpoint.url, body=body, headers=headers)
        except EndpointRefused as refused:
            return TestWebhookReport(
                endpoint.url, msg_id, False, None, 0, error=f"Endpoint refused: {refused.reason}"
            )
    return TestWebhookReport(
        endpoint_url=endpoint.url,
        msg_id=msg_id,
        ok=result.ok,
        status_code=result.status_code,
        duration_ms=result.duration_ms,
        body_start=result.body_excerpt[:BODY_START_CHARS],
        error=result.error,
    )
