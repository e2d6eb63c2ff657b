"""The chat completions call against a local OpenAI-compatible server: answers and retries."""

import json
import time

import pytest

from standardiser.client import ModelConfig, ModelReply, ask_model
from tests.aifake import FakeModelServer, Step

CELLS = {"last_name": "SMITH John", "dob": "15th March 1990"}
READ = {"first_name": "John", "last_name": "SMITH", "dob": "1990-03-15"}


def config(model, timeout=5.0, budget=None):
    """The call's settings; `budget`: seconds from now to the chunk's deadline."""
    deadline = None if budget is None else time.monotonic() + budget
    return ModelConfig(
        base_url=model.base_url,
        model="fake-1",
        api_key="k",
        timeout=timeout,
        backoff=0,
        deadline=deadline,
    )


def test_the_request_is_a_json_object_chat_completion_with_the_cells():
    with FakeModelServer() as model:
        assert ask_model(config=config(model), sent=CELLS).answer == READ

    (body,) = model.requests
    assert body["model"] == "fake-1"
    assert body["response_format"] == {"type": "json_object"}
    assert json.loads(body["messages"][-1]["content"]) == CELLS


def test_an_empty_answer_is_asked_again():
    with FakeModelServer() as model:
        model.script.extend([Step(content=""), Step(content="   ")])
        assert ask_model(config=config(model), sent=CELLS).answer == READ
    assert len(model.requests) == 3


def test_500_and_429_are_retried():
    with FakeModelServer() as model:
        model.script.extend([Step(status=500), Step(status=429)])
        assert ask_model(config=config(model), sent=CELLS).answer == READ
    assert len(model.requests) == 3


def test_after_two_retries_the_call_gives_up():
    with FakeModelServer() as model:
        model.script.extend([Step(status=503), Step(content="nonsense"), Step(status=502)])
        assert ask_model(config=config(model), sent=CELLS) == ModelReply(None, "http_502")
    assert len(model.requests) == 3


def test_a_timeout_is_retried():
    with FakeModelServer() as model:
        model.script.append(Step(delay=1.0))
        assert ask_model(config=config(model, timeout=0.3), sent=CELLS).answer == READ
    assert len(model.requests) == 2


def test_a_refusal_other_than_429_is_not_retried():
    with FakeModelServer() as model:
        model.script.append(Step(status=401))
        assert ask_model(config=config(model), sent=CELLS) == ModelReply(None, "http_401")
    assert len(model.requests) == 1


def test_nothing_listening_is_none_not_an_error():
    with FakeModelServer() as model:
        url = model.base_url
    dead = ModelConfig(base_url=url, model="m", api_key="", timeout=0.5, backoff=0)
    assert ask_model(config=dead, sent=CELLS) == ModelReply(None, "connection_error")


def test_the_chunk_budget_cuts_a_slow_call_and_its_retries_short():
    with FakeModelServer() as model:
        model.delay = 2.0
        started = time.monotonic()
        cut = config(model, timeout=30, budget=0.5)
        assert ask_model(config=cut, sent=CELLS) == ModelReply(None, "out_of_time")
        assert time.monotonic() - started < 1.5
    assert len(model.requests) == 1, "no retry starts past the budget"


def test_an_answer_dripping_past_the_timeout_is_cut_by_the_wall_clock():
    with FakeModelServer() as model:
        # Headers at once, then a byte every 0.1 s: each read is quick, the whole is not.
        model.script.extend([Step(drip=0.1), Step(drip=0.1)])
        started = time.monotonic()
        assert ask_model(config=config(model, timeout=0.5), sent=CELLS).answer == READ
        took = time.monotonic() - started
    assert len(model.requests) == 3, "the two dripping answers were cut, the third read"
    assert took < 2.5


def test_an_answer_over_the_size_cap_is_dropped_and_not_asked_again():
    huge = json.dumps({"first_name": "J" * 100_000, "last_name": "Smith", "dob": "1990-03-15"})
    with FakeModelServer() as model:
        model.script.append(Step(content=huge))
        assert ask_model(config=config(model), sent=CELLS) == ModelReply(None, "answer_too_large")
    assert len(model.requests) == 1


def test_a_429s_retry_after_is_waited_out():
    with FakeModelServer() as model:
        model.script.append(Step(status=429, retry_after="1"))
        started = time.monotonic()
        assert ask_model(config=config(model), sent=CELLS).answer == READ
        assert time.monotonic() - started >= 1.0
    assert len(model.requests) == 2


@pytest.mark.parametrize(
    ("retry_after", "deadline", "reason"),
    [("3600", 30.0, "retry_after_too_long"), ("2", 1.0, "out_of_time")],
    ids=["too-long", "past-the-budget"],
)
def test_a_retry_after_too_long_or_past_the_budget_ends_the_call(retry_after, deadline, reason):
    with FakeModelServer() as model:
        model.script.append(Step(status=429, retry_after=retry_after))
        started = time.monotonic()
        cut = config(model, budget=deadline)
        assert ask_model(config=cut, sent=CELLS) == ModelReply(None, reason)
        assert time.monotonic() - started < 0.5, "no wait that cannot end in time"
    assert len(model.requests) == 1


def test_a_large_error_page_is_not_read_and_its_retry_after_still_counts():
    page = json.dumps({"error": "x" * 100_000})
    with FakeModelServer() as model:
        model.script.append(Step(status=503, content=page, retry_after="1"))
        started = time.monotonic()
        assert ask_model(config=config(model), sent=CELLS).answer == READ
        assert time.monotonic() - started >= 1.0
    assert len(model.requests) == 2
