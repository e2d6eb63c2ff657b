"""Upgrading the raw row and supplier columns to JSON text (leads 0012) keeps their values."""

import pytest
from django.db import connection

from leads.models import LeadValidation
from tests.migrating import back_to_the_latest, migrate  # noqa: F401 (fixture)
from tests.webhooks.factories import make_batch

BEFORE = [("leads", "0011_lead_ai")]
AFTER = [("leads", "0012_raw_extra_json_text")]
RAW = {"first_name": "José", "consent_at": "2026-01-02", "Lead Source": 'Fair "A"'}
EXTRA = {"Lead Source": 'Fair "A"', "Ünit": "7"}


def column_types() -> dict[str, tuple[str, str | None]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, column_default FROM information_schema.columns "
            "WHERE table_name = 'leads_leadvalidation' AND column_name IN ('raw', 'extra')"
        )
        return {name: (kind, default) for name, kind, default in cursor.fetchall()}


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


@pytest.mark.django_db(transaction=True)
def test_both_columns_change_type_and_back_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement change is PostgreSQL's; elsewhere Django's own runs")
    migrate(BEFORE)
    assert column_types() == {"raw": ("jsonb", None), "extra": ("jsonb", "'{}'::jsonb")}

    migrate(AFTER)
    assert column_types() == {"raw": ("json", None), "extra": ("json", "'{}'::json")}
