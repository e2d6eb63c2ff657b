"""Cross-batch claims per scope: tombstones of erased or purged people are lost claims, in bulk."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.hashing import lead_key_hash
from leads.models import LeadOwner
from leads.services import EVERY_SCOPE, lead_owners_tombstone, leads_claim
from tests.webhooks.factories import make_batch

pytestmark = pytest.mark.django_db

SCOPE = "customer:1"


def tombstone(lead_id: str) -> None:
    LeadOwner.objects.create(lead_id=lead_key_hash(lead_id), scope=EVERY_SCOPE)


def test_a_tombstoned_lead_id_is_lost_to_no_owner():
    tombstone("john.smith.15031990")
    batch = make_batch()

    lost = leads_claim(
        batch_pk=batch.pk,
        candidates={"john.smith.15031990": 7, "jane.doe.22081985": 8},
        take_over=False,
        scope=SCOPE,
    )

    assert lost == {"john.smith.15031990": None}
    assert not LeadOwner.objects.filter(lead_id="john.smith.15031990").exists()
    assert LeadOwner.objects.get(lead_id="jane.doe.22081985").owner_id == 8


def test_a_tombstoned_lead_id_is_lost_even_when_taking_over():
    tombstone("john.smith.15031990")
    LeadOwner.objects.create(lead_id="jane.doe.22081985", scope=SCOPE, owner_id=3)
    batch = make_batch()

    lost = leads_claim(
        batch_pk=batch.pk,
        candidates={"john.smith.15031990": 7, "jane.doe.22081985": 8},
        take_over=True,
        scope=SCOPE,
    )

    assert lost == {"john.smith.15031990": None}
    assert LeadOwner.objects.get(lead_id="jane.doe.22081985").owner_id == 8
    assert not LeadOwner.objects.filter(lead_id="john.smith.15031990").exists()


def test_taking_over_never_takes_a_lead_id_from_another_row_of_the_same_batch():
    earlier, batch = make_batch(), make_batch()
    LeadOwner.objects.create(
        lead_id="jane.doe.22081985", scope=SCOPE, owner_id=3, batch_id=earlier.pk
    )

    def claim(pk: int) -> dict:
        return leads_claim(
            batch_pk=batch.pk, candidates={"jane.doe.22081985": pk}, take_over=True, scope=SCOPE
        )

    assert claim(7) == {}  # taken over from the earlier batch
    assert claim(8) == {"jane.doe.22081985": 7}  # another chunk's row of the same batch
    assert LeadOwner.objects.get(lead_id="jane.doe.22081985").owner_id == 7


def test_claims_cost_the_same_queries_for_ten_rows_as_for_a_thousand():
    tombstone("p0.x.01011990")
    batch = make_batch()

    def queries(n: int) -> int:
        candidates = {f"p{i}.y{n}.01011990": 10_000 * n + i for i in range(n)}
        with CaptureQueriesContext(connection) as captured:
            leads_claim(batch_pk=batch.pk, candidates=candidates, take_over=False, scope=SCOPE)
        return len(captured)

    assert queries(10) == queries(1000)


def test_tombstoning_replaces_lead_ids_by_their_hash_and_empties_the_owner():
    LeadOwner.objects.create(lead_id="john.smith.15031990", scope=SCOPE, owner_id=3)
    LeadOwner.objects.create(lead_id="jane.doe.22081985", scope=SCOPE, owner_id=4)

    done = lead_owners_tombstone(owners=LeadOwner.objects.filter(owner_id=3))

    assert done == 1
    assert LeadOwner.objects.get(lead_id=lead_key_hash("john.smith.15031990")).owner_id is None
    assert LeadOwner.objects.get(lead_id="jane.doe.22081985").owner_id == 4


def test_tombstoning_an_id_whose_tombstone_exists_keeps_one_row():
    LeadOwner.objects.create(lead_id=lead_key_hash("john.smith.15031990"), scope=SCOPE)
    LeadOwner.objects.create(lead_id="john.smith.15031990", scope=SCOPE, owner_id=3)

    lead_owners_tombstone(owners=LeadOwner.objects.filter(owner_id=3))

    assert list(LeadOwner.objects.values_list("lead_id", "scope", "owner_id")) == [
        (lead_key_hash("john.smith.15031990"), SCOPE, None)
    ]


# --- scopes (DEDUPE_SCOPE) ----------------------------------------------------------------------

OTHER = "customer:2"
JOHN = "john.smith.15031990"


def owners() -> set[tuple[str, str, int | None]]:
    return set(LeadOwner.objects.values_list("lead_id", "scope", "owner_id"))


def test_one_lead_id_is_claimed_once_in_each_scope():
    batch = make_batch()

    first = leads_claim(batch_pk=batch.pk, candidates={JOHN: 1}, take_over=False, scope=SCOPE)
    other = leads_claim(batch_pk=batch.pk, candidates={JOHN: 2}, take_over=False, scope=OTHER)
    again = leads_claim(batch_pk=batch.pk, candidates={JOHN: 3}, take_over=False, scope=SCOPE)

    assert (first, other, again) == ({}, {}, {JOHN: 1})
    assert owners() == {(JOHN, SCOPE, 1), (JOHN, OTHER, 2)}


def test_taking_over_moves_only_the_claim_of_its_own_scope():
    LeadOwner.objects.create(lead_id=JOHN, scope=SCOPE, owner_id=1)
    LeadOwner.objects.create(lead_id=JOHN, scope=OTHER, owner_id=2)

    lost = leads_claim(batch_pk=make_batch().pk, candidates={JOHN: 3}, take_over=True, scope=SCOPE)

    assert lost == {}
    assert owners() == {(JOHN, SCOPE, 3), (JOHN, OTHER, 2)}


def test_a_purge_tombstone_counts_in_its_own_scope_and_an_erasure_one_in_every_scope():
    jane = "jane.doe.22081985"
    LeadOwner.objects.create(lead_id=lead_key_hash(JOHN), scope=OTHER)  # purged there
    LeadOwner.objects.create(lead_id=lead_key_hash(jane), scope=EVERY_SCOPE)  # erased
    batch = make_batch()

    here = leads_claim(
        batch_pk=batch.pk, candidates={JOHN: 1, jane: 2}, take_over=False, scope=SCOPE
    )
    there = leads_claim(batch_pk=batch.pk, candidates={JOHN: 3}, take_over=True, scope=OTHER)

    assert (here, there) == ({jane: None}, {JOHN: None})
    assert (JOHN, SCOPE, 1) in owners()
    assert not LeadOwner.objects.filter(lead_id=jane).exists()


def test_a_purge_tombstones_each_claim_in_its_own_scope():
    LeadOwner.objects.create(lead_id=lead_key_hash(JOHN), scope=OTHER)
    LeadOwner.objects.create(lead_id=JOHN, scope=SCOPE, owner_id=3)

    assert lead_owners_tombstone(owners=LeadOwner.objects.filter(owner_id=3)) == 1
    assert owners() == {(lead_key_hash(JOHN), OTHER, None), (lead_key_hash(JOHN), SCOPE, None)}


def test_an_erasure_leaves_one_tombstone_in_every_scope_for_all_the_claims_of_an_id():
    LeadOwner.objects.create(lead_id=JOHN, scope=SCOPE, owner_id=3)
    LeadOwner.objects.create(lead_id=JOHN, scope=OTHER, owner_id=4)
    LeadOwner.objects.create(lead_id=lead_key_hash(JOHN), scope="customer:9")  # purged there
    LeadOwner.objects.create(lead_id="jane.doe.22081985", scope=SCOPE, owner_id=5)

    done = lead_owners_tombstone(owners=LeadOwner.objects.exclude(owner_id=5), every_scope=True)

    assert done == 3
    assert owners() == {
        (lead_key_hash(JOHN), EVERY_SCOPE, None),
        ("jane.doe.22081985", SCOPE, 5),
    }
    # Already in every scope: nothing left to do.
    tombstones = LeadOwner.objects.filter(lead_id=lead_key_hash(JOHN))
    assert lead_owners_tombstone(owners=tombstones, every_scope=True) == 0
