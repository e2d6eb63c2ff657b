"""Upgrading to profiles keyed up to the last named header (batches 0008)."""

import hashlib
import json

import pytest

from batches.models import MappingProfile
from batches.reading.choices import header_key
from tests.migrating import back_to_the_latest, migrate  # noqa: F401 (fixture)

BEFORE = [("batches", "0007_mapping_profile_customer")]
AFTER = [("batches", "0008_mapping_profile_trailing_headers")]
ROW = ["givenname", "familyname", "birthdate", "firm"]


def old_key(row):
    return hashlib.sha256(json.dumps(row).encode()).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_profiles_keyed_with_trailing_empty_headers_are_keyed_without_them():
    apps = migrate(BEFORE)
    profile = apps.get_model("batches", "MappingProfile")
    columns = ["first_name", "last_name", "dob", "company"]
    for name, row, extra in (("Trailing", [*ROW, "", ""], 2), ("Plain", ["a", "b", "c"], 0)):
        profile.objects.create(
            name=name,
            header_key=old_key(row),
            header_row=row,
            headers=[h.title() for h in row],
            columns=[*columns[: len(row) - extra], *["ignore"] * extra],
        )
    # Trailing empties of a row another profile already holds without them: left alone.
    profile.objects.create(name="Held", header_key=old_key(["x", ""]), header_row=["x", ""],
                           headers=["X", ""], columns=["keep", "ignore"])  # fmt: skip
    profile.objects.create(
        name="Holder", header_key=old_key(["x"]), header_row=["x"], headers=["X"], columns=["keep"]
    )

    migrate(AFTER)

    trailing = MappingProfile.objects.get(name="Trailing")
    assert (trailing.header_key, trailing.header_row) == (header_key(ROW), ROW)
    assert trailing.columns == columns and len(trailing.headers) == 4
    assert MappingProfile.objects.get(name="Plain").header_key == old_key(["a", "b", "c"])
    assert MappingProfile.objects.get(name="Held").header_row == ["x", ""]
