"""Upgrading to claims per scope (leads 0009): where the global claims of before end up."""

import pytest

from batches import services
from customers.services import customer_create
from leads.hashing import lead_key_hash
from leads.models import LeadContactClaim, LeadOwner
from leads.scopes import EVERY_SCOPE, GLOBAL_SCOPE, customer_scope
from tests.batches.test_dedupe_scope import HEADER, JOHN
from tests.migrating import back_to_the_latest, migrate  # noqa: F401 (fixture)

BEFORE = [("leads", "0008_lead_enrichment")]
AFTER = [("leads", "0009_claim_scope")]


@pytest.fixture
def old_claims(make_upload, settings):
    """Claims as they were before scopes: one global claim per lead id (value)."""
    settings.ERASURE_HASH_KEY = "migration-test-key"
    acme = customer_create(slug="acme", name="Acme").customer
    other = customer_create(slug="other", name="Other").customer
    batches = {
        customer.slug: services.batch_create(
            files=[make_upload([JOHN], header=HEADER)], queue=False, customer=customer
        )
        for customer in (acme, other)
    }
    apps = migrate(BEFORE)
    owner = apps.get_model("leads", "LeadOwner")
    contact = apps.get_model("leads", "LeadContactClaim")
    owner.objects.create(lead_id="ann.lee.01011980", owner_id=1, batch_id=batches["acme"].pk)
    owner.objects.create(lead_id="bob.ray.02021982", owner_id=2, batch_id=batches["other"].pk)
    owner.objects.create(lead_id=lead_key_hash("gone.person.01011970"))  # erased or purged
    owner.objects.create(lead_id="orphan.claim.03031983", owner_id=None, batch_id=None)
    # An orphan whose tombstone exists already becomes that one tombstone.
    owner.objects.create(lead_id="twice.over.04041984", batch_id=987654)
    owner.objects.create(lead_id=lead_key_hash("twice.over.04041984"))
    for value, batch_id in (("ann@example.com", batches["acme"].pk), ("o@example.com", None)):
        contact.objects.create(scope="global", kind="email", value=value, batch_id=batch_id)
    contact.objects.create(scope="global", kind="phone", value=lead_key_hash("+447911123456"))
    yield acme, other
    migrate(AFTER)


def owners() -> set[tuple[str, str]]:
    return set(LeadOwner.objects.values_list("lead_id", "scope"))


@pytest.mark.django_db(transaction=True)
def test_live_claims_go_to_their_customer_and_the_rest_hold_in_every_scope(old_claims):
    acme, other = old_claims

    migrate(AFTER)

    assert owners() == {
        ("ann.lee.01011980", customer_scope(acme.pk)),
        ("bob.ray.02021982", customer_scope(other.pk)),
        (lead_key_hash("gone.person.01011970"), EVERY_SCOPE),
        (lead_key_hash("orphan.claim.03031983"), EVERY_SCOPE),
        (lead_key_hash("twice.over.04041984"), EVERY_SCOPE),
    }
    assert not LeadOwner.objects.filter(scope=EVERY_SCOPE, owner__isnull=False).exists()
    assert set(LeadContactClaim.objects.values_list("kind", "value", "scope")) == {
        ("email", "ann@example.com", customer_scope(acme.pk)),
        ("email", lead_key_hash("o@example.com"), EVERY_SCOPE),
        ("phone", lead_key_hash("+447911123456"), EVERY_SCOPE),
    }


@pytest.mark.django_db(transaction=True)
def test_with_a_global_scope_live_claims_stay_global(old_claims, settings):
    settings.DEDUPE_SCOPE = "global"

    migrate(AFTER)

    assert owners() == {
        ("ann.lee.01011980", GLOBAL_SCOPE),
        ("bob.ray.02021982", GLOBAL_SCOPE),
        (lead_key_hash("gone.person.01011970"), EVERY_SCOPE),
        ("orphan.claim.03031983", GLOBAL_SCOPE),
        ("twice.over.04041984", GLOBAL_SCOPE),
        (lead_key_hash("twice.over.04041984"), EVERY_SCOPE),
    }


@pytest.mark.django_db(transaction=True)
def test_going_back_keeps_the_first_claim_of_each_lead_id(old_claims):
    _, other = old_claims
    migrate(AFTER)
    LeadOwner.objects.create(lead_id="ann.lee.01011980", scope=customer_scope(other.pk))

    apps = migrate(BEFORE)

    old = apps.get_model("leads", "LeadOwner")
    assert list(old.objects.filter(lead_id="ann.lee.01011980").values_list("owner_id")) == [(1,)]
