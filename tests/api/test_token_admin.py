"""API tokens in the admin: staff scoped to customers make only tokens scoped to one of theirs,
and see only their own tokens."""

import pytest

from api.models import ApiToken, token_digest
from customers.services import customer_create
from tests.users import staff

pytestmark = pytest.mark.django_db

TOKENS = "/admin/api/apitoken/"
ADD = f"{TOKENS}add/"


@pytest.fixture
def acme():
    return customer_create(slug="acme", name="Acme").customer


@pytest.fixture
def other():
    return customer_create(slug="other", name="Other").customer


@pytest.fixture
def member(acme):
    user = staff("member", "Customer operators")
    acme.members.add(user)
    return user


def _shown_token(response) -> str:
    [message] = [str(m) for m in response.context["messages"] if "Copy it now" in str(m)]
    return message.rsplit(" ", 1)[-1]


def test_scoped_staff_make_a_token_scoped_to_their_customer(client, member, acme):
    client.force_login(member)
    form = client.get(ADD)
    assert form.context["adminform"].form.initial["customer"] == acme.pk

    response = client.post(
        ADD, {"name": "script", "user": member.pk, "customer": acme.pk}, follow=True
    )

    token = ApiToken.objects.get(digest=token_digest(_shown_token(response)))
    assert (token.user, token.customer) == (member, acme)


def test_scoped_staff_cannot_make_an_unscoped_or_another_customers_token(
    client, member, acme, other
):
    client.force_login(member)

    unscoped = client.post(ADD, {"name": "script", "user": member.pk, "customer": ""})
    theirs = client.post(ADD, {"name": "script", "user": member.pk, "customer": other.pk})

    assert "This field is required" in unscoped.content.decode()
    assert "Select a valid choice" in theirs.content.decode()
    assert not ApiToken.objects.exists()
    choices = [c for c, _ in client.get(ADD).context["adminform"].form.fields["customer"].choices]
    assert other.pk not in [getattr(c, "value", c) for c in choices]


def test_staff_who_see_every_customer_may_make_an_unscoped_token(client, other):
    operator = staff("op", "Operators")
    client.force_login(operator)

    client.post(ADD, {"name": "all", "user": operator.pk, "customer": ""})
    client.post(ADD, {"name": "other", "user": operator.pk, "customer": other.pk})

    assert dict(ApiToken.objects.values_list("name", "customer")) == {
        "all": None,
        "other": other.pk,
    }


def test_scoped_staff_see_and_change_only_their_own_tokens(client, member, acme, other):
    colleague = staff("colleague", "Customer operators")
    acme.members.add(colleague)
    theirs, _ = ApiToken.issue(name="colleague's", user=colleague, customer=acme)
    mine, _ = ApiToken.issue(name="mine", user=member, customer=acme)
    client.force_login(member)

    listing = client.get(TOKENS).content.decode()
    assert "mine" in listing and "colleague&#x27;s" not in listing
    assert client.get(f"{TOKENS}{theirs.pk}/change/").status_code in (302, 404)
    client.post(f"{TOKENS}", {"action": "revoke", "_selected_action": [theirs.pk]})
    theirs.refresh_from_db()
    assert theirs.revoked_at is None

    # The scope is fixed once made: a change cannot move the token to another customer.
    client.post(
        f"{TOKENS}{mine.pk}/change/", {"name": "renamed", "user": member.pk, "customer": other.pk}
    )
    mine.refresh_from_db()
    assert (mine.name, mine.customer) == ("renamed", acme)
