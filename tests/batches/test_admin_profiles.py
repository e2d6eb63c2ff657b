"""The mapping profiles' admin: list, view, rename, delete; profiles are not added here."""

import pytest
from django.contrib.admin.models import LogEntry

from batches.models import MappingProfile
from batches.services.mapping import mapping_profile_remember
from tests.users import staff

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/batches/mappingprofile/"


@pytest.fixture
def profile(django_user_model):
    maker = django_user_model.objects.create_user("maker", is_staff=True)
    saved, _ = mapping_profile_remember(
        headers=["Given Name", "Family Name", "Birthdate", "Account Name", "Lead Src"],
        columns=["first_name", "last_name", "dob", "company", "ignore"],
        name="CRM export",
        user=maker,
    )
    return saved


def test_list_shows_each_profile_with_what_its_columns_feed(client, profile):
    client.force_login(staff("v", "Viewers"))

    page = client.get(LIST_URL).content.decode()

    assert "CRM export" in page
    assert "5: first_name, last_name, dob, company; 0 kept, 1 ignored" in page


def test_profile_page_shows_each_header_and_where_it_goes(client, profile):
    client.force_login(staff("v", "Viewers"))

    page = client.get(f"{LIST_URL}{profile.pk}/change/").content.decode()

    assert "<td>D</td><td>Account Name</td><td>company</td>" in page
    assert "<td>E</td><td>Lead Src</td><td>ignored</td>" in page
    assert "maker" in page


def test_operator_renames_a_profile_and_it_is_recorded(client, profile):
    operator = staff("op", "Operators")
    client.force_login(operator)

    response = client.post(f"{LIST_URL}{profile.pk}/change/", {"name": "Salesforce export"})

    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.name == "Salesforce export" and profile.updated_by == operator
    assert profile.columns[3] == "company"  # only the name is edited here
    assert LogEntry.objects.filter(object_id=str(profile.pk), user=operator).exists()


def test_operator_deletes_a_profile(client, profile):
    client.force_login(staff("op", "Operators"))

    client.post(f"{LIST_URL}{profile.pk}/delete/", {"post": "yes"})

    assert not MappingProfile.objects.exists()


def test_viewer_cannot_rename_or_delete(client, profile):
    client.force_login(staff("v", "Viewers"))

    client.post(f"{LIST_URL}{profile.pk}/change/", {"name": "Mine"})
    client.post(f"{LIST_URL}{profile.pk}/delete/", {"post": "yes"})

    profile.refresh_from_db()
    assert profile.name == "CRM export"


def test_profiles_are_not_added_in_the_admin(client):
    client.force_login(staff("op", "Operators"))

    assert client.get(f"{LIST_URL}add/").status_code == 403
