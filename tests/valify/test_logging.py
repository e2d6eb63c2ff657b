"""Logs: one JSON object per line, or a plain line, with the standard fields and every extra
key."""

import json
import logging

from valify.logging import JsonFormatter, PlainFormatter


def emit(logger_name: str, level: int, message: str, *args, **kwargs) -> dict:
    line = emit_line(JsonFormatter(), logger_name, level, message, *args, **kwargs)
    assert "\n" not in line
    return json.loads(line)


def emit_line(formatter, logger_name: str, level: int, message: str, *args, **kwargs) -> str:
    record_holder = []

    class Capture(logging.Handler):
        def emit(self, record):
            record_holder.append(self.format(record))

    handler = Capture()
    handler.setFormatter(formatter)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.log(level, message, *args, **kwargs)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    (line,) = record_holder
    return line


def test_record_is_one_json_object_with_time_level_logger_and_message():
    entry = emit("batches.services.split", logging.INFO, "batch.%s", "split")

    assert entry["level"] == "INFO"
    assert entry["logger"] == "batches.services.split"
    assert entry["message"] == "batch.split"
    assert entry["time"].endswith("Z") and entry["time"][10] == "T"


def test_every_extra_key_is_a_field():
    entry = emit(
        "webhooks",
        logging.WARNING,
        "delivery.failed",
        extra={"batch_id": "batch_0123456789ab", "lead_id": "ann.lee.01011990", "delivery_id": 7},
    )

    assert entry["batch_id"] == "batch_0123456789ab"
    assert entry["lead_id"] == "ann.lee.01011990"
    assert entry["delivery_id"] == 7


def test_standard_record_attributes_are_left_out():
    entry = emit("x", logging.INFO, "event")

    assert set(entry) == {"time", "level", "logger", "message"}


def test_values_json_cannot_represent_are_written_as_text():
    entry = emit("x", logging.INFO, "event", extra={"when": object, "ids": {1, 2}})

    assert entry["when"] == "<class 'object'>"
    assert entry["ids"] == "{1, 2}"


def test_exception_is_included_as_its_traceback_on_the_same_line():
    try:
        raise ValueError("bad José")
    except ValueError:
        entry = emit("x", logging.ERROR, "chunk.failed", exc_info=True, extra={"batch_pk": 3})

    assert entry["exception"].startswith("Traceback")
    assert "ValueError: bad José" in entry["exception"]
    assert entry["batch_pk"] == 3


def test_plain_line_ends_with_the_extras_as_key_value_pairs():
    line = emit_line(
        PlainFormatter(),
        "standardiser.client",
        logging.WARNING,
        "ai.call_refused",
        extra={
            "status": 401,
            "batch_id": "batch_0123456789ab",
            "error": "Bad key = 'x'",
            "file": "a\x1b[31m.csv",
        },
    )

    assert line.split(" ", 2)[2] == (
        "WARNING standardiser.client ai.call_refused status=401 "
        "batch_id=batch_0123456789ab error=\"Bad key = 'x'\" "
        'file="a\\u001b[31m.csv"'  # a control character escaped, not written to the terminal
    )


def test_plain_lines_of_the_frameworks_stay_as_they_are():
    line = emit_line(
        PlainFormatter(), "celery.app.trace", logging.INFO, "Task done", extra={"data": {"id": 1}}
    )

    assert line.endswith("INFO celery.app.trace Task done")


def test_plain_traceback_follows_the_line_with_its_extras():
    try:
        raise ValueError("bad")
    except ValueError:
        line = emit_line(
            PlainFormatter(), "x", logging.ERROR, "chunk.failed", exc_info=True,
            extra={"batch_pk": 3},
        )  # fmt: skip

    first, *rest = line.splitlines()
    assert first.endswith("ERROR x chunk.failed batch_pk=3")
    assert rest[0].startswith("Traceback") and rest[-1] == "ValueError: bad"
