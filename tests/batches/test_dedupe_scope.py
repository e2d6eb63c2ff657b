"""Duplicates across batches are per customer (DEDUPE_SCOPE=customer), or global (exclusive)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from batches import services
from batches.models import BatchJob
from batches.services.inline import batch_process_inline
from customers.services import customer_create
from leads.hashing import lead_key_hash
from leads.models import LeadContactClaim, LeadOwner, LeadStatus, LeadValidation
from leads.scopes import EVERY_SCOPE, GLOBAL_SCOPE, customer_scope
from tests.users import staff
from webhooks.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.django_db

HEADER = ("first_name", "last_name", "dob", "email", "phone")
JOHN = ["John", "Smith", "15/03/1990", "john@example.com", "07911 123456"]
JOHN_ID = "john.smith.15031990"


@pytest.fixture
def acme():
    return customer_create(
        slug="acme", name="Acme", endpoint_urls=["https://hooks.example.com/acme"]
    ).customer


@pytest.fixture
def other():
    return customer_create(
        slug="other", name="Other", endpoint_urls=["https://hooks.example.com/other"]
    ).customer


def process(make_upload, customer, rows, **options) -> BatchJob:
    upload = make_upload(rows, header=HEADER)
    batch = services.batch_create(files=[upload], queue=False, customer=customer, **options)
    return batch_process_inline(batch=batch)


def only_lead(batch: BatchJob) -> LeadValidation:
    return LeadValidation.objects.get(batch=batch)


def deliveries(lead: LeadValidation) -> list[str]:
    return list(Delivery.objects.filter(lead=lead).values_list("customer_endpoint__url", flat=True))


def test_one_person_goes_once_to_each_customer(make_upload, acme, other):
    first = only_lead(process(make_upload, acme, [JOHN]))
    second = only_lead(process(make_upload, other, [JOHN]))

    assert (first.status, second.status) == (LeadStatus.VALID, LeadStatus.VALID)
    assert deliveries(first) == ["https://hooks.example.com/acme"]
    assert deliveries(second) == ["https://hooks.example.com/other"]
    assert set(LeadOwner.objects.values_list("lead_id", "scope", "owner_id")) == {
        (JOHN_ID, customer_scope(acme.pk), first.pk),
        (JOHN_ID, customer_scope(other.pk), second.pk),
    }


def test_one_person_twice_for_one_customer_is_a_duplicate_of_the_first(make_upload, acme, other):
    first = only_lead(process(make_upload, acme, [JOHN]))
    process(make_upload, other, [JOHN])
    again = only_lead(process(make_upload, acme, [JOHN]))

    assert (again.status, again.duplicate_of) == (LeadStatus.DUPLICATE, first)
    assert deliveries(again) == []


def test_an_email_duplicate_keeps_its_lead_ids_repeats_linked_to_it(make_upload, acme, settings):
    settings.DEDUPE_ON_EMAIL = True
    first = only_lead(process(make_upload, acme, [JOHN]))
    johnny = ["Johnny", "Smith", "15/03/1990", "john@example.com", ""]
    later = process(make_upload, acme, [johnny, johnny])

    head, repeat = LeadValidation.objects.filter(batch=later).order_by("seq")
    assert (head.status, head.duplicate_of_id) == (LeadStatus.DUPLICATE, first.pk)
    # The lead id's holder is the row above (the e-mail's is another person's lead).
    assert (repeat.status, repeat.duplicate_of_id) == (LeadStatus.DUPLICATE, head.pk)


def test_with_a_global_scope_one_person_goes_to_one_customer_only(
    make_upload, acme, other, settings
):
    settings.DEDUPE_SCOPE = "global"
    first = only_lead(process(make_upload, acme, [JOHN]))
    second = only_lead(process(make_upload, other, [JOHN]))

    assert (second.status, second.duplicate_of) == (LeadStatus.DUPLICATE, first)
    assert deliveries(second) == []
    assert list(LeadOwner.objects.values_list("scope", flat=True)) == [GLOBAL_SCOPE]


@pytest.mark.parametrize("kind", ["email", "phone"])
def test_emails_and_phones_are_claimed_per_customer(make_upload, acme, other, settings, kind):
    setattr(settings, f"DEDUPE_ON_{kind.upper()}", True)
    # Different people (lead ids) sharing one e-mail and phone.
    ann = ["Ann", "Lee", "01/01/1980", "shared@example.com", "07911 123456"]
    bob = ["Bob", "Ray", "02/02/1982", "shared@example.com", "07911 123456"]
    first = only_lead(process(make_upload, acme, [ann]))
    theirs = only_lead(process(make_upload, other, [bob]))
    again = only_lead(process(make_upload, acme, [bob]))

    assert (first.status, theirs.status) == (LeadStatus.VALID, LeadStatus.VALID)
    assert (again.status, again.duplicate_of) == (LeadStatus.DUPLICATE, first)
    assert set(LeadContactClaim.objects.values_list("scope", "owner_id")) == {
        (customer_scope(acme.pk), first.pk),
        (customer_scope(other.pk), theirs.pk),
    }


def test_with_a_global_scope_an_email_held_by_another_customer_makes_a_duplicate(
    make_upload, acme, other, settings
):
    settings.DEDUPE_SCOPE = "global"
    settings.DEDUPE_ON_EMAIL = True
    first = only_lead(process(make_upload, acme, [JOHN]))
    second = only_lead(
        process(make_upload, other, [["Ann", "Lee", "01/01/1980", "john@example.com", ""]])
    )

    assert (second.status, second.duplicate_of) == (LeadStatus.DUPLICATE, first)


@pytest.mark.parametrize("revalidate", [False, True])
def test_an_erased_person_is_a_duplicate_for_every_customer(
    make_upload, acme, other, settings, revalidate
):
    settings.DEDUPE_ON_EMAIL = settings.DEDUPE_ON_PHONE = True
    process(make_upload, acme, [JOHN])
    process(make_upload, other, [JOHN])
    dpo = User.objects.create_user("dpo", is_staff=True)

    report = services.person_erase(user=dpo, lead_id=JOHN_ID)

    assert (report.tombstones, report.contact_tombstones) == (2, 4)
    assert set(LeadOwner.objects.values_list("lead_id", "scope")) == {
        (lead_key_hash(JOHN_ID), EVERY_SCOPE)
    }
    assert set(LeadContactClaim.objects.values_list("scope", flat=True)) == {EVERY_SCOPE}
    third = customer_create(slug="third", name="Third").customer
    for customer in (acme, other, third):
        later = only_lead(process(make_upload, customer, [JOHN], revalidate_existing=revalidate))
        assert later.status == LeadStatus.DUPLICATE, customer.slug
        assert deliveries(later) == []
    # Another person with the erased one's e-mail is a duplicate too: the person asked.
    ann = ["Ann", "Lee", "01/01/1980", "john@example.com", ""]
    assert only_lead(process(make_upload, third, [ann])).status == LeadStatus.DUPLICATE


def test_erasing_a_purged_person_makes_their_purge_tombstones_hold_everywhere(
    make_upload, acme, other
):
    batch = process(make_upload, acme, [JOHN])
    BatchJob.objects.filter(pk=batch.pk).update(created_at=timezone.now() - timedelta(days=40))
    services.batches_purge_expired(days=30)
    dpo = User.objects.create_user("dpo", is_staff=True)

    dry = services.person_erase(user=dpo, lead_id=JOHN_ID, dry_run=True)
    report = services.person_erase(user=dpo, lead_id=JOHN_ID)

    assert (dry.tombstones, report.tombstones) == (1, 1)
    assert list(LeadOwner.objects.values_list("scope", flat=True)) == [EVERY_SCOPE]
    assert only_lead(process(make_upload, other, [JOHN])).status == LeadStatus.DUPLICATE


def test_a_purge_keeps_a_customers_duplicates_without_taking_the_person_from_others(
    make_upload, acme, other
):
    batch = process(make_upload, acme, [JOHN])
    BatchJob.objects.filter(pk=batch.pk).update(created_at=timezone.now() - timedelta(days=40))

    report = services.batches_purge_expired(days=30)

    assert report.tombstones == 1
    assert list(LeadOwner.objects.values_list("lead_id", "scope")) == [
        (lead_key_hash(JOHN_ID), customer_scope(acme.pk))
    ]
    assert only_lead(process(make_upload, acme, [JOHN])).status == LeadStatus.DUPLICATE
    assert only_lead(process(make_upload, other, [JOHN])).status == LeadStatus.VALID


def test_a_customer_member_erases_only_their_customers_copy_of_a_person(
    client, make_upload, acme, other, settings
):
    settings.DEDUPE_ON_EMAIL = True
    theirs = only_lead(process(make_upload, acme, [JOHN]))
    kept = only_lead(process(make_upload, other, [JOHN]))
    member = staff("acme-dpo", "Customer operators")
    member.user_permissions.add(Permission.objects.get(codename="erase_lead"))
    acme.members.add(member)
    client.force_login(member)

    client.post(
        "/admin/leads/leadvalidation/",
        {"action": "erase_person", "_selected_action": [theirs.pk], "post": "yes"},
    )

    theirs.refresh_from_db()
    assert theirs.last_name == ""
    # The other customer's copy, its delivery and its claims are untouched.
    kept_delivery = Delivery.objects.get(lead=kept)
    assert kept_delivery.status == DeliveryStatus.SCHEDULED
    assert kept_delivery.erased_at is None
    assert kept_delivery.lead_key == JOHN_ID
    assert kept_delivery.payload["last_name"] == "Smith"
    assert LeadOwner.objects.get(scope=customer_scope(other.pk)).lead_id == JOHN_ID
    assert LeadContactClaim.objects.get(scope=customer_scope(other.pk)).owner == kept
    # Their own claims are tombstones in their own scope only.
    assert set(LeadOwner.objects.values_list("lead_id", "scope")) == {
        (lead_key_hash(JOHN_ID), customer_scope(acme.pk)),
        (JOHN_ID, customer_scope(other.pk)),
    }
    third = customer_create(slug="third", name="Third").customer
    assert only_lead(process(make_upload, third, [JOHN])).status == LeadStatus.VALID
    assert only_lead(process(make_upload, acme, [JOHN])).status == LeadStatus.DUPLICATE


def test_someone_who_sees_every_customer_erases_everywhere_from_the_admin(
    client, make_upload, acme, other
):
    process(make_upload, acme, [JOHN])
    kept = only_lead(process(make_upload, other, [JOHN]))
    client.force_login(staff("boss", "Administrators"))

    client.post(
        "/admin/leads/leadvalidation/",
        {"action": "erase_person", "_selected_action": [kept.pk], "post": "yes"},
    )

    assert LeadValidation.objects.filter(last_name="Smith").count() == 0
    assert set(LeadOwner.objects.values_list("lead_id", "scope")) == {
        (lead_key_hash(JOHN_ID), EVERY_SCOPE)
    }
