"""The rule a batch's own webhook URL meets when it is given (admin form, API, import_batch)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from webhooks.addresses import EndpointRefused, check_endpoint_address

# As long as BatchJob.webhook_url and Delivery.endpoint hold.
WEBHOOK_URL_MAX_LENGTH = 500


def validate_webhook_url(url: str) -> None:
    """Raise ValidationError, with the reason, for a webhook URL no delivery could be sent to.

    No whitespace, at most 500 characters, https (or plain http while
    WEBHOOK_ALLOW_PRIVATE_NETWORKS is set), a URL the admin form's URL field accepts, and
    the address rules that need no lookup: a literal IP must be public, ``localhost`` is
    refused (unless private networks are allowed). A host name is resolved and checked
    when each delivery is sent, not here (see check_endpoint_address).
    """
    if any(ch.isspace() for ch in url) or not url.isprintable():
        raise ValidationError(
            "webhook_url must not contain whitespace or control characters.", code="whitespace"
        )
    if len(url) > WEBHOOK_URL_MAX_LENGTH:
        raise ValidationError(
            f"webhook_url must be at most {WEBHOOK_URL_MAX_LENGTH} characters (it has {len(url)}).",
            code="max_length",
        )
    schemes = ["https", "http"] if settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS else ["https"]
    scheme, separator, _ = url.partition("://")
    if not separator or scheme.lower() not in schemes:
        allowed = "an http or https" if len(schemes) == 2 else "an https"
        raise ValidationError(f"webhook_url must be {allowed} URL.", code="scheme")
    URLValidator(schemes=schemes, message="webhook_url is not a valid URL.")(url)
    try:
        check_endpoint_address(url, allow_private_networks=settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS)
    except EndpointRefused as refused:
        raise ValidationError(
            f"webhook_url is refused: {refused.reason}.", code="address"
        ) from None


def validate_endpoint_url(url: str) -> None:
    """validate_webhook_url for a customer's endpoint: its reasons name the endpoint's URL
    field (an operator in the admin, `add_customer --endpoint`), not the upload's field."""
    try:
        validate_webhook_url(url)
    except ValidationError as refused:
        message = refused.message.replace("webhook_url", "The URL", 1)
        raise ValidationError(message, code=refused.code) from None
