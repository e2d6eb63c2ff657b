"""The column a webhook body is frozen in, as the exact text that is signed and sent."""

import json

from django.db import models

from webhooks.signing import payload_text


class PayloadField(models.JSONField):
    """JSON kept as text, in payload_text()'s form (compact, keys sorted).

    On PostgreSQL the column is `json`, not `jsonb`: `json` checks the text and keeps it as
    given, so the sender posts it without parsing and serialising every body again, and
    writing it costs a fraction of building jsonb. Nothing queries inside a payload.
    """

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        return payload_text(value)

    def from_db_value(self, value, expression, connection):
        # psycopg parses `json` itself; SQLite returns the text.
        if isinstance(value, str):
            return json.loads(value)
        return value
