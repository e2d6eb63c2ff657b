"""Erasing one person: nothing of them left, their lead id only as a hash, a duplicate later."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.utils import timezone

from batches import services
from batches.models import BatchFile, BatchJob, BatchStatus
from batches.services.inline import batch_process_inline
from leads.hashing import lead_key_hash
from leads.models import LeadContactClaim, LeadOwner, LeadStatus, LeadValidation
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus

pytestmark = pytest.mark.django_db

HEADER = ("first_name", "last_name", "dob", "email", "phone", "company")
JOHN = ["John", "Smithson", "15/03/1990", "john.smithson@example.com", "07700900123", "Acme Ltd"]
JANE = ["Jane", "Doe", "22/08/1985", "jane@example.com", "07700900456", "Initech"]
JOHN_ID = "john.smithson.15031990"
SECRETS = ("Smithson", "john.smithson", "07700900123", "Acme", "15031990", "1990-03-15")


def processed(make_upload, rows, **options) -> BatchJob:
    batch = services.batch_create(files=[make_upload(rows, header=HEADER)], queue=False, **options)
    return batch_process_inline(batch=batch)


@pytest.fixture
def admin_user():
    return User.objects.create_user("dpo", password="pw", is_staff=True)


def erase(user, **options):
    return services.person_erase(user=user, **options)


def database_text() -> str:
    """Every stored value a person could be found in, as one text."""
    parts = []
    for model in (LeadValidation, LeadOwner, LeadContactClaim, Delivery, DeliveryAttempt, LogEntry):
        for row in model.objects.values():
            parts.append(repr(row))
    return "\n".join(parts)


def test_no_value_of_the_erased_person_remains_anywhere(make_upload, admin_user):
    first = processed(make_upload, [JOHN, JANE])
    processed(make_upload, [JOHN])  # a duplicate in a later batch
    delivery = Delivery.objects.get(batch=first, lead__lead_id=JOHN_ID)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        endpoint="https://crm.example/hook",
        started_at=timezone.now(),
        status_code=409,
        response_excerpt="already have John Smithson",
    )
    assert "Smithson" in database_text()

    report = erase(admin_user, lead_id=JOHN_ID)

    text = database_text()
    for value in SECRETS:
        assert value.lower() not in text.lower(), value
    assert "Jane" in text and "jane@example.com" in text  # the others stay
    assert (report.leads, report.batches, report.tombstones) == (2, 2, 1)
    assert report.deliveries == 1 and report.attempts == 1


def test_an_erased_persons_deliveries_are_never_re_sent_blank(make_upload, admin_user):
    from webhooks.services import batch_deliveries_resend

    batch = processed(make_upload, [JOHN, JANE])
    Delivery.objects.filter(batch=batch).update(status=DeliveryStatus.DELIVERED)

    erase(admin_user, lead_id=JOHN_ID)

    resent = batch_deliveries_resend(batch=batch, failed_only=False)
    assert [d.payload["first_name"] for d in resent] == ["Jane"]  # not John's blank copy
    john = Delivery.objects.get(batch=batch, resend_of=None, lead__seq=1)
    assert john.erased_at is not None and john.payload["first_name"] is None


def test_a_lead_id_typed_with_capitals_finds_the_person(make_upload, admin_user):
    processed(make_upload, [JOHN, JANE])

    report = erase(admin_user, lead_id=" John.Smithson.15031990 ")

    assert report.leads == 1
    assert not LeadValidation.objects.filter(first_name="John").exists()


def test_erased_rows_keep_their_place_and_status(make_upload, admin_user):
    batch = processed(make_upload, [JOHN, JANE])
    before = LeadValidation.objects.get(batch=batch, seq=1)
    counts = BatchJob.objects.values_list("valid_count", "invalid_count").get(pk=batch.pk)

    erase(admin_user, lead_id=JOHN_ID)

    lead = LeadValidation.objects.get(batch=batch, seq=1)
    assert (lead.status, lead.errors, lead.row_number) == (
        before.status,
        before.errors,
        before.row_number,
    )
    assert (lead.lead_id, lead.email, lead.phone, lead.dob, lead.raw) == ("", "", "", None, {})
    assert BatchJob.objects.values_list("valid_count", "invalid_count").get(pk=batch.pk) == counts


def test_erased_person_uploaded_again_is_a_duplicate_even_when_revalidating(
    make_upload, admin_user
):
    processed(make_upload, [JOHN])
    erase(admin_user, lead_id=JOHN_ID)

    later = processed(make_upload, [JOHN], revalidate_existing=True)

    lead = LeadValidation.objects.get(batch=later)
    assert lead.status == LeadStatus.DUPLICATE
    assert lead.duplicate_of is None
    assert not Delivery.objects.filter(lead=lead).exists()
    assert list(LeadOwner.objects.values_list("lead_id", flat=True)) == [lead_key_hash(JOHN_ID)]


@pytest.mark.parametrize("everywhere", [True, False])
def test_an_erased_person_who_never_held_a_claim_is_a_duplicate_when_uploaded_again(
    make_upload, admin_user, settings, everywhere
):
    # Made invalid by an enrichment rule, the lead claims nothing (as a suppressed one).
    settings.ENRICH_REJECT_DISPOSABLE = True
    tim = ["Tim", "Rejected", "15/03/1990", "tim@mailinator.com", "", ""]
    first = processed(make_upload, [tim])
    assert LeadValidation.objects.get(batch=first).errors == ["email_disposable"]
    assert not LeadOwner.objects.exists()

    batches = None if everywhere else BatchJob.objects.filter(pk=first.pk)
    dry = erase(admin_user, lead_id="tim.rejected.15031990", batches=batches, dry_run=True)
    report = erase(admin_user, lead_id="tim.rejected.15031990", batches=batches)

    assert dry.tombstones == report.tombstones == 1
    settings.ENRICH_REJECT_DISPOSABLE = False
    later = processed(make_upload, [tim], revalidate_existing=True)
    lead = LeadValidation.objects.get(batch=later)
    assert (lead.status, lead.duplicate_of) == (LeadStatus.DUPLICATE, None)
    assert not Delivery.objects.filter(lead=lead).exists()


def test_erasing_by_email_finds_the_person_and_their_other_rows(make_upload, admin_user):
    processed(make_upload, [JOHN])
    processed(make_upload, [[*JOHN[:3], "", "", ""]])  # same person, no e-mail

    report = erase(admin_user, email="  John.Smithson@EXAMPLE.com ")

    assert report.leads == 2
    assert not LeadValidation.objects.filter(last_name="Smithson").exists()
    assert report.key_hash == lead_key_hash("john.smithson@example.com")


def test_open_deliveries_are_cancelled_claimed_ones_too(make_upload, admin_user):
    batch = processed(make_upload, [JOHN, JANE])
    john = Delivery.objects.get(batch=batch, lead__lead_id=JOHN_ID)
    Delivery.objects.filter(pk=john.pk).update(
        status=DeliveryStatus.SENDING,
        lease_token=uuid.uuid4(),
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )

    report = erase(admin_user, lead_id=JOHN_ID)

    john.refresh_from_db()
    assert (john.status, john.lease_expires_at) == (DeliveryStatus.CANCELLED, None)
    assert john.payload["first_name"] is None and john.lead_key == ""
    jane = Delivery.objects.get(batch=batch, lead__lead_id="jane.doe.22081985")
    assert jane.status == DeliveryStatus.SCHEDULED
    assert report.deliveries_cancelled == 1


def test_uploaded_files_are_deleted_and_the_batch_cannot_be_reprocessed(make_upload, admin_user):
    batch = processed(make_upload, [JOHN, JANE])
    stored = BatchFile.objects.get(batch=batch).file.name
    BatchJob.objects.filter(pk=batch.pk).update(status=BatchStatus.FAILED)

    report = erase(admin_user, lead_id=JOHN_ID)

    assert not default_storage.exists(stored)
    assert BatchFile.objects.get(batch=batch).purged_at is not None
    assert report.files == 1
    assert services.batch_reprocess(batch=batch) == []


def test_dry_run_counts_and_changes_nothing(make_upload, admin_user):
    batch = processed(make_upload, [JOHN, JANE])
    before = database_text()

    report = erase(admin_user, lead_id=JOHN_ID, dry_run=True)

    assert database_text() == before
    assert BatchFile.objects.get(batch=batch).purged_at is None
    assert (report.leads, report.deliveries, report.deliveries_cancelled) == (1, 1, 1)
    assert (report.files, report.tombstones) == (1, 1)
    assert not LogEntry.objects.exists()


def test_history_records_who_the_hash_and_counts_never_the_person(make_upload, admin_user):
    processed(make_upload, [JOHN])

    erase(admin_user, lead_id=JOHN_ID, via="admin action")

    entry = LogEntry.objects.get()
    assert entry.user == admin_user
    assert lead_key_hash(JOHN_ID) in entry.change_message
    assert lead_key_hash(JOHN_ID) in entry.object_repr
    assert "1 lead rows" in entry.change_message
    for value in SECRETS:
        assert value.lower() not in (entry.change_message + entry.object_repr).lower()


def test_nobody_found_still_records_the_request_and_changes_nothing(admin_user):
    report = erase(admin_user, lead_id="nobody.here.01011990")

    assert report.counts() == dict.fromkeys(report.counts(), 0)
    assert LogEntry.objects.count() == 1


def test_rows_still_being_validated_are_refused(make_upload, admin_user):
    pending = services.batch_create(files=[make_upload([JOHN], header=HEADER)], queue=False)
    services.batch_split(batch_pk=pending.pk)

    with pytest.raises(services.ErasureRefused):
        erase(admin_user, lead_id=JOHN_ID)

    assert LeadValidation.objects.filter(lead_id=JOHN_ID).exists()


def test_the_batches_scope_limits_which_rows_are_erased(make_upload, admin_user):
    seen = processed(make_upload, [JOHN])
    unseen = processed(make_upload, [JOHN])

    report = erase(admin_user, lead_id=JOHN_ID, batches=BatchJob.objects.filter(pk=seen.pk))

    assert report.leads == 1
    assert LeadValidation.objects.filter(batch=unseen, lead_id=JOHN_ID).exists()


def test_exactly_one_of_lead_id_and_email(admin_user):
    with pytest.raises(ValueError):
        erase(admin_user)
    with pytest.raises(ValueError):
        erase(admin_user, lead_id=JOHN_ID, email="john@example.com")


# --- e-mail and phone claims (DEDUPE_ON_EMAIL / DEDUPE_ON_PHONE) -------------------------------


# JOHN's and JANE's phones are in a range kept for drama: invalid, so never claimed.
VALID_JOHN = [*JOHN[:4], "07911 123456", JOHN[5]]
VALID_JANE = [*JANE[:4], "07911 123457", JANE[5]]


@pytest.fixture
def contact_dedupe(settings):
    settings.DEDUPE_ON_EMAIL = settings.DEDUPE_ON_PHONE = True


def test_erasing_by_lead_id_turns_their_email_and_phone_claims_into_tombstones(
    make_upload, admin_user, contact_dedupe
):
    processed(make_upload, [VALID_JOHN, VALID_JANE])

    report = erase(admin_user, lead_id=JOHN_ID)

    assert report.contact_tombstones == 2
    assert set(
        LeadContactClaim.objects.filter(owner__isnull=True).values_list("value", flat=True)
    ) == {
        lead_key_hash("john.smithson@example.com"),
        lead_key_hash("+447911123456"),
    }
    text = database_text()
    for value in (*SECRETS, "7911123456", "07911 123456"):
        assert value.lower() not in text.lower(), value
    assert LeadContactClaim.objects.filter(value="jane@example.com").exists()


def test_erasing_by_email_turns_the_email_claim_into_a_tombstone(
    make_upload, admin_user, contact_dedupe
):
    processed(make_upload, [VALID_JOHN])

    dry = erase(admin_user, email="John.Smithson@example.com", dry_run=True)
    report = erase(admin_user, email="John.Smithson@example.com")

    assert (dry.contact_tombstones, report.contact_tombstones) == (2, 2)
    assert LeadContactClaim.objects.get(kind="email").value == lead_key_hash(
        "john.smithson@example.com"
    )


def test_the_admins_history_of_a_deleted_claim_forgets_its_value(
    make_upload, admin_user, contact_dedupe
):
    from django.contrib.admin.models import DELETION

    from batches.services.history import history_record

    processed(make_upload, [VALID_JOHN, VALID_JANE])
    for claim in LeadContactClaim.objects.filter(kind="email"):
        # As the admin logs deleting a claim: under its name, "email <address>".
        history_record(user=admin_user, obj=claim, message="", action_flag=DELETION)

    erase(admin_user, lead_id=JOHN_ID)

    names = set(LogEntry.objects.values_list("object_repr", flat=True))
    assert "email jane@example.com" in names and "(erased)" in names
    assert "john.smithson@example.com" not in database_text()


def test_erased_email_uploaded_again_is_a_duplicate_even_when_revalidating(
    make_upload, admin_user, contact_dedupe
):
    processed(make_upload, [VALID_JOHN])
    erase(admin_user, email="john.smithson@example.com")

    # Another name and birth date: only the e-mail is the erased person's.
    later = processed(
        make_upload,
        [["Jon", "Smith", "16/03/1990", "john.smithson@example.com", "", ""]],
        revalidate_existing=True,
    )

    lead = LeadValidation.objects.get(batch=later)
    assert (lead.status, lead.duplicate_of) == (LeadStatus.DUPLICATE, None)
    assert not Delivery.objects.filter(lead=lead).exists()


def test_a_person_found_by_email_is_read_through_the_email_index(make_upload):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.selectors import leads_of_person

    if connection.vendor != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    batch = processed(make_upload, [JOHN, JANE])
    # The table as it grows: other people's rows, some with no e-mail at all.
    LeadValidation.objects.bulk_create(
        LeadValidation(
            batch=batch,
            seq=10 + n,
            row_number=10 + n,
            lead_id=f"p.q{n}.01011980",
            email=f"person{n}@example.com" if n % 3 else "",
        )
        for n in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_leadvalidation")

    with CaptureQueriesContext(connection) as captured:
        rows = leads_of_person(email=" John.Smithson@EXAMPLE.com ", batch_pks=[batch.pk])
        found = sorted(rows.values_list("lead_id", flat=True))

    assert found == [JOHN_ID]
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute("EXPLAIN " + query["sql"])
            plans.append("\n".join(line for (line,) in cursor.fetchall()))
    assert any("lead_email_idx" in plan for plan in plans), plans
    assert not any("Seq Scan on leads_leadvalidation" in plan for plan in plans), plans
