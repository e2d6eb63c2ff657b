"""The column a webhook body is frozen in, as the exact text that is signed and sent."""

from valify.fields import JsonTextField
from webhooks.signing import payload_text


class PayloadField(JsonTextField):
    """A webhook body in payload_text()'s form (compact, keys sorted), kept as sent.

    The sender posts the stored text as it is: no body is parsed and serialised again.
    """

    def encode(self, value) -> str:
        return payload_text(value)
