"""The pipeline's services end to end in one process: upload, split, chunks, finalize."""

import itertools

import pytest
from django.core.files.storage import default_storage

from batches import services
from batches.models import BatchFile, BatchJob, BatchStatus
from batches.services.inline import batch_process_inline
from leads.models import LeadOwner, LeadStatus, LeadValidation
from webhooks.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.django_db

ROWS = [
    ["John", "Smith", "15/03/1990"],
    ["Jane", "Doe", "22/08/1985"],
    ["José", "Núñez", "1990-03-15"],
    ["Peter", "Parker", "31/02/1991"],
    ["john", "SMITH", "15/3/1990"],
    ["", "Nobody", "01/01/1980"],
]


def process(make_upload, rows, header_override=None, **options):
    upload = make_upload(rows, header=header_override) if header_override else make_upload(rows)
    batch = services.batch_create(files=[upload], queue=False, **options)
    return batch_process_inline(batch=batch)


def test_upload_creates_pending_batch_with_stored_file(
    make_upload, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        batch = services.batch_create(files=[make_upload(ROWS)])
    assert batch.status == BatchStatus.PENDING
    assert batch.total_leads == len(ROWS)
    assert batch.batch_id.startswith("batch_") and len(batch.batch_id) == 18
    stored = BatchFile.objects.get(batch=batch)
    assert stored.name == "leads.csv"
    assert default_storage.exists(stored.file.name)
    assert len(callbacks) == 1, "processing is queued once, on commit"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "file_empty"),
        (b"first_name,last_name,dob\n", "no_data_rows"),
        (b"first_name,surname_x,birth\nJohn,Smith,15/03/1990\n", "missing_columns"),
        (b"\x00\x01\x02\xff\xfe\x00garbage" * 50, "not_text"),
    ],
)
def test_bad_file_is_refused_and_nothing_is_created(content, code, tmp_path):
    from tests.conftest import upload

    with pytest.raises(services.BatchRefused) as refused:
        services.batch_create(files=[upload("bad.csv", content)])
    assert refused.value.code == code
    assert "bad.csv" in refused.value.message
    assert not BatchJob.objects.exists()
    assert not BatchFile.objects.exists()


def test_too_many_rows_across_files_is_refused(make_upload, settings):
    settings.MAX_LEADS_PER_BATCH = 5
    files = [make_upload(ROWS[:3], name="a.csv"), make_upload(ROWS[:3], name="b.csv")]
    with pytest.raises(services.BatchRefused) as refused:
        services.batch_create(files=files)
    assert refused.value.code == "too_many_rows"
    assert not BatchJob.objects.exists()


def test_file_over_size_limit_is_refused(make_upload, settings):
    settings.MAX_UPLOAD_MB = 1
    big = make_upload([["John", "Smith", "15/03/1990"]] * 60_000)
    with pytest.raises(services.BatchRefused) as refused:
        services.batch_create(files=[big])
    assert refused.value.code == "too_large"


def test_files_together_over_the_size_limit_are_refused(make_upload, settings):
    settings.MAX_UPLOAD_MB = 1
    settings.MAX_LEADS_PER_BATCH = 100_000
    half = [["John", "Smith", "15/03/1990"]] * 40_000  # under 1 MB each
    files = [make_upload(half, name="a.csv"), make_upload(half, name="b.csv")]
    assert all(f.size < 1048576 for f in files) and sum(f.size for f in files) > 1048576

    with pytest.raises(services.BatchRefused) as refused:
        services.batch_create(files=files)

    assert refused.value.code == "too_large"
    together = sum(f.size for f in files) / 1048576
    assert f"2 files of this upload are {together:.1f} MB together" in refused.value.message
    assert not BatchJob.objects.exists()
    services.batch_create(files=files[:1], queue=False)  # either alone is within the limit
    assert BatchJob.objects.count() == 1


def test_files_of_one_name_are_told_apart(make_upload):
    john = ["John", "Smith", "15/03/1990"]
    files = [
        make_upload([["Ann", "Lee", "01/01/1980"], john], name="crm/leads.csv"),
        make_upload([john], name="web/leads.csv"),
        make_upload([["Bo", "Ray", "02/02/1982"]], name="leads (2).csv"),
    ]

    batch = batch_process_inline(batch=services.batch_create(files=files, queue=False))

    assert list(batch.files.order_by("position").values_list("name", flat=True)) == [
        "leads.csv",
        "leads (2).csv",
        "leads (2) (2).csv",
    ]
    repeat = LeadValidation.objects.get(batch=batch, source_file="leads (2).csv")
    assert repeat.duplicate_of.source_file == "leads.csv" and repeat.duplicate_of.row_number == 3


def test_batch_completes_with_counts_from_the_rows(make_upload):
    batch = process(make_upload, ROWS)
    assert batch.status == BatchStatus.COMPLETED
    assert batch.completed_at is not None
    statuses = list(LeadValidation.objects.filter(batch=batch).values_list("status", flat=True))
    assert statuses == ["valid", "valid", "valid", "invalid", "duplicate", "invalid"]
    assert (batch.valid_count, batch.invalid_count, batch.duplicate_count) == (3, 2, 1)
    assert batch.processed_leads == batch.total_leads == 6
    assert batch.progress == 100


def test_in_batch_duplicate_links_to_first_occurrence(make_upload):
    batch = process(make_upload, ROWS)
    first = LeadValidation.objects.get(batch=batch, row_number=2)
    repeat = LeadValidation.objects.get(batch=batch, row_number=6)
    assert repeat.lead_id == first.lead_id == "john.smith.15031990"
    assert repeat.status == LeadStatus.DUPLICATE
    assert repeat.duplicate_of == first


def test_lead_without_an_id_is_never_a_duplicate(make_upload):
    rows = [
        ["", "Nobody", "01/01/1980"],
        ["", "Nobody", "01/01/1980"],
        ["A", "B", "99/99/1999"],
    ] * 2
    batch = process(make_upload, rows)
    statuses = set(LeadValidation.objects.filter(batch=batch).values_list("status", flat=True))
    assert statuses == {LeadStatus.INVALID}


def test_one_delivery_per_non_duplicate_lead(make_upload, settings):
    settings.WEBHOOK_DELAY_SECONDS = 3600
    batch = process(make_upload, ROWS)
    deliveries = Delivery.objects.filter(batch=batch)
    assert deliveries.count() == 5
    assert not deliveries.filter(lead__status=LeadStatus.DUPLICATE).exists()
    delivery = deliveries.get(lead__row_number=2)
    assert delivery.status == DeliveryStatus.SCHEDULED
    assert (delivery.due_at - delivery.lead.validated_at).total_seconds() == 3600
    payload = delivery.payload
    assert payload["id"] == "john.smith.15031990"
    assert payload["dob"] == "15/03/1990"
    assert payload["validation_status"] == "valid"
    assert payload["validation_errors"] == []
    assert payload["batch_id"] == batch.batch_id
    assert payload["validation_timestamp"].endswith("Z")
    assert delivery.msg_id.startswith("msg_") and len(delivery.msg_id) == 36


def test_lead_seen_in_an_earlier_batch_is_a_duplicate(make_upload):
    first = process(make_upload, ROWS[:2])
    second = process(make_upload, [ROWS[0], ["New", "Person", "01/01/1970"]])
    repeat = LeadValidation.objects.get(batch=second, row_number=2)
    assert repeat.status == LeadStatus.DUPLICATE
    assert repeat.duplicate_of.batch == first
    assert not Delivery.objects.filter(lead=repeat).exists()
    assert second.duplicate_count == 1 and second.valid_count == 1


def test_revalidate_existing_validates_and_notifies_again(make_upload):
    process(make_upload, ROWS[:2])
    second = process(make_upload, [ROWS[0]], revalidate_existing=True)
    lead = LeadValidation.objects.get(batch=second)
    assert lead.status == LeadStatus.VALID
    assert Delivery.objects.filter(lead=lead).count() == 1
    assert LeadOwner.objects.get(lead_id=lead.lead_id).owner == lead


def test_chunk_run_twice_changes_nothing(make_upload):
    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    ranges = services.batch_split(batch_pk=batch.pk)
    first = services.chunk_validate(
        batch_pk=batch.pk, first_seq=ranges[0][0], last_seq=ranges[0][1]
    )
    snapshot = list(
        LeadValidation.objects.filter(batch=batch).values_list(
            "pk", "status", "errors", "validated_at"
        )
    )
    deliveries = Delivery.objects.count()
    again = services.chunk_validate(
        batch_pk=batch.pk, first_seq=ranges[0][0], last_seq=ranges[0][1]
    )
    assert first["processed"] == 6 and again["processed"] == 0
    assert (
        list(
            LeadValidation.objects.filter(batch=batch).values_list(
                "pk", "status", "errors", "validated_at"
            )
        )
        == snapshot
    )
    assert Delivery.objects.count() == deliveries
    batch.refresh_from_db()
    assert batch.processed_leads == 6


def test_split_run_twice_writes_rows_once(make_upload):
    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    assert services.batch_split(batch_pk=batch.pk) == [(1, 6)]
    assert services.batch_split(batch_pk=batch.pk) == []
    assert LeadValidation.objects.filter(batch=batch).count() == 6


def test_chunks_cover_rows_in_chunk_size_ranges(make_upload, settings):
    settings.CHUNK_SIZE = 4
    batch = services.batch_create(files=[make_upload(ROWS * 2)], queue=False)
    assert services.batch_split(batch_pk=batch.pk) == [(1, 4), (5, 8), (9, 12)]


def test_finalize_waits_for_pending_rows(make_upload, settings):
    settings.CHUNK_SIZE = 3
    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    services.batch_split(batch_pk=batch.pk)
    services.chunk_validate(batch_pk=batch.pk, first_seq=1, last_seq=3)
    assert services.batch_finalize(batch_pk=batch.pk) is False
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PROCESSING
    assert batch.processed_leads == 3 and batch.progress == 50
    services.chunk_validate(batch_pk=batch.pk, first_seq=4, last_seq=6)
    assert services.batch_finalize(batch_pk=batch.pk) is True
    assert services.batch_finalize(batch_pk=batch.pk) is False, "finalize is idempotent"


def test_reprocess_redoes_only_unfinished_rows(make_upload, settings, monkeypatch):
    settings.CHUNK_SIZE = 2
    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    services.batch_split(batch_pk=batch.pk)
    services.chunk_validate(batch_pk=batch.pk, first_seq=1, last_seq=2)
    services.batch_fail(batch_pk=batch.pk, reason="chunk 3-4 kept failing")
    dispatched = []
    monkeypatch.setattr(
        "batches.services.lifecycle.chunks_dispatch",
        lambda *, batch_pk, ranges: dispatched.append(ranges),
    )
    ranges = services.batch_reprocess(batch=batch)
    assert ranges == [(3, 4), (5, 6)]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PROCESSING and batch.error == ""


def test_failed_chunk_task_fails_the_batch_with_reason(make_upload, settings, monkeypatch):
    from batches.tasks import validate_chunk

    settings.CHUNK_MAX_RETRIES = 0
    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    services.batch_split(batch_pk=batch.pk)

    def broken(**kwargs):
        raise ValueError("Unknown string format: John Smith")

    monkeypatch.setattr("batches.services.chunk_validate", broken)
    result = validate_chunk.apply(args=(batch.pk, 1, 6))
    assert result.failed()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    assert "Rows 1-6" in batch.error and "ValueError" in batch.error
    # The error is shown to every viewer: it never quotes the cell the exception named.
    assert "Smith" not in batch.error and "Unknown string format" not in batch.error


def test_a_database_error_fails_the_batch_without_quoting_the_row(
    make_upload, settings, monkeypatch
):
    from django.db import DataError

    from batches.tasks import validate_chunk

    settings.CHUNK_MAX_RETRIES = 0
    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    services.batch_split(batch_pk=batch.pk)

    def broken(**kwargs):
        raise DataError('value too long: COPY line 3: "John\tSmith\t15/03/1990"')

    monkeypatch.setattr("batches.services.chunk_validate", broken)
    assert validate_chunk.apply(args=(batch.pk, 1, 6)).failed()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    assert "Rows 1-6" in batch.error and "DataError" in batch.error
    assert "Smith" not in batch.error and "COPY line" not in batch.error


def test_reconcile_redrives_a_stalled_batch(make_upload, settings, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    settings.STALL_TIMEOUT_SECONDS = 60
    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    services.batch_split(batch_pk=batch.pk)
    BatchJob.objects.filter(pk=batch.pk).update(progress_at=timezone.now() - timedelta(minutes=5))
    dispatched = []
    monkeypatch.setattr(
        "batches.services.lifecycle.chunks_dispatch",
        lambda *, batch_pk, ranges: dispatched.append(ranges),
    )
    assert services.batch_reconcile()["chunks"] == 1
    assert dispatched == [[(1, 500)]]
    assert services.batch_reconcile()["chunks"] == 0, "the clock restarts after a re-drive"


def test_a_stalled_batch_says_so_on_its_page_and_its_re_drive_in_its_history(
    admin_client, make_upload, settings, monkeypatch
):
    from datetime import timedelta

    from django.contrib.admin.models import LogEntry
    from django.utils import timezone

    settings.STALL_TIMEOUT_SECONDS = 120
    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    services.batch_split(batch_pk=batch.pk)
    page = f"/admin/batches/batchjob/{batch.pk}/change/"
    assert 'id="batch-stalled"' not in admin_client.get(page).content.decode()  # it just moved

    BatchJob.objects.filter(pk=batch.pk).update(progress_at=timezone.now() - timedelta(seconds=45))
    shown = admin_client.get(page).content.decode()
    assert 'id="batch-stalled"' in shown and "picked up again by itself at" in shown

    BatchJob.objects.filter(pk=batch.pk).update(progress_at=timezone.now() - timedelta(minutes=5))
    monkeypatch.setattr("batches.services.lifecycle.chunks_dispatch", lambda **kwargs: None)
    services.batch_reconcile()

    [entry] = LogEntry.objects.filter(object_id=str(batch.pk))
    assert entry.change_message.startswith("No progress for 120 s")
    assert "1 unfinished chunk queued again." in entry.change_message


def test_reconcile_finalizes_a_batch_whose_callback_was_lost(make_upload, settings):
    from datetime import timedelta

    from django.utils import timezone

    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    services.batch_split(batch_pk=batch.pk)
    services.chunk_validate(batch_pk=batch.pk, first_seq=1, last_seq=500)
    BatchJob.objects.filter(pk=batch.pk).update(progress_at=timezone.now() - timedelta(minutes=5))
    assert services.batch_reconcile()["finalized"] == 1
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED


def test_cancel_fails_pending_rows_and_cancels_deliveries(make_upload, settings):
    settings.CHUNK_SIZE = 3
    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    services.batch_split(batch_pk=batch.pk)
    services.chunk_validate(batch_pk=batch.pk, first_seq=1, last_seq=3)
    assert services.batch_cancel(batch=batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELLED
    assert LeadValidation.objects.filter(batch=batch, status=LeadStatus.FAILED).count() == 3
    assert batch.failed_count == 3
    assert set(Delivery.objects.filter(batch=batch).values_list("status", flat=True)) == {
        DeliveryStatus.CANCELLED
    }
    assert not LeadValidation.objects.filter(batch=batch, status=LeadStatus.PENDING).exists()


def test_cancel_also_cancels_deliveries_a_sender_has_claimed(make_upload, settings):
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    settings.CHUNK_SIZE = 3
    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    services.batch_split(batch_pk=batch.pk)
    services.chunk_validate(batch_pk=batch.pk, first_seq=1, last_seq=3)
    claimed = Delivery.objects.filter(batch=batch).order_by("pk")[:2]
    Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
        status=DeliveryStatus.SENDING,
        lease_token=uuid.uuid4(),
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )

    assert services.batch_cancel(batch=batch)

    deliveries = Delivery.objects.filter(batch=batch)
    assert set(deliveries.values_list("status", flat=True)) == {DeliveryStatus.CANCELLED}
    assert not deliveries.filter(lease_expires_at__isnull=False).exists(), "no lease is live"


def test_force_complete_marks_unfinished_rows_failed(make_upload, settings):
    settings.CHUNK_SIZE = 3
    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    services.batch_split(batch_pk=batch.pk)
    services.chunk_validate(batch_pk=batch.pk, first_seq=1, last_seq=3)
    assert services.batch_force_complete(batch=batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED
    assert batch.failed_count == 3 and batch.processed_leads == 6
    failed = LeadValidation.objects.filter(batch=batch, status=LeadStatus.FAILED).first()
    assert "force-completed" in failed.failure_reason


def test_several_files_make_one_batch_in_upload_order(make_upload):
    files = [make_upload(ROWS[:2], name="a.csv"), make_upload(ROWS[:3], name="b.csv")]
    batch = services.batch_create(files=files, queue=False)
    batch = batch_process_inline(batch=batch)
    rows = list(
        LeadValidation.objects.filter(batch=batch).values_list(
            "source_file", "row_number", "status"
        )
    )
    assert rows == [
        ("a.csv", 2, "valid"),
        ("a.csv", 3, "valid"),
        ("b.csv", 2, "duplicate"),
        ("b.csv", 3, "duplicate"),
        ("b.csv", 4, "valid"),
    ]


def reject_test_domains(lead, ctx) -> list[str]:
    """A deployment's own rule, named in settings.LEAD_VALIDATORS."""
    return ["email_test_domain"] if lead.email.endswith("@competitor.co.uk") else []


def test_validators_named_in_settings_are_applied(make_upload, settings):
    settings.LEAD_VALIDATORS = [
        *settings.LEAD_VALIDATORS,
        "tests.batches.test_pipeline.reject_test_domains",
    ]
    rows = [
        ["John", "Smith", "15/03/1990", "j@competitor.co.uk"],
        ["Jane", "Doe", "22/08/1985", ""],
    ]
    batch = process(make_upload, rows, header_override=("first_name", "last_name", "dob", "email"))
    john, jane = LeadValidation.objects.filter(batch=batch).order_by("seq")
    assert (john.status, john.errors) == (LeadStatus.INVALID, ["email_test_domain"])
    assert jane.status == LeadStatus.VALID
    payload = Delivery.objects.get(lead=john).payload
    assert payload["validation_errors"] == ["email_test_domain"]
    assert "email_test_domain" in payload["validation_messages"][0]


def test_big_batches_take_bigger_chunks(settings):
    from batches.selectors import CHUNK_MAX_ROWS, chunk_ranges, chunk_size_for

    settings.CHUNK_SIZE = 500
    assert chunk_size_for(total=6) == 500
    assert chunk_size_for(total=10_000) == 500
    assert chunk_size_for(total=100_000) == 4167
    assert chunk_size_for(total=1_000_000) == CHUNK_MAX_ROWS
    ranges = chunk_ranges(total=100_000)
    assert len(ranges) == 24 and ranges[0] == (1, 4167) and ranges[-1][1] == 100_000
    assert all(b + 1 == c for (_, b), (c, _) in itertools.pairwise(ranges))


def test_a_chunk_that_finds_its_batch_cancelled_at_the_end_keeps_nothing(
    make_upload, settings, monkeypatch
):
    from batches.services import chunks

    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    services.batch_split(batch_pk=batch.pk)
    real_schedule = chunks.deliveries_schedule

    def schedule_then_cancelled(**kwargs):
        scheduled = real_schedule(**kwargs)
        # An operator's cancel commits while this chunk is still writing.
        BatchJob.objects.filter(pk=batch.pk).update(status=BatchStatus.CANCELLED)
        return scheduled

    monkeypatch.setattr(chunks, "deliveries_schedule", schedule_then_cancelled)

    assert services.chunk_validate(batch_pk=batch.pk, first_seq=1, last_seq=500) == {"processed": 0}
    assert not Delivery.objects.filter(batch=batch).exists(), "no delivery outlives the cancel"
    assert LeadValidation.objects.filter(batch=batch, status=LeadStatus.PENDING).count() == 6
