"""Mapping profiles applied to every upload, and the operator's choices for one upload."""

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from batches.models import MappingProfile
from batches.reading import FileRefused
from batches.reading.choices import BY_OPERATOR, BY_PROFILE, IGNORE, KEEP, header_key, header_row
from batches.services import batch_create, batch_inspect
from batches.services.inline import batch_process_inline
from batches.services.mapping import (
    ChoicesOutdated,
    mapping_choose,
    mapping_profile_remember,
)
from tests.batches.test_messy_files import workbook

pytestmark = pytest.mark.django_db

MESSY = (
    b"Given Name,Family Name,Birthdate,Firm,Lead Src\n"
    b"John,Smith,15/03/1990,Acme Ltd,fair\n"
    b"Jane,Doe,22/08/1985,Globex,web\n"
)
HEADERS = ["Given Name", "Family Name", "Birthdate", "Firm", "Lead Src"]
REMAPPED = ["first_name", "last_name", "dob", "company", IGNORE]


def messy(name="crm-export.csv", content=MESSY):
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture
def operator():
    return User.objects.create_user("op", is_staff=True)


@pytest.fixture
def profile(operator):
    saved, _ = mapping_profile_remember(
        headers=HEADERS, columns=REMAPPED, name="CRM export", user=operator
    )
    return saved


def test_a_profile_maps_every_later_upload_with_its_headers(profile):
    (summary,) = batch_inspect(files=[messy()])

    mapping = summary.mappings[0]
    assert mapping.profile == "CRM export"
    assert mapping.fields["company"] == 3 and mapping.matched_by["company"] == BY_PROFILE
    assert mapping.extra == {}


def test_a_profile_matches_headers_spelt_differently_but_not_in_another_order(profile):
    respelt = b"given name,FAMILY-NAME,Birthdate,FIRM,lead src\nJo,Li,01/01/1990,A,x\n"
    reordered = b"Family Name,Given Name,Birthdate,Firm,Lead Src\nLi,Jo,01/01/1990,A,x\n"

    (same,) = batch_inspect(files=[messy(content=respelt)])
    (other,) = batch_inspect(files=[messy(content=reordered)])

    assert same.mappings[0].profile == "CRM export"
    assert other.mappings[0].profile == "" and "company" not in other.mappings[0].fields


def test_a_profile_applies_to_each_worksheet_with_its_headers(profile):
    book = workbook(
        {
            "Mine": [HEADERS, ["Ann", "Lee", "01/02/1990", "Initech", "fair"]],
            "Plain": [["first_name", "last_name", "dob"], ["A", "B", "01/01/1980"]],
        }
    )

    (summary,) = batch_inspect(files=[SimpleUploadedFile("book.xlsx", book)])

    assert [m.profile for m in summary.mappings] == ["CRM export", ""]


def test_leads_of_a_profiled_upload_get_the_remapped_field_and_not_the_ignored_column(profile):
    batch = batch_process_inline(batch=batch_create(files=[messy()], queue=False))

    leads = list(batch.leads.order_by("seq"))
    assert [lead.company for lead in leads] == ["Acme Ltd", "Globex"]
    assert all("Lead Src" not in lead.raw for lead in leads)
    assert batch.files.get().column_mapping[0]["profile"] == "CRM export"


def test_a_profile_that_no_longer_fits_leaves_the_reader_mapping(profile):
    MappingProfile.objects.filter(pk=profile.pk).update(
        columns=["first_name", "last_name", "dob", "salary", KEEP]
    )

    (summary,) = batch_inspect(files=[messy()])

    assert summary.mappings[0].profile == ""
    assert summary.mappings[0].extra == {3: "Firm", 4: "Lead Src"}


def test_remembering_the_same_headers_again_replaces_the_profile(profile, operator):
    other = User.objects.create_user("other", is_staff=True)

    again, created = mapping_profile_remember(
        headers=[h.upper() for h in HEADERS],
        columns=["first_name", "last_name", "dob", KEEP, KEEP],
        name="CRM v2",
        user=other,
    )

    assert not created and again.pk == profile.pk
    assert (again.name, again.columns) == ("CRM v2", ["first_name", "last_name", "dob", KEEP, KEEP])
    assert (again.created_by, again.updated_by) == (operator, other)
    assert again.headers == HEADERS  # as the file that made it spelt them
    assert again.header_key == header_key(header_row(HEADERS))


def test_choices_left_as_shown_keep_the_profile_and_changes_drop_it(profile):
    summaries = batch_inspect(files=[messy()])

    unchanged = mapping_choose(summaries=summaries, choices={(0, ""): REMAPPED})
    changed = mapping_choose(
        summaries=summaries, choices={(0, ""): ["first_name", "last_name", "dob", "company", KEEP]}
    )

    assert unchanged[0].mappings[0].profile == "CRM export"
    assert changed[0].mappings[0].profile == ""
    assert changed[0].mappings[0].extra == {4: "Lead Src"}


def test_choices_mark_the_fields_the_operator_moved():
    summaries = batch_inspect(files=[messy()])

    (summary,) = mapping_choose(summaries=summaries, choices={(0, ""): REMAPPED})

    assert summary.mappings[0].matched_by == {
        "first_name": "alias",
        "last_name": "alias",
        "dob": "alias",
        "company": BY_OPERATOR,
    }


@pytest.mark.parametrize(
    "choices",
    [
        {},
        {(0, "Leads"): REMAPPED},
        {(0, ""): REMAPPED, (1, ""): REMAPPED},
        {(0, ""): REMAPPED[:-1]},
    ],
)
def test_choices_for_other_files_sheets_or_columns_are_outdated(choices):
    summaries = batch_inspect(files=[messy()])

    with pytest.raises(ChoicesOutdated):
        mapping_choose(summaries=summaries, choices=choices)


def test_bad_choices_are_refused_naming_the_file_and_column():
    summaries = batch_inspect(files=[messy()])

    with pytest.raises(FileRefused) as refused:
        mapping_choose(
            summaries=summaries,
            choices={(0, ""): ["first_name", "last_name", "dob", "company", "company"]},
        )

    assert str(refused.value).startswith("crm-export.csv, column 'Lead Src': columns")


TRAILING = (
    b"Given Name,Family Name,Birthdate,Firm,Lead Src,,\n"
    b"John,Smith,15/03/1990,Acme Ltd,fair,,\n"
    b"Jane,Doe,22/08/1985,Globex,web,,\n"
)


def test_a_profile_applies_to_the_same_export_with_trailing_separators(profile):
    (summary,) = batch_inspect(files=[messy(content=TRAILING)])

    mapping = summary.mappings[0]
    assert mapping.profile == "CRM export"
    assert mapping.fields["company"] == 3 and 4 not in mapping.extra


def test_a_profile_remembered_from_trailing_separators_applies_without_them(operator):
    (trailing,) = batch_inspect(files=[messy(content=TRAILING)])
    headers = trailing.mappings[0].headers
    assert len(headers) == 7  # the reader keeps the unnamed columns; the profile does not
    saved, _ = mapping_profile_remember(
        headers=headers, columns=[*REMAPPED, IGNORE, IGNORE], name="CRM export", user=operator
    )

    (summary,) = batch_inspect(files=[messy()])

    assert (saved.headers, saved.columns) == (HEADERS, REMAPPED)
    assert summary.mappings[0].profile == "CRM export"
    assert summary.mappings[0].fields["company"] == 3
