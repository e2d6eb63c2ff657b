"""The rule a batch's own webhook URL meets when it is given (admin form, API, import_batch)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

# As long as BatchJob.webhook_url and Delivery.endpoint hold.
WEBHOOK_URL_MAX_LENGTH = 500


def validate_webhook_url(url: str) -> None:
    """Raise ValidationError, with the reason, for a webhook URL no delivery could be sent to.

    No whitespace, at most 500 characters, https (or plain http while
    WEBHOOK_ALLOW_PRIVATE_NETWORKS is set), and a URL the admin form's URL field accepts.
    Where it points is checked when each delivery is sent.
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
