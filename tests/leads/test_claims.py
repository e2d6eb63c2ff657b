"""Cross-batch claims: tombstones of erased or purged people are lost claims, in bulk."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.hashing import lead_key_hash
from leads.models import LeadOwner
from leads.services import lead_owners_tombstone, leads_claim
from tests.webhooks.factories import make_batch

pytestmark = pytest.mark.django_db


def tombstone(lead_id: str) -> None:
    LeadOwner.objects.create(lead_id=lead_key_hash(lead_id))


def test_a_tombstoned_lead_id_is_lost_to_no_owner():
    tombstone("john.smith.15031990")
    batch = make_batch()

    lost = leads_claim(
        batch_pk=batch.pk,
        candidates={"john.smith.15031990": 7, "jane.doe.22081985": 8},
        take_over=False,
    )

    assert lost == {"john.smith.15031990": None}
    assert not LeadOwner.objects.filter(lead_id="john.smith.15031990").exists()
    assert LeadOwner.objects.get(lead_id="jane.doe.22081985").owner_id == 8


def test_a_tombstoned_lead_id_is_lost_even_when_taking_over():
    tombstone("john.smith.15031990")
    LeadOwner.objects.create(lead_id="jane.doe.22081985", owner_id=3)
    batch = make_batch()

    lost = leads_claim(
        batch_pk=batch.pk,
        candidates={"john.smith.15031990": 7, "jane.doe.22081985": 8},
        take_over=True,
    )

    assert lost == {"john.smith.15031990": None}
    assert LeadOwner.objects.get(lead_id="jane.doe.22081985").owner_id == 8
    assert not LeadOwner.objects.filter(lead_id="john.smith.15031990").exists()


def test_claims_cost_the_same_queries_for_ten_rows_as_for_a_thousand():
    tombstone("p0.x.01011990")
    batch = make_batch()

    def queries(n: int) -> int:
        candidates = {f"p{i}.y{n}.01011990": 10_000 * n + i for i in range(n)}
        with CaptureQueriesContext(connection) as captured:
            leads_claim(batch_pk=batch.pk, candidates=candidates, take_over=False)
        return len(captured)

    assert queries(10) == queries(1000)


def test_tombstoning_replaces_lead_ids_by_their_hash_and_empties_the_owner():
    LeadOwner.objects.create(lead_id="john.smith.15031990", owner_id=3)
    LeadOwner.objects.create(lead_id="jane.doe.22081985", owner_id=4)

    done = lead_owners_tombstone(owners=LeadOwner.objects.filter(owner_id=3))

    assert done == 1
    assert LeadOwner.objects.get(lead_id=lead_key_hash("john.smith.15031990")).owner_id is None
    assert LeadOwner.objects.get(lead_id="jane.doe.22081985").owner_id == 4


def test_tombstoning_an_id_whose_tombstone_exists_keeps_one_row():
    tombstone("john.smith.15031990")
    LeadOwner.objects.create(lead_id="john.smith.15031990", owner_id=3)

    lead_owners_tombstone(owners=LeadOwner.objects.filter(owner_id=3))

    assert list(LeadOwner.objects.values_list("lead_id", "owner_id")) == [
        (lead_key_hash("john.smith.15031990"), None)
    ]
