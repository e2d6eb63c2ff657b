"""What the model is sent, and when a row is worth sending at all."""

from standardiser.prompt import (
    PROMPT_VERSION,
    cache_key,
    cells_to_send,
    chat_messages,
    needs_reading,
    row_cells,
    worth_sending,
)


def test_only_name_and_dob_cells_are_taken_from_the_row():
    raw = {
        "first_name": " ",
        "last_name": "SMITH   John",
        "dob": "15th March 1990",
        "email": "john@example.com",
        "phone": "07911 123456",
        "postcode": "SW1A 1AA",
        "Notes": "call after 6",
    }

    assert row_cells(raw) == {"last_name": "SMITH John", "dob": "15th March 1990"}


def test_an_all_numeric_date_is_never_sent():
    for numeric in ("13/13/1990", "1990-03-15", "15031990", "15 03 1990"):
        assert cells_to_send({"last_name": "SMITH John", "dob": numeric}) == {
            "last_name": "SMITH John"
        }
    assert cells_to_send({"dob": "15th March 1990"}) == {"dob": "15th March 1990"}


def test_unread_names_and_dates_are_told_apart():
    assert needs_reading(first_name="", last_name="SMITH John", dob_raw="15/03/1990") == (
        True,
        False,
    )
    assert needs_reading(first_name="John", last_name="Smith", dob_raw="15th March 1990") == (
        False,
        True,
    )
    assert needs_reading(first_name="John", last_name="Smith", dob_raw="15/03/1990") == (
        False,
        False,
    )


def test_a_row_is_sent_only_when_the_model_could_read_what_the_rules_could_not():
    # Only the date is unread and it is all-numeric: the model would see nothing useful.
    cells = {"first_name": "John", "last_name": "Smith", "dob": "31/02/1990"}
    assert not worth_sending(cells=cells, sent=cells_to_send(cells), unread=(False, True))
    # The same with the date in words is worth it.
    cells = {"first_name": "John", "last_name": "Smith", "dob": "15th March 1990"}
    assert worth_sending(cells=cells, sent=cells_to_send(cells), unread=(False, True))
    # Unread names with a name cell are worth it while the date is read...
    cells = {"last_name": "SMITH John", "dob": "15/03/1990"}
    assert worth_sending(cells=cells, sent=cells_to_send(cells), unread=(True, False))
    # ...not when the date is an all-numeric one the rules could not read: it stays unread.
    cells = {"last_name": "SMITH John", "dob": "31/02/1990"}
    assert not worth_sending(cells=cells, sent=cells_to_send(cells), unread=(True, True))
    # Nor a name missing with no name cell to read it from.
    cells = {"dob": "15th March 1990"}
    assert not worth_sending(cells=cells, sent=cells_to_send(cells), unread=(True, True))
    # No date of birth at all: only a name cell with a year written in it could give one.
    cells = {"first_name": "Nora", "last_name": "Nodob"}
    assert not worth_sending(cells=cells, sent=cells_to_send(cells), unread=(False, True))
    cells = {"full_name": "Nora Nodob born 15 March 1990"}
    assert worth_sending(cells=cells, sent=cells_to_send(cells), unread=(True, True))


def test_the_cache_key_is_the_model_the_prompt_version_and_the_cells_sent():
    sent = {"last_name": "SMITH John", "dob": "15th March 1990"}
    key = cache_key(model="m", prompt_version=PROMPT_VERSION, sent=sent)

    assert key == cache_key(
        model="m", prompt_version=PROMPT_VERSION, sent=dict(reversed(sent.items()))
    )
    assert len(key) == 64
    assert key != cache_key(model="other", prompt_version=PROMPT_VERSION, sent=sent)
    assert key != cache_key(model="m", prompt_version=PROMPT_VERSION + "x", sent=sent)
    assert key != cache_key(model="m", prompt_version=PROMPT_VERSION, sent={"last_name": "SMITH"})


def test_the_user_message_holds_only_the_cells_sent():
    messages = chat_messages({"full_name": "SMITH John"})

    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[1]["content"] == '{"full_name": "SMITH John"}'
