"""Logs with every `extra={...}` key: one JSON object per line (LOG_FORMAT=json), or a plain
line ending in key=value pairs (the default)."""

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came from `extra={...}`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON: time, level, logger, message, then the extras.

    `time` is UTC with milliseconds. Extras that JSON cannot represent are written with
    `str()`, so a log call never fails because of what it carries.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            # "+00:00" -> "Z", as everywhere else in the product.
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


# Loggers of the frameworks, whose extras repeat their message (Celery's `data`) or are
# objects (Django's `request`): their lines stay as they are.
_FRAMEWORKS = frozenset({"celery", "django", "kombu", "amqp"})


class PlainFormatter(logging.Formatter):
    """One line of text: time, level, logger, message, then the extras as key=value.

    Our events are short names ("ai.call_refused") whose meaning is in their extras (the
    status, the batch, the delivery): without these the line says little.
    """

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        if record.name.partition(".")[0] in _FRAMEWORKS:
            return line
        pairs = [
            f"{key}={_plain(value)}"
            for key, value in vars(record).items()
            if key not in _RECORD_ATTRIBUTES
        ]
        return " ".join([line, *pairs])


def _plain(value: object) -> str:
    text = str(value)
    # Quoted (JSON escapes) when a space, quote, "=" or control character would blur it.
    if not text or any(ch.isspace() or ch in '"=' or not ch.isprintable() for ch in text):
        return json.dumps(text, ensure_ascii=False)
    return text
