"""Retention: expired batches lose files and lead rows, keep counts, deliveries, tombstones."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from batches import services
from batches.models import BatchFile, BatchJob, BatchStatus
from batches.services.inline import batch_process_inline
from batches.setup import periodic_tasks_ensure
from batches.tasks import purge_expired
from leads.hashing import lead_key_hash
from leads.models import LeadContactClaim, LeadOwner, LeadStatus, LeadValidation
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus
from webhooks.payloads import blank_payload

pytestmark = pytest.mark.django_db

ROWS = [
    ["John", "Smith", "15/03/1990"],
    ["Jane", "Doe", "22/08/1985"],
    ["Peter", "Parker", "31/02/1991"],
    ["john", "SMITH", "15/3/1990"],
    ["Ann", "Lee", "01/01/1990"],
]


def processed(make_upload, rows=ROWS, *, days_old: int = 0) -> BatchJob:
    batch = services.batch_create(files=[make_upload(rows)], queue=False)
    batch = batch_process_inline(batch=batch)
    if days_old:
        BatchJob.objects.filter(pk=batch.pk).update(
            created_at=timezone.now() - timedelta(days=days_old)
        )
        batch.refresh_from_db()
    return batch


def purge(**options):
    return services.batches_purge_expired(days=options.pop("days", 30), **options)


def test_purge_deletes_the_files_and_leads_of_expired_batches(make_upload):
    batch = processed(make_upload, days_old=40)
    stored = BatchFile.objects.get(batch=batch).file.name

    report = purge()

    assert not LeadValidation.objects.filter(batch=batch).exists()
    assert not default_storage.exists(stored)
    assert (report.batches, report.files, report.leads) == (1, 1, 5)


def test_purge_keeps_batch_counts_and_marks_files_purged(make_upload):
    batch = processed(make_upload, days_old=40)

    purge()

    kept = BatchJob.objects.get(pk=batch.pk)
    assert kept.status == BatchStatus.COMPLETED
    assert (kept.total_leads, kept.valid_count, kept.invalid_count, kept.duplicate_count) == (
        5,
        3,
        1,
        1,
    )
    batch_file = BatchFile.objects.get(batch=batch)
    assert batch_file.purged_at is not None
    assert (batch_file.name, batch_file.row_count, batch_file.file.name) == ("leads.csv", 5, "")


def test_purge_keeps_deliveries_with_their_payload_blanked_and_no_lead(make_upload):
    batch = processed(make_upload, days_old=40)
    payloads = dict(Delivery.objects.filter(batch=batch).values_list("pk", "payload"))
    assert len(payloads) == 4

    report = purge()

    deliveries = Delivery.objects.filter(batch=batch)
    assert dict(deliveries.values_list("pk", "payload")) == {
        pk: blank_payload(payload) for pk, payload in payloads.items()
    }
    assert not deliveries.filter(lead__isnull=False).exists()
    assert report.deliveries_unlinked == 4


def test_purge_blanks_the_person_in_payloads_lead_keys_and_excerpts(make_upload):
    batch = processed(make_upload, days_old=40)
    delivery = Delivery.objects.filter(batch=batch).order_by("pk").first()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.DELIVERED)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        endpoint="https://crm.example/hook",
        started_at=timezone.now(),
        status_code=200,
        response_excerpt='{"accepted": "John Smith"}',
    )

    report = purge()

    delivery.refresh_from_db()
    assert {key: delivery.payload[key] for key in ("id", "first_name", "last_name", "dob")} == {
        "id": None,
        "first_name": None,
        "last_name": None,
        "dob": None,
    }
    assert delivery.payload["validation_status"] == "valid"
    assert delivery.lead_key == ""
    assert delivery.status == DeliveryStatus.DELIVERED
    assert DeliveryAttempt.objects.get(delivery=delivery).response_excerpt == ""
    assert report.deliveries_blanked == 4


def test_a_purged_batchs_deliveries_are_never_re_sent_blank(make_upload):
    from webhooks.services import batch_deliveries_resend, deliveries_resend

    batch = processed(make_upload, days_old=40)
    Delivery.objects.filter(batch=batch).update(status=DeliveryStatus.DELIVERED)
    kept = processed(make_upload, [["Zed", "Young", "02/02/1992"]])
    Delivery.objects.filter(batch=kept).update(status=DeliveryStatus.DELIVERED)

    purge()

    assert not Delivery.objects.filter(batch=batch, erased_at__isnull=True).exists()
    assert batch_deliveries_resend(batch=batch, failed_only=False) == []
    resent = deliveries_resend(deliveries=Delivery.objects.all())
    assert [d.batch_id for d in resent] == [kept.pk]  # the batch kept is re-sent as before


def test_purge_cancels_deliveries_still_open_so_none_goes_out_blank(make_upload):
    batch = processed(make_upload, days_old=40)

    report = purge()

    statuses = set(Delivery.objects.filter(batch=batch).values_list("status", flat=True))
    assert statuses == {DeliveryStatus.CANCELLED}
    assert report.deliveries_cancelled == 4


def test_purge_keeps_lead_owners_as_tombstones(make_upload):
    batch = processed(make_upload, days_old=40)

    report = purge()

    owners = LeadOwner.objects.filter(batch=batch)
    assert sorted(owners.values_list("lead_id", flat=True)) == sorted(
        lead_key_hash(lead_id)
        for lead_id in ["ann.lee.01011990", "jane.doe.22081985", "john.smith.15031990"]
    )
    assert not owners.filter(owner__isnull=False).exists()
    assert report.tombstones == 3


def test_purge_leaves_no_lead_id_in_the_clear(make_upload):
    processed(make_upload, days_old=40)

    purge()

    assert all(
        lead_id.startswith("hmac:")
        for lead_id in LeadOwner.objects.values_list("lead_id", flat=True)
    )
    assert not Delivery.objects.exclude(lead_key="").exists()


def test_same_person_in_a_new_batch_is_a_duplicate_after_a_purge(make_upload):
    processed(make_upload, days_old=40)
    purge()

    later = processed(make_upload, [["John", "Smith", "15/03/1990"]])

    lead = LeadValidation.objects.get(batch=later)
    assert lead.status == LeadStatus.DUPLICATE
    assert lead.duplicate_of is None
    assert not Delivery.objects.filter(lead=lead).exists()


def test_same_person_after_a_purge_is_a_duplicate_even_when_revalidating(make_upload):
    processed(make_upload, days_old=40)
    purge()

    later = services.batch_create(
        files=[make_upload([["John", "Smith", "15/03/1990"]])],
        queue=False,
        revalidate_existing=True,
    )
    later = batch_process_inline(batch=later)

    lead = LeadValidation.objects.get(batch=later)
    assert lead.status == LeadStatus.DUPLICATE
    assert not Delivery.objects.filter(lead=lead).exists()


def test_duplicate_in_a_later_batch_loses_only_its_link_when_the_first_is_purged(make_upload):
    first = processed(make_upload, days_old=40)
    later = processed(make_upload, [["John", "Smith", "15/03/1990"]])
    repeat = LeadValidation.objects.get(batch=later)
    assert repeat.duplicate_of.batch_id == first.pk

    purge()

    repeat.refresh_from_db()
    assert repeat.status == LeadStatus.DUPLICATE
    assert repeat.duplicate_of is None


def test_purge_leaves_recent_and_unfinished_batches_alone(make_upload):
    recent = processed(make_upload, days_old=10)
    pending = services.batch_create(files=[make_upload(ROWS)], queue=False)
    BatchJob.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(days=40))

    report = purge()

    assert report.batches == 0
    assert LeadValidation.objects.filter(batch=recent).count() == 5
    assert not BatchFile.objects.filter(purged_at__isnull=False).exists()


def test_dry_run_counts_what_would_go_and_changes_nothing(make_upload):
    batch = processed(make_upload, days_old=40)

    report = purge(dry_run=True)

    assert (report.batches, report.files, report.leads) == (1, 1, 5)
    assert (report.deliveries_unlinked, report.tombstones) == (4, 3)
    assert LeadValidation.objects.filter(batch=batch).count() == 5
    assert Delivery.objects.filter(batch=batch, lead__isnull=True).count() == 0
    assert LeadOwner.objects.filter(owner__isnull=True).count() == 0
    stored = BatchFile.objects.get(batch=batch)
    assert stored.purged_at is None and default_storage.exists(stored.file.name)


def test_leads_are_deleted_in_bounded_chunks(make_upload):
    batch = processed(make_upload, days_old=40)

    with CaptureQueriesContext(connection) as queries:
        report = purge(chunk_rows=2)

    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE FROM leads_leadvalidation")]
    assert len(deletes) == 3, "5 rows, 2 a statement"
    assert report.leads == 5
    assert not LeadValidation.objects.filter(batch=batch).exists()


def test_purge_stopped_at_its_deadline_is_finished_by_the_next_run(make_upload):
    batch = processed(make_upload, days_old=40)

    stopped = purge(chunk_rows=2, max_seconds=0)
    finished = purge(chunk_rows=2)

    assert not stopped.complete
    assert finished.complete and finished.leads == 5
    assert not LeadValidation.objects.filter(batch=batch).exists()


def test_purged_batch_cannot_be_reprocessed_cancelled_or_force_completed(make_upload):
    batch = processed(make_upload, days_old=40)
    BatchJob.objects.filter(pk=batch.pk).update(status=BatchStatus.FAILED, error="boom")
    purge()
    batch.refresh_from_db()

    assert services.batch_reprocess(batch=batch) == []
    assert services.batch_cancel(batch=batch) is False
    assert services.batch_force_complete(batch=batch) is False
    kept = BatchJob.objects.get(pk=batch.pk)
    assert (kept.status, kept.total_leads, kept.valid_count) == (BatchStatus.FAILED, 5, 3)


def test_purge_task_does_nothing_while_retention_is_off(make_upload, settings):
    settings.RETENTION_DAYS = 0
    batch = processed(make_upload, days_old=4000)

    assert purge_expired() == {}
    assert LeadValidation.objects.filter(batch=batch).count() == 5


def test_purge_task_run_twice_changes_nothing(make_upload, settings):
    settings.RETENTION_DAYS = 30
    processed(make_upload, days_old=40)

    first = purge_expired()
    second = purge_expired()

    assert first["leads"] == 5 and first["batches"] == 1
    assert second["batches"] == 0 and second["leads"] == 0


def test_migrate_schedules_the_purge_hourly():
    periodic_tasks_ensure()

    task = PeriodicTask.objects.get(task="batches.purge_expired")
    assert (task.interval.every, task.interval.period) == (3600, "seconds")


# --- e-mail and phone claims (DEDUPE_ON_EMAIL / DEDUPE_ON_PHONE) -------------------------------

CONTACT_HEADER = ("first_name", "last_name", "dob", "email", "phone")
CONTACT_ROWS = [
    ["John", "Smith", "15/03/1990", "john@example.com", "07911 123456"],
    ["Jane", "Doe", "22/08/1985", "jane@example.com", ""],
]


def processed_with_contacts(make_upload, rows, *, days_old: int = 0, **options) -> BatchJob:
    upload = make_upload(rows, header=CONTACT_HEADER)
    batch = batch_process_inline(
        batch=services.batch_create(files=[upload], queue=False, **options)
    )
    BatchJob.objects.filter(pk=batch.pk).update(
        created_at=timezone.now() - timedelta(days=days_old)
    )
    return batch


def test_purge_keeps_email_and_phone_claims_as_tombstones(make_upload, settings):
    settings.DEDUPE_ON_EMAIL = settings.DEDUPE_ON_PHONE = True
    processed_with_contacts(make_upload, CONTACT_ROWS, days_old=40)

    dry = purge(dry_run=True)
    report = purge()

    assert (dry.contact_tombstones, report.contact_tombstones) == (3, 3)
    assert set(LeadContactClaim.objects.values_list("value", "owner")) == {
        (lead_key_hash("john@example.com"), None),
        (lead_key_hash("+447911123456"), None),
        (lead_key_hash("jane@example.com"), None),
    }


def test_same_email_in_a_new_batch_is_a_duplicate_after_a_purge_even_when_revalidating(
    make_upload, settings
):
    settings.DEDUPE_ON_EMAIL = True
    processed_with_contacts(make_upload, CONTACT_ROWS[:1], days_old=40)
    purge()

    later = processed_with_contacts(
        make_upload,
        [["Jon", "Smyth", "16/03/1990", "john@example.com", ""]],
        revalidate_existing=True,
    )

    lead = LeadValidation.objects.get(batch=later)
    assert (lead.status, lead.duplicate_of) == (LeadStatus.DUPLICATE, None)


def test_cached_answers_go_once_no_longer_read_whatever_the_retention(settings):
    from django.contrib.auth.models import User

    from api.models import IdempotentResponse
    from batches.tasks import purge_caches
    from leads.models import CompanyCacheEntry, MxCacheEntry
    from standardiser.models import AiCacheEntry

    settings.RETENTION_DAYS = 0
    settings.AI_CACHE_DAYS = 30
    settings.ENRICH_CACHE_HOURS = 720
    now = timezone.now()
    for name, age in (("old", timedelta(days=31)), ("new", timedelta(hours=23))):
        AiCacheEntry.objects.create(
            key=name * 16, answer={"last_name": "Smith"}, cached_at=now - age
        )
        MxCacheEntry.objects.create(
            domain=f"{name}.smith-family.uk", has_mx=True, checked_at=now - age
        )
        CompanyCacheEntry.objects.create(
            domain=f"{name}.example.com", status="not_found", fetched_at=now - age
        )
        response = IdempotentResponse.objects.create(
            user=User.objects.create_user(name), key=name, fingerprint="f", body={"x": name}
        )
        IdempotentResponse.objects.filter(pk=response.pk).update(created_at=now - age)
    # An MX answer is read for 24 h, a company's for ENRICH_CACHE_HOURS.
    MxCacheEntry.objects.create(
        domain="day.example.org", has_mx=True, checked_at=now - timedelta(hours=25)
    )

    purged = purge_caches()

    assert purged == {
        "ai_cache_entries": 1,
        "enrichment_cache_entries": 3,
        "idempotent_responses": 1,
    }
    assert list(AiCacheEntry.objects.values_list("key", flat=True)) == ["new" * 16]
    assert list(MxCacheEntry.objects.values_list("domain", flat=True)) == ["new.smith-family.uk"]
    assert list(CompanyCacheEntry.objects.values_list("domain", flat=True)) == ["new.example.com"]
    assert list(IdempotentResponse.objects.values_list("key", flat=True)) == ["new"]
    periodic_tasks_ensure()
    task = PeriodicTask.objects.get(task="batches.purge_caches")
    assert (task.interval.every, task.interval.period) == (3600, "seconds")


def test_a_purged_files_reading_notes_go_with_it(make_upload, settings):
    from batches.services.retention import batches_purge_expired

    batch = processed(make_upload, days_old=40)
    quoting = "row 1 holds 'Jo Lee 01/06/1955 jo@example.com'"
    batch_file = batch.files.get()
    mapping = [{**m, "notes": [quoting]} for m in batch_file.column_mapping]
    BatchFile.objects.filter(pk=batch_file.pk).update(column_mapping=mapping)

    batches_purge_expired(days=30)

    purged = BatchFile.objects.get(pk=batch_file.pk)
    assert purged.purged_at is not None
    assert [m["notes"] for m in purged.column_mapping] == [[]]
    assert purged.column_mapping[0]["headers"] == batch_file.column_mapping[0]["headers"]
