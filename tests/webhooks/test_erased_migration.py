"""Upgrading to deliveries marked erased (webhooks 0007): those blanked before are found."""

import pytest

from leads.models import LeadValidation
from tests.migrating import back_to_the_latest, migrate  # noqa: F401 (fixture)
from tests.webhooks.factories import make_batch
from webhooks.models import Delivery

BEFORE = [("webhooks", "0006_delivery_indexes")]
AFTER = [("webhooks", "0007_delivery_erased_at")]


@pytest.mark.django_db(transaction=True)
def test_deliveries_of_erased_and_purged_leads_are_marked_and_the_others_are_not():
    batch = make_batch()
    kept, erased = (
        LeadValidation.objects.create(
            batch=batch,
            seq=seq,
            source_file="crm.csv",
            row_number=seq + 1,
            lead_id=lead_id,
            first_name=first,
            last_name="Lee",
            dob_raw="01/01/1980",
            raw={"first_name": first},
        )
        for seq, lead_id, first in ((1, "ann.lee.01011980", "Ann"), (2, "bo.lee.01011980", "Bo"))
    )
    LeadValidation.objects.filter(pk=erased.pk).update(
        lead_id="", first_name="", last_name="", dob_raw="", raw={}
    )
    old = migrate(BEFORE).get_model("webhooks", "Delivery")
    made = {}
    for n, lead in enumerate((kept, erased, None)):  # None: its lead purged, the link emptied
        made[n] = old.objects.create(
            batch_id=batch.pk,
            lead_id=lead.pk if lead else None,
            msg_id=f"msg_{n:032x}",
            status="delivered",
            due_at=batch.created_at,
            next_attempt_at=batch.created_at,
            payload={"first_name": lead.first_name if lead else None},
        ).pk

    migrate(AFTER)

    marked = dict(Delivery.objects.values_list("pk", "erased_at"))
    assert marked[made[0]] is None
    assert marked[made[1]] is not None and marked[made[2]] is not None
