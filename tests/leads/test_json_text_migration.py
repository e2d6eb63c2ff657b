"""Upgrading the raw row and supplier columns to JSON text (leads 0012) keeps their values."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from leads.models import LeadValidation
from tests.webhooks.factories import make_batch

BEFORE = [("leads", "0011_lead_ai")]
AFTER = [("leads", "0012_raw_extra_json_text")]
RAW = {"first_name": "José", "consent_at": "2026-01-02", "Lead Source": 'Fair "A"'}
EXTRA = {"Lead Source": 'Fair "A"', "Ünit": "7"}


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_read_the_same_after():
    batch = make_batch()
    old = migrate(BEFORE).get_model("leads", "LeadValidation")
    lead = old.objects.create(batch_id=batch.pk, seq=1, row_number=2, raw=RAW, extra=EXTRA)
    bare = old.objects.create(
        batch_id=batch.pk, seq=2, row_number=3
    )  # the database's default extra

    migrate(AFTER)

    assert LeadValidation.objects.values("raw", "extra").get(pk=lead.pk) == {
        "raw": RAW,
        "extra": EXTRA,
    }
    assert LeadValidation.objects.get(pk=bare.pk).extra == {}
