"""A mapping chosen column by column: fields, supplier columns kept, columns ignored."""

import pytest

from batches.reading import AMBIGUOUS_COLUMNS, FIELDS, MISSING_COLUMNS, FileRefused
from batches.reading.choices import (
    BY_OPERATOR,
    BY_PROFILE,
    IGNORE,
    KEEP,
    choice_labels,
    choices_of,
    header_row,
    mapping_chosen,
)
from batches.reading.headers import mapping_for_headers

HEADERS = ["Given Name", "Surname", "DOB", "Firm", "Lead Src"]


def read(headers=HEADERS, **options):
    return mapping_for_headers(headers, **options)


def test_choices_of_reads_fields_and_supplier_columns():
    assert choices_of(read()) == ("first_name", "last_name", "dob", KEEP, KEEP)


def test_a_kept_column_can_feed_a_field():
    chosen = mapping_chosen(read(), ["first_name", "last_name", "dob", "company", KEEP])

    assert chosen.fields == {"first_name": 0, "last_name": 1, "dob": 2, "company": 3}
    assert chosen.extra == {4: "Lead Src"}


def test_fields_left_where_the_reader_put_them_keep_how_they_matched():
    chosen = mapping_chosen(read(), ["first_name", "last_name", "dob", "company", KEEP])

    assert chosen.matched_by == {
        "first_name": "alias",
        "last_name": "alias",
        "dob": "exact",
        "company": BY_OPERATOR,
    }


def test_an_ignored_column_is_neither_a_field_nor_a_supplier_column():
    chosen = mapping_chosen(read(), ["first_name", "last_name", "dob", KEEP, IGNORE])

    assert 4 not in chosen.fields.values() and 4 not in chosen.extra
    assert choices_of(chosen) == ("first_name", "last_name", "dob", KEEP, IGNORE)


def test_a_field_can_move_to_another_column():
    mapping = read(["first_name", "last_name", "dob", "email", "Work Email"])

    chosen = mapping_chosen(mapping, ["first_name", "last_name", "dob", KEEP, "email"])

    assert chosen.fields["email"] == 4
    assert chosen.matched_by["email"] == BY_OPERATOR
    assert chosen.extra == {3: "email"}


def test_the_profile_name_and_how_are_recorded():
    chosen = mapping_chosen(
        read(), ["first_name", "last_name", "dob", "company", IGNORE], how=BY_PROFILE, profile="CRM"
    )

    assert chosen.profile == "CRM" and chosen.matched_by["company"] == BY_PROFILE


def test_kept_columns_with_one_header_stay_apart():
    mapping = read(["first_name", "last_name", "dob", "Note", "Note", "Note"])

    chosen = mapping_chosen(mapping, ["first_name", "last_name", "dob", IGNORE, KEEP, KEEP])

    assert chosen.extra == {4: "Note", 5: "Note (2)"}


def test_a_required_field_left_out_is_refused_like_the_reader_refuses_it():
    with pytest.raises(FileRefused) as refused:
        mapping_chosen(
            read(),
            ["first_name", "last_name", IGNORE, KEEP, KEEP],
            file_name="crm.csv",
        )

    assert refused.value.code == MISSING_COLUMNS
    assert str(refused.value).startswith("crm.csv: missing required column dob; headers found:")


def test_a_refusal_names_the_worksheet():
    mapping = read(worksheet="Leads")

    with pytest.raises(FileRefused) as refused:
        mapping_chosen(mapping, [IGNORE, "last_name", "dob", KEEP, KEEP], file_name="book.xlsx")

    assert str(refused.value).startswith(
        "book.xlsx: worksheet 'Leads': missing required column first_name"
    )


def test_one_field_fed_by_two_columns_is_refused_naming_both():
    with pytest.raises(FileRefused) as refused:
        mapping_chosen(
            read(), ["first_name", "last_name", "dob", "company", "company"], file_name="crm.csv"
        )

    assert refused.value.code == AMBIGUOUS_COLUMNS
    assert refused.value.column == "Lead Src"
    assert str(refused.value) == (
        "crm.csv, column 'Lead Src': columns 'Firm' (D) and 'Lead Src' (E) both feed "
        "company; choose one"
    )


def test_an_unknown_choice_is_refused_naming_the_column():
    with pytest.raises(FileRefused) as refused:
        mapping_chosen(
            read(), ["first_name", "last_name", "dob", "salary", KEEP], file_name="a.csv"
        )

    assert str(refused.value) == (
        "a.csv, column 'Firm': 'salary' is not a lead field; choose a field, keep or ignore"
    )


def test_choices_for_another_number_of_columns_are_refused():
    with pytest.raises(FileRefused, match="4 column choices for 5 columns"):
        mapping_chosen(read(), ["first_name", "last_name", "dob", KEEP])


def test_every_field_of_the_reader_is_a_choice_and_keep_and_ignore_are_not_fields():
    values = [value for value, _ in choice_labels()]

    assert values == [*FIELDS, KEEP, IGNORE]
    assert not {KEEP, IGNORE} & set(FIELDS)


def test_header_row_ignores_case_spaces_and_punctuation_but_not_order():
    assert header_row(["Given Name", "E-mail"]) == header_row(["given_name", "EMAIL"])
    assert header_row(["Given Name", "E-mail"]) != header_row(["E-mail", "Given Name"])


def test_a_full_name_may_replace_first_and_last_names_but_not_sit_beside_them():
    alone = mapping_chosen(read(), [IGNORE, IGNORE, "dob", "full_name", KEEP])
    beside = mapping_chosen(read(), ["first_name", "last_name", "dob", "full_name", KEEP])

    assert alone.fields == {"dob": 2, "full_name": 3}
    assert beside.fields == {"first_name": 0, "last_name": 1, "dob": 2}
    assert beside.extra == {3: "Firm", 4: "Lead Src"}
    with pytest.raises(FileRefused, match="missing required column last_name"):
        mapping_chosen(read(), ["first_name", IGNORE, "dob", "full_name", KEEP])
