"""A model's answer is kept only where it re-reads text of the row."""

import datetime

import pytest

from standardiser.proposals import accepted_fields, changes, parse_answer

CELLS = {"last_name": "SMITH John", "dob": "15th March 1990"}


@pytest.mark.parametrize("content", [None, "", "   ", "not json", "[1, 2]", '{"other": "x"}'])
def test_an_empty_or_unreadable_answer_is_none(content):
    assert parse_answer(content) is None


def test_an_answer_keeps_its_text_fields_and_drops_nulls():
    assert parse_answer('{"first_name": " John ", "last_name": "SMITH", "dob": null}') == {
        "first_name": "John",
        "last_name": "SMITH",
    }


def test_names_split_from_another_cell_and_a_date_in_words_are_accepted():
    answer = {"first_name": "John", "last_name": "Smith", "dob": "1990-03-15"}

    assert accepted_fields(answer=answer, cells=CELLS, sent=CELLS) == {
        "first_name": "John",
        "last_name": "Smith",
        "dob": datetime.date(1990, 3, 15),
    }


@pytest.mark.parametrize(
    "answer",
    [
        {"first_name": "Jonathan", "last_name": "Smith"},  # a name not in the row
        {"first_name": "John", "last_name": "Smithson"},
        {"first_name": "John", "last_name": "Smith", "dob": "1991-03-15"},  # year not in cell
        {"first_name": "John", "last_name": "Smith", "dob": "15/03/1990"},  # not yyyy-mm-dd
        {"first_name": "John", "last_name": "Smith", "dob": "1990-02-30"},  # no such day
    ],
)
def test_a_value_that_does_not_re_read_the_row_refuses_the_answer(answer):
    assert accepted_fields(answer=answer, cells=CELLS, sent=CELLS) is None


def test_a_word_fills_one_field_only_as_often_as_the_row_holds_it():
    cells = {"first_name": "Madonna", "dob": "16 March 1990"}
    copied = {"first_name": "Madonna", "last_name": "Madonna"}
    assert accepted_fields(answer=copied, cells=cells, sent=cells) is None

    twice = {"first_name": "John John", "dob": "16 March 1990"}
    assert accepted_fields(answer={"first_name": "John", "last_name": "John"}, cells=twice,
                           sent=twice) == {"first_name": "John", "last_name": "John"}  # fmt: skip


@pytest.mark.parametrize(
    ("cell", "proposed", "kept"),
    [
        ("15th March 1985", "1985-03-15", True),
        ("March 15, 1985", "1985-03-15", True),
        ("15 Mar 1985", "1985-03-15", True),
        ("15th March 1985", "1985-11-30", False),  # a day and month the cell does not hold
        ("March 1987", "1987-03-01", False),  # no day given: never guessed
        ("sometime in 1988", "1988-07-01", False),
        ("DOB: 12/03/1990", "1990-03-12", True),  # a date in numbers is read day first
        ("DOB: 12/03/1990", "1990-12-03", False),  # never swapped
    ],
)
def test_a_date_is_kept_only_when_its_cell_says_its_day_month_and_year(cell, proposed, kept):
    cells = {"last_name": "SMITH John", "dob": cell}
    answer = {"first_name": "John", "last_name": "Smith", "dob": proposed}

    accepted = accepted_fields(answer=answer, cells=cells, sent=cells)

    assert (accepted is not None) is kept


def test_a_date_for_a_cell_not_sent_is_refused():
    cells = {"last_name": "SMITH John", "dob": "15/03/1990"}  # all-numeric: not sent
    sent = {"last_name": "SMITH John"}
    answer = {"first_name": "John", "last_name": "Smith", "dob": "1990-03-15"}

    assert accepted_fields(answer=answer, cells=cells, sent=sent) is None


def test_an_empty_date_is_filled_only_from_a_name_cell_holding_it():
    cells = {"full_name": "John Smith born 15 March 1990"}
    answer = {"first_name": "John", "last_name": "Smith", "dob": "1990-03-15"}
    assert accepted_fields(answer=answer, cells=cells, sent=cells)["dob"] == datetime.date(
        1990, 3, 15
    )
    assert accepted_fields(answer=answer, cells={"full_name": "John Smith"}, sent=cells) is None


def test_changes_name_each_field_before_and_after():
    before = {"first_name": "", "last_name": "Smith John", "dob": "15th March 1990"}
    after = {"first_name": "John", "last_name": "Smith", "dob": datetime.date(1990, 3, 15)}

    assert changes(before=before, after=after) == {
        "first_name": ["", "John"],
        "last_name": ["Smith John", "Smith"],
        "dob": ["15th March 1990", "15/03/1990"],
    }
