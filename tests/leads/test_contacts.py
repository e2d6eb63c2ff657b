"""Cross-batch claims of e-mails and phones: holders, tombstones, what a lost lead gives up."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.hashing import lead_key_hash
from leads.models import ContactKind, LeadContactClaim, LeadOwner
from leads.rules import RuleContext, clean_lead
from leads.services import (
    EVERY_SCOPE,
    contact_claims_tombstone,
    leads_claim,
    leads_claim_contacts,
)
from tests.webhooks.factories import make_batch

pytestmark = pytest.mark.django_db

SCOPE = "customer:1"

CTX = RuleContext(today=datetime.date(2026, 12, 5))


def lead(email: str = "", phone: str = ""):
    return clean_lead({"email": email, "phone": phone}, ctx=CTX)


def claims() -> set[tuple[str, str, int | None]]:
    return set(LeadContactClaim.objects.values_list("kind", "value", "owner_id"))


@pytest.fixture
def both_flags(settings):
    settings.DEDUPE_ON_EMAIL = True
    settings.DEDUPE_ON_PHONE = True


def test_with_both_flags_off_nothing_is_read_claimed_or_queried(settings):
    settings.DEDUPE_ON_EMAIL = settings.DEDUPE_ON_PHONE = False
    batch = make_batch()

    def leads():
        raise AssertionError("the leads were read")
        yield

    with CaptureQueriesContext(connection) as captured:
        lost = leads_claim_contacts(batch_pk=batch.pk, leads=leads(), take_over=False, scope=SCOPE)

    assert (lost, len(captured), claims()) == ({}, 0, set())


def test_the_first_lead_holds_its_email_and_a_later_one_is_lost_to_it(settings):
    settings.DEDUPE_ON_EMAIL = True
    first, second = make_batch(), make_batch()
    leads_claim_contacts(
        batch_pk=first.pk,
        leads=[(1, "a.b.01011990", lead("Ann@Example.com"))],
        take_over=False,
        scope=SCOPE,
    )

    lost = leads_claim_contacts(
        batch_pk=second.pk,
        leads=[(2, "c.d.01011990", lead("ann@example.com")), (3, "e.f.01011990", lead("x@y.io"))],
        take_over=False,
        scope=SCOPE,
    )

    assert lost == {2: 1}
    assert claims() == {("email", "ann@example.com", 1), ("email", "x@y.io", 3)}
    assert set(LeadContactClaim.objects.values_list("scope", flat=True)) == {SCOPE}


def test_phones_are_claimed_in_e164_whatever_the_spelling(settings):
    settings.DEDUPE_ON_PHONE = True
    batch = make_batch()
    leads_claim_contacts(
        batch_pk=batch.pk,
        leads=[(1, "a.b.01011990", lead(phone="07911 123456"))],
        take_over=False,
        scope=SCOPE,
    )

    lost = leads_claim_contacts(
        batch_pk=make_batch().pk,
        leads=[(2, "c.d.01011990", lead(phone="+44 (0)7911-123456"))],
        take_over=False,
        scope=SCOPE,
    )

    assert lost == {2: 1}
    assert claims() == {("phone", "+447911123456", 1)}


def test_only_the_flagged_kinds_are_claimed(settings):
    settings.DEDUPE_ON_EMAIL, settings.DEDUPE_ON_PHONE = False, True

    leads_claim_contacts(
        batch_pk=make_batch().pk,
        leads=[(1, "a.b.01011990", lead("a@example.com", "07911 123456"))],
        take_over=False,
        scope=SCOPE,
    )

    assert claims() == {("phone", "+447911123456", 1)}


def test_invalid_values_are_never_claimed(both_flags):
    leads_claim_contacts(
        batch_pk=make_batch().pk,
        leads=[(1, "a.b.01011990", lead("not-an-email", "12"))],
        take_over=False,
        scope=SCOPE,
    )

    assert claims() == set()


def test_an_email_holder_is_preferred_to_a_phone_holder(both_flags):
    batch = make_batch()
    leads_claim_contacts(
        batch_pk=batch.pk,
        leads=[
            (1, "a.b.01011990", lead(phone="07911 123456")),
            (2, "c.d.01011990", lead("c@example.com")),
        ],
        take_over=False,
        scope=SCOPE,
    )

    lost = leads_claim_contacts(
        batch_pk=make_batch().pk,
        leads=[(3, "e.f.01011990", lead("c@example.com", "07911 123456"))],
        take_over=False,
        scope=SCOPE,
    )

    assert lost == {3: 2}


def test_a_lead_that_loses_one_value_keeps_no_claim_it_made_in_the_chunk(both_flags):
    leads_claim_contacts(
        batch_pk=make_batch().pk,
        leads=[(1, "a.b.01011990", lead(phone="07911 123456"))],
        take_over=False,
        scope=SCOPE,
    )
    batch = make_batch()
    leads_claim(batch_pk=batch.pk, candidates={"c.d.01011990": 2}, take_over=False, scope=SCOPE)

    lost = leads_claim_contacts(
        batch_pk=batch.pk,
        leads=[(2, "c.d.01011990", lead("c@example.com", "07911 123456"))],
        take_over=False,
        scope=SCOPE,
    )

    assert lost == {2: 1}
    assert claims() == {("phone", "+447911123456", 1)}  # not c@example.com
    assert not LeadOwner.objects.filter(lead_id="c.d.01011990").exists()


def test_a_lead_claiming_again_what_it_holds_is_not_lost(both_flags):
    batch = make_batch()
    leads = [(1, "a.b.01011990", lead("a@example.com", "07911 123456"))]
    leads_claim_contacts(batch_pk=batch.pk, leads=leads, take_over=False, scope=SCOPE)

    assert leads_claim_contacts(batch_pk=batch.pk, leads=leads, take_over=False, scope=SCOPE) == {}
    assert len(claims()) == 2


def test_taking_over_moves_the_claim_to_the_new_lead(both_flags):
    leads_claim_contacts(
        batch_pk=make_batch().pk,
        leads=[(1, "a.b.01011990", lead("a@example.com"))],
        take_over=False,
        scope=SCOPE,
    )

    lost = leads_claim_contacts(
        batch_pk=make_batch().pk,
        leads=[(2, "c.d.01011990", lead("a@example.com"))],
        take_over=True,
        scope=SCOPE,
    )

    assert lost == {}
    assert claims() == {("email", "a@example.com", 2)}


def test_taking_over_never_takes_a_value_from_another_lead_of_the_same_batch(both_flags):
    batch = make_batch()

    def claim(pk: int, email: str, phone: str) -> dict:
        return leads_claim_contacts(
            batch_pk=batch.pk,
            leads=[(pk, f"p{pk}.x.01011990", lead(email, phone))],
            take_over=True,
            scope=SCOPE,
        )

    assert claim(1, "a@example.com", "") == {}
    # Another chunk of the same re-validated batch: its lead is the first one's duplicate,
    # and keeps nothing it claimed (its new phone) either.
    assert claim(2, "a@example.com", "07911 123456") == {2: 1}
    assert claims() == {("email", "a@example.com", 1)}


@pytest.mark.parametrize("take_over", [False, True])
def test_a_tombstoned_value_is_lost_to_no_one_even_when_taking_over(both_flags, take_over):
    LeadContactClaim.objects.create(
        scope=EVERY_SCOPE, kind=ContactKind.EMAIL, value=lead_key_hash("gone@example.com")
    )

    lost = leads_claim_contacts(
        batch_pk=make_batch().pk,
        leads=[
            (1, "a.b.01011990", lead("gone@example.com", "07911 123456")),
            (2, "c.d.01011990", lead("kept@example.com")),
        ],
        take_over=take_over,
        scope=SCOPE,
    )

    assert lost == {1: None}
    assert claims() == {
        ("email", lead_key_hash("gone@example.com"), None),
        ("email", "kept@example.com", 2),
    }


def test_contact_claims_cost_the_same_queries_for_ten_leads_as_for_a_thousand(both_flags):
    batch = make_batch()

    def queries(n: int) -> int:
        leads = [(i, f"p{i}.x.01011990", lead(f"p{i}.{n}@example.com")) for i in range(n)]
        with CaptureQueriesContext(connection) as captured:
            leads_claim_contacts(batch_pk=batch.pk, leads=leads, take_over=False, scope=SCOPE)
        return len(captured)

    assert queries(10) == queries(1000)


def test_tombstoning_claims_replaces_values_by_their_hash_and_empties_the_holder():
    LeadContactClaim.objects.create(scope="s", kind="email", value="a@example.com", owner_id=3)
    LeadContactClaim.objects.create(scope="s", kind="phone", value="+447911123456", owner_id=4)

    done = contact_claims_tombstone(claims=LeadContactClaim.objects.filter(owner_id=3))

    assert done == 1
    assert claims() == {
        ("email", lead_key_hash("a@example.com"), None),
        ("phone", "+447911123456", 4),
    }


def test_tombstoning_a_value_whose_tombstone_exists_keeps_one_row():
    hashed = lead_key_hash("a@example.com")
    LeadContactClaim.objects.create(scope="s", kind="email", value=hashed)
    LeadContactClaim.objects.create(scope="s", kind="email", value="a@example.com", owner_id=3)

    assert contact_claims_tombstone(claims=LeadContactClaim.objects.all()) == 1
    assert claims() == {("email", hashed, None)}


# --- scopes (DEDUPE_SCOPE) ----------------------------------------------------------------------

OTHER = "customer:2"


def test_one_email_is_held_once_in_each_scope(both_flags):
    batch = make_batch()

    def claim(pk: int, scope: str) -> dict:
        return leads_claim_contacts(
            batch_pk=batch.pk,
            leads=[(pk, f"p{pk}.x.01011990", lead("ann@example.com", "07911 123456"))],
            take_over=False,
            scope=scope,
        )

    assert (claim(1, SCOPE), claim(2, OTHER), claim(3, SCOPE)) == ({}, {}, {3: 1})
    assert set(LeadContactClaim.objects.values_list("scope", "kind", "owner_id")) == {
        (SCOPE, "email", 1),
        (SCOPE, "phone", 1),
        (OTHER, "email", 2),
        (OTHER, "phone", 2),
    }


def test_a_purge_tombstone_of_another_scope_blocks_nothing_here(both_flags):
    LeadContactClaim.objects.create(
        scope=OTHER, kind=ContactKind.EMAIL, value=lead_key_hash("ann@example.com")
    )
    batch = make_batch()

    def claim(pk: int, scope: str) -> dict:
        return leads_claim_contacts(
            batch_pk=batch.pk,
            leads=[(pk, f"p{pk}.x.01011990", lead("ann@example.com"))],
            take_over=True,
            scope=scope,
        )

    assert (claim(1, SCOPE), claim(2, OTHER)) == ({}, {2: None})
    assert ("email", "ann@example.com", 1) in claims()


def test_an_erasure_leaves_one_tombstone_in_every_scope_per_value():
    for scope, owner in ((SCOPE, 3), (OTHER, 4)):
        LeadContactClaim.objects.create(
            scope=scope, kind="email", value="a@example.com", owner_id=owner
        )
    LeadContactClaim.objects.create(scope=SCOPE, kind="phone", value="+447911123456", owner_id=3)

    done = contact_claims_tombstone(claims=LeadContactClaim.objects.all(), every_scope=True)

    assert done == 3
    assert set(LeadContactClaim.objects.values_list("scope", "kind", "value", "owner_id")) == {
        (EVERY_SCOPE, "email", lead_key_hash("a@example.com"), None),
        (EVERY_SCOPE, "phone", lead_key_hash("+447911123456"), None),
    }
