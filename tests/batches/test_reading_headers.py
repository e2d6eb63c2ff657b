"""Header matching: exact names, aliases, fuzzy typos, ambiguity and missing columns."""

import io
import pickle

import pytest

from batches.reading import (
    AMBIGUOUS_COLUMNS,
    DEFAULT_ALIASES,
    FIELDS,
    MISSING_COLUMNS,
    REQUIRED_FIELDS,
    FileRefused,
    mapping_for_headers,
    normalise_header,
)

# A full name feeds the lead only in a file without first and last name columns.
OWN_FIELDS = tuple(f for f in FIELDS if f != "full_name")


def test_canonical_names_match_exactly():
    mapping = mapping_for_headers(list(OWN_FIELDS))

    assert mapping.fields == {field: index for index, field in enumerate(OWN_FIELDS)}
    assert set(mapping.matched_by.values()) == {"exact"}
    assert mapping.extra == {}


def test_a_full_name_stands_in_for_missing_first_and_last_names():
    alone = mapping_for_headers(["Full Name", "DOB"])
    beside = mapping_for_headers(["First Name", "Surname", "Name", "DOB"])

    assert alone.fields == {"full_name": 0, "dob": 1}
    assert beside.fields == {"first_name": 0, "last_name": 1, "dob": 3}
    assert beside.extra == {2: "Name"}
    with pytest.raises(FileRefused, match="missing required column last_name"):
        mapping_for_headers(["First Name", "Name", "DOB"])


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Lead ID", "reference"),
        ("Record ID", "reference"),
        ("Contact Name", "full_name"),
        ("ZIP Code", "postcode"),
        ("Opt-in Date", "consent_at"),
        ("Opt-in URL", "consent_source"),
        ("Consent Wording", "consent_text"),
        ("Account Name", "company"),
        ("MobilePhone", "phone"),
        ("Birthdate", "dob"),
        ("Company Domain Name", "website"),
    ],
)
def test_lead_data_aliases(header, field):
    headers = ["first_name", "last_name", "dob"]
    headers[2:] = [header] if field == "dob" else ["dob", header]
    if field == "full_name":
        headers = ["dob", header]

    assert mapping_for_headers(headers).fields[field] == len(headers) - 1


# Every alias the contract names for the lead's data, spelt as the CRMs export them.
CONTRACT_ALIASES = {
    "reference": (
        "Lead ID",
        "Reference",
        "Ref",
        "External ID",
        "Record ID",
        "Customer Reference",
    ),
    "full_name": ("Full Name", "Name", "Contact Name", "Person Name"),
    "postcode": ("Postcode", "Post Code", "Postal Code", "Zip", "ZIP Code"),
    "consent_at": ("Consent Date", "Opt-in Date"),
    "consent_source": ("Consent Source", "Opt-in URL"),
    "consent_text": ("Consent Text", "Consent Wording"),
    "website": (
        "Website",
        "Web",
        "URL",
        "Domain",
        "Web Site",
        "Website URL",
        "Company Domain Name",
    ),
    "company": ("Account Name", "Account", "Company name"),
    "phone": ("MobilePhone", "Mobile Phone", "Phone number", "Mobile Phone Number"),
    "dob": ("Birthdate",),
}


@pytest.mark.parametrize(
    ("header", "field"),
    [(header, field) for field, headers in CONTRACT_ALIASES.items() for header in headers],
)
def test_every_contract_alias_feeds_its_field_by_alias(header, field):
    if field == "full_name":
        headers = ["dob", header]
    elif field == "dob":
        headers = ["first_name", "last_name", header]
    else:
        headers = ["first_name", "last_name", "dob", header]

    mapping = mapping_for_headers(headers)

    assert mapping.fields[field] == len(headers) - 1
    assert mapping.matched_by[field] in ("alias", "exact")


def test_a_consent_date_is_never_guessed():
    mapping = mapping_for_headers(["first_name", "last_name", "dob", "Consent Dates"])

    assert "consent_at" not in mapping.fields


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Firstname", "first_name"),
        ("Forename", "first_name"),
        ("Given Name", "first_name"),
        ("fname", "first_name"),
        ("Surname", "last_name"),
        ("Family Name", "last_name"),
        ("lname", "last_name"),
        ("Date of Birth", "dob"),
        ("Birth Date", "dob"),
        ("Birthday", "dob"),
        ("E-mail", "email"),
        ("Email Address", "email"),
        ("E-mail Address", "email"),
        ("Phone Number", "phone"),
        ("Mobile", "phone"),
        ("Telephone", "phone"),
        ("Tel", "phone"),
        ("Company Name", "company"),
        ("Organisation", "company"),
        ("Organization", "company"),
        ("Web", "website"),
        ("URL", "website"),
        ("Domain", "website"),
        ("Web Site", "website"),
    ],
)
def test_alias_matches_its_field(header, field):
    headers = ["first_name", "last_name", "dob"]
    if field in REQUIRED_FIELDS:
        headers[REQUIRED_FIELDS.index(field)] = header
    else:
        headers.append(header)

    mapping = mapping_for_headers(headers)

    assert mapping.headers[mapping.fields[field]] == header
    assert mapping.matched_by[field] in {"alias", "exact"}


@pytest.mark.parametrize(
    "header", ["FIRST NAME", "first-name", " First  Name ", "First.Name", "first_name:"]
)
def test_matching_ignores_case_spaces_and_punctuation(header):
    mapping = mapping_for_headers([header, "Surname", "DOB"])

    assert mapping.fields["first_name"] == 0


def test_alias_headers_in_a_typical_export():
    mapping = mapping_for_headers(["First Name", "Surname", "Date of Birth", "Email", "Mobile"])

    assert mapping.fields == {"first_name": 0, "last_name": 1, "dob": 2, "email": 3, "phone": 4}
    assert mapping.matched_by["last_name"] == "alias"
    assert mapping.matched_by["phone"] == "alias"


def test_fuzzy_header_matches_a_misspelt_name():
    mapping = mapping_for_headers(["Frist Name", "Last Name", "DOB"])

    assert mapping.fields["first_name"] == 0
    assert mapping.matched_by["first_name"].startswith("fuzzy:")
    assert 85 <= int(mapping.matched_by["first_name"].split(":")[1]) < 100


def test_fuzzy_threshold_is_a_parameter():
    with pytest.raises(FileRefused) as refused:
        mapping_for_headers(["Frist Name", "Last Name", "DOB"], fuzzy_threshold=95)

    assert refused.value.code == MISSING_COLUMNS


def test_short_headers_are_never_fuzzy_matched():
    # "name" is within fuzz.ratio 89 of the alias "fname", but it is not a typo of it.
    mapping = mapping_for_headers(["First Name", "Name", "Surname", "DOB"])

    assert mapping.fields == {"first_name": 0, "last_name": 2, "dob": 3}
    assert mapping.extra == {1: "Name"}


def test_fuzzy_guess_does_not_compete_with_an_exact_match():
    mapping = mapping_for_headers(["first_name", "last_name", "dob", "Email", "Emails"])

    assert mapping.fields["email"] == 3
    assert mapping.extra == {4: "Emails"}


def test_unknown_columns_are_kept_as_extra():
    mapping = mapping_for_headers(["Notes", "first_name", "last_name", "dob", "Source"])

    assert mapping.extra == {0: "Notes", 4: "Source"}


def test_blank_and_repeated_unknown_headers_get_distinct_labels():
    mapping = mapping_for_headers(["first_name", "last_name", "dob", "Notes", "", "Notes"])

    assert mapping.extra == {3: "Notes", 4: "column_E", 5: "Notes (2)"}


@pytest.mark.parametrize(
    ("headers", "labels"),
    [
        (["Notes", "Notes", "Notes (2)"], ["Notes", "Notes (3)", "Notes (2)"]),
        (["Notes (2)", "Notes", "Notes"], ["Notes (2)", "Notes", "Notes (3)"]),
        (["N", "N", "N", "N (3)"], ["N", "N (2)", "N (4)", "N (3)"]),
        (["column_G", "Notes", "Notes", ""], ["column_G", "Notes", "Notes (2)", "column_G (2)"]),
    ],
)
def test_a_repeated_header_never_takes_the_label_of_another_column(headers, labels):
    mapping = mapping_for_headers(["first_name", "last_name", "dob", *headers])

    assert list(mapping.extra.values()) == labels


def test_every_supplier_value_of_a_file_with_a_clashing_repeat_is_kept():
    from batches.reading import inspect_file, iter_rows

    content = b"First Name,Last Name,DOB,Notes,Notes,Notes (2)\nCol,Lision,01/01/1990,a,b,c\n"

    summary = inspect_file(io.BytesIO(content), name="f.csv", max_rows=10, max_bytes=1000)
    [row] = iter_rows(io.BytesIO(content), name="f.csv", summary=summary)

    assert row.extra == {"Notes": "a", "Notes (3)": "b", "Notes (2)": "c"}


def test_two_columns_for_one_field_are_refused_as_ambiguous():
    with pytest.raises(FileRefused) as refused:
        mapping_for_headers(["First Name", "Firstname", "Surname", "DOB"], file_name="a.csv")

    assert refused.value.code == AMBIGUOUS_COLUMNS
    assert "'First Name' and 'Firstname'" in refused.value.detail
    assert refused.value.column == "Firstname"


def test_two_columns_for_one_field_can_be_settled_for_an_operator_to_choose():
    mapping = mapping_for_headers(
        ["First Name", "Firstname", "Surname", "DOB", "Frist Nme"], settle_ambiguous=True
    )

    assert mapping.fields == {"first_name": 0, "last_name": 2, "dob": 3}
    assert mapping.extra == {1: "Firstname", 4: "Frist Nme"}
    assert mapping.ambiguous == (
        ("columns 'First Name' and 'Firstname' both look like first_name", "Firstname"),
    )


def test_two_fuzzy_guesses_for_one_field_are_refused_as_ambiguous():
    with pytest.raises(FileRefused) as refused:
        mapping_for_headers(["Frist Name", "Firts Name", "Surname", "DOB"])

    assert refused.value.code == AMBIGUOUS_COLUMNS


def test_missing_column_is_refused_with_headers_and_closest_matches():
    with pytest.raises(FileRefused) as refused:
        mapping_for_headers(["Forename", "Surname", "Birth", "Notes"], file_name="leads.csv")

    error = refused.value
    assert error.code == MISSING_COLUMNS
    assert "dob" in error.detail
    assert "headers found: 'Forename', 'Surname', 'Birth', 'Notes'" in error.detail
    assert "dob: closest is 'Birth'" in error.detail
    assert str(error).startswith("leads.csv: missing required column dob")
    assert "add its header as an alias of the field (Batches → Header aliases)" in error.detail


def test_missing_columns_message_names_each_missing_field_and_the_worksheet():
    with pytest.raises(FileRefused) as refused:
        mapping_for_headers(["Email"], worksheet="Leads 2", file_name="book.xlsx")

    detail = refused.value.detail
    assert detail.startswith("worksheet 'Leads 2': missing required columns")
    for field in REQUIRED_FIELDS:
        assert f"{field}: " in detail


def test_custom_aliases_replace_the_defaults():
    aliases = {"first_name": ["Vorname"], "last_name": ["Nachname"], "dob": ["Geburtsdatum"]}

    mapping = mapping_for_headers(
        ["Vorname", "Nachname", "Geburtsdatum", "Mobile"], aliases=aliases
    )

    assert mapping.fields == {"first_name": 0, "last_name": 1, "dob": 2}
    assert mapping.extra == {3: "Mobile"}


def test_aliases_for_unknown_fields_are_a_programming_error():
    with pytest.raises(ValueError):
        mapping_for_headers(["a"], aliases={"nickname": ["Nick"]})


def test_default_aliases_cover_every_field_and_normalise_uniquely():
    assert set(DEFAULT_ALIASES) == set(FIELDS)
    owners: dict[str, str] = {}
    for field, names in DEFAULT_ALIASES.items():
        for name in (field, *names):
            assert owners.setdefault(normalise_header(name), field) == field


def test_refusal_message_names_file_row_and_column():
    error = FileRefused("not_text", "contains a NUL byte", file_name="a.csv", row=7, column="B")

    assert str(error) == "a.csv, row 7, column 'B': contains a NUL byte"


def test_refusal_survives_pickling():
    error = FileRefused("too_many_rows", "more than 5 rows", file_name="a.csv", row=8)

    copy = pickle.loads(pickle.dumps(error))

    assert (copy.code, copy.detail, copy.file_name, copy.row, copy.column) == (
        "too_many_rows",
        "more than 5 rows",
        "a.csv",
        8,
        None,
    )


def test_a_single_alias_may_be_given_as_a_string():
    mapping = mapping_for_headers(
        ["Vorname", "last_name", "dob"], aliases={"first_name": "Vorname"}
    )

    assert mapping.fields["first_name"] == 0


def test_three_columns_for_one_field_all_look_like_it():
    with pytest.raises(FileRefused) as refused:
        mapping_for_headers(["First Name", "Firstname", "Forename", "Surname", "DOB"])

    assert "columns 'First Name', 'Firstname' and 'Forename' all look like first_name" in str(
        refused.value
    )


def test_a_refusal_lists_thirty_headers_at_most():
    headers = ["First Name", "Surname"] + [f"Column {i}" for i in range(1_200)]

    with pytest.raises(FileRefused) as refused:
        mapping_for_headers(headers)

    detail = refused.value.detail
    assert "'Column 27', and 1,172 more" not in detail
    assert "'Column 27' and 1,172 more;" in detail and "'Column 28'" not in detail
    assert len(detail) < 1_000


def test_a_hint_in_brackets_after_a_header_is_read_past():
    mapping = mapping_for_headers(
        [
            "First Name*",
            "Last name (surname)",
            "Date of Birth (DD/MM/YYYY)",
            "Mobile [UK]",
            "Lead Cost (£)",
            "Email address (work)",
        ]
    )

    assert mapping.fields == {
        "first_name": 0,
        "last_name": 1,
        "dob": 2,
        "phone": 3,
        "email": 5,
    }
    assert mapping.matched_by["dob"] == "alias"
    assert mapping.extra == {4: "Lead Cost (£)"}, "a header naming no field keeps its hint"


def test_the_abbreviated_date_of_birth_with_its_format_is_read():
    mapping = mapping_for_headers(["Forename", "Surname", "D.O.B. (DD/MM/YYYY)"])

    assert mapping.fields["dob"] == 2


def test_a_bracketed_header_beside_the_fields_own_column_stays_the_suppliers():
    mapping = mapping_for_headers(
        [
            "First Name",
            "Surname",
            "DOB",
            "Email",
            "Email (secondary)",
            "Phone [work]",
            "Phone [home]",
        ]
    )

    assert mapping.fields["email"] == 3
    assert mapping.fields["phone"] == 5, "the first hinted one feeds a field no column names"
    assert mapping.extra == {4: "Email (secondary)", 6: "Phone [home]"}
    assert mapping.ambiguous == ()
