"""JSON columns that are written far more than they are searched."""

import json

from django.db import models

from valify.bulk import json_text_column_type
from valify.jsontext import json_text


class JsonTextField(models.JSONField):
    """JSON stored as compact text: `json` on PostgreSQL, not `jsonb`.

    `json` checks the text and keeps it as given; `jsonb` builds a binary tree on every
    write, several times the cost of a bulk write's other columns, for key look-ups and
    containment a column only ever read whole (or by `->>`) never uses. Lookups that need
    jsonb (`__has_key`, `__contains`, key equality) do not work on these columns.
    """

    def db_type(self, connection):
        return json_text_column_type(connection) or super().db_type(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        return self.encode(value)

    def encode(self, value) -> str:
        return json_text(value)

    def from_db_value(self, value, expression, connection):
        # psycopg parses `json` itself; SQLite (and a cast to text) give the text.
        if isinstance(value, str):
            return json.loads(value)
        return value
