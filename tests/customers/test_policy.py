"""Each customer's policy (delay, minimum age, consent, de-duplication) over the settings."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from batches.models import BatchJob
from customers.selectors import customer_policy
from customers.services import customer_create
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

# Surnames differ per customer: lead ids are still claimed across every customer's batches.
CSV = (
    "first_name,last_name,dob,email,consent date\n"
    "John,Smith{n},15/03/1990,john{n}@acme.example,2026-01-01T10:00:00Z\n"
    "Jane,Doe{n},22/08/1985,john{n}@acme.example,2026-01-01T10:00:00Z\n"
    "Young,Person{n},01/01/2000,young{n}@acme.example,\n"
)


def import_for(tmp_path, slug: str) -> BatchJob:
    leads = tmp_path / f"{slug}.csv"
    leads.write_text(CSV.format(n="a" if slug == "strict" else "b"))
    call_command("import_batch", str(leads), "--inline", "--customer", slug)
    return BatchJob.objects.get(customer__slug=slug)


def statuses(batch: BatchJob) -> dict[str, tuple[str, list[str]]]:
    return {lead.first_name: (lead.status, lead.errors) for lead in batch.leads.all()}


def test_an_empty_policy_field_is_the_setting(settings):
    settings.WEBHOOK_DELAY_SECONDS, settings.MIN_AGE = 600, 21
    acme = customer_create(slug="acme", name="Acme").customer
    acme.min_age = 30
    acme.save()

    policy = customer_policy(acme.pk)

    assert (policy.webhook_delay_seconds, policy.min_age) == (600, 30)
    assert customer_policy(None).min_age == 21


def test_each_batch_follows_its_customers_policy(settings, tmp_path):
    settings.WEBHOOK_DELAY_SECONDS, settings.MIN_AGE = 86400, 18
    settings.DEDUPE_ON_EMAIL = settings.CONSENT_REQUIRED = False
    strict = customer_create(slug="strict", name="Strict").customer
    strict.webhook_delay_seconds, strict.min_age = 60, 30
    strict.dedupe_on_email = strict.consent_required = True
    strict.save()
    customer_create(slug="lenient", name="Lenient")

    lenient = statuses(import_for(tmp_path, "lenient"))
    strict_batch = import_for(tmp_path, "strict")

    assert {name: status for name, (status, _) in lenient.items()} == dict.fromkeys(
        ("John", "Jane", "Young"), "valid"
    )
    found = statuses(strict_batch)
    assert found["John"] == ("valid", [])
    assert found["Jane"][0] == "duplicate"  # the same e-mail, with dedupe_on_email
    assert found["Young"][0] == "invalid"
    assert {"under_min_age", "consent_missing"} <= set(found["Young"][1])
    delays = {
        d.batch.customer.slug: d.due_at - d.created_at
        for d in Delivery.objects.select_related("batch__customer")
    }
    assert delays["strict"] == timedelta(seconds=60)
    assert delays["lenient"] == timedelta(seconds=86400)


SUPPLIER_CSV = (
    "first_name,last_name,dob,Campaign,Agent,Notes\n{name},Smith,15/03/1990,spring,ann,\n"
)


@pytest.mark.parametrize(
    ("send_extra", "sent"),
    [
        ("all", {"Campaign": "spring", "Agent": "ann"}),
        ("none", None),
        ("campaign\n  Notes \n", {"Campaign": "spring"}),
        ("Unknown", None),
    ],
)
def test_send_extra_decides_which_supplier_columns_reach_the_payload(tmp_path, send_extra, sent):
    acme = customer_create(slug="acme", name="Acme").customer
    acme.send_extra = send_extra
    acme.save()
    leads = tmp_path / "leads.csv"
    leads.write_text(SUPPLIER_CSV.format(name="John"))

    call_command("import_batch", str(leads), "--inline", "--customer", "acme")

    delivery = Delivery.objects.get(batch__customer=acme)
    assert delivery.payload["extra"] == sent
    # The lead keeps every column: the results CSV and API still show them.
    assert delivery.lead.extra == {"Campaign": "spring", "Agent": "ann"}


def test_send_extra_defaults_to_all_and_empty_means_all():
    acme = customer_create(slug="acme", name="Acme").customer

    assert acme.send_extra == "all" and customer_policy(acme.pk).send_extra is None
    assert customer_policy(None).send_extra is None
    acme.send_extra = " \n "
    acme.save()
    assert customer_policy(acme.pk).send_extra is None
    acme.send_extra = "NONE"
    acme.save()
    assert customer_policy(acme.pk).send_extra == frozenset()
