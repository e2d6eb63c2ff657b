"""A chunk's cross-batch duplicates by e-mail and phone (DEDUPE_ON_EMAIL / DEDUPE_ON_PHONE)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from batches import services
from batches.models import BatchJob
from batches.services.inline import batch_process_inline
from leads.models import LeadContactClaim, LeadOwner, LeadStatus, LeadValidation
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

HEADER = ("first_name", "last_name", "dob", "email", "phone")


def process(make_upload, rows, **options) -> BatchJob:
    upload = make_upload(rows, header=HEADER)
    return batch_process_inline(batch=services.batch_create(files=[upload], queue=False, **options))


def lead(batch: BatchJob, row_number: int) -> LeadValidation:
    return LeadValidation.objects.get(batch=batch, row_number=row_number)


def test_an_email_held_by_a_valid_lead_of_an_earlier_batch_makes_a_duplicate(make_upload, settings):
    settings.DEDUPE_ON_EMAIL = True
    first = process(make_upload, [["John", "Smith", "15/03/1990", "john@example.com", ""]])
    second = process(
        make_upload,
        [
            ["Johnny", "Smith", "16/03/1990", "John@Example.COM", ""],
            ["Jane", "Doe", "22/08/1985", "jane@example.com", ""],
        ],
    )

    repeat = lead(second, 2)
    assert (repeat.status, repeat.duplicate_of) == (LeadStatus.DUPLICATE, lead(first, 2))
    assert not Delivery.objects.filter(lead=repeat).exists()
    assert (second.valid_count, second.duplicate_count) == (1, 1)


def test_with_dedupe_on_email_off_a_shared_email_is_no_duplicate(make_upload, settings):
    settings.DEDUPE_ON_EMAIL = False
    process(make_upload, [["John", "Smith", "15/03/1990", "john@example.com", ""]])
    second = process(make_upload, [["Johnny", "Smith", "16/03/1990", "john@example.com", ""]])

    assert lead(second, 2).status == LeadStatus.VALID


def test_a_phone_held_in_another_spelling_makes_a_duplicate(make_upload, settings):
    settings.DEDUPE_ON_PHONE = True
    first = process(make_upload, [["John", "Smith", "15/03/1990", "", "07911 123456"]])
    second = process(make_upload, [["Ann", "Lee", "01/01/1980", "", "+44 (0)7911-123456"]])

    repeat = lead(second, 2)
    assert (repeat.status, repeat.duplicate_of) == (LeadStatus.DUPLICATE, lead(first, 2))
    assert not Delivery.objects.filter(lead=repeat).exists()


def test_a_lead_id_duplicate_links_to_the_lead_id_holder_before_the_emails(make_upload, settings):
    settings.DEDUPE_ON_EMAIL = True
    first = process(
        make_upload,
        [
            ["John", "Smith", "15/03/1990", "john@example.com", ""],
            ["Jane", "Doe", "22/08/1985", "jane@example.com", ""],
        ],
    )
    second = process(make_upload, [["John", "Smith", "15/03/1990", "jane@example.com", ""]])

    assert lead(second, 2).duplicate_of == lead(first, 2)


def test_an_invalid_lead_never_holds_an_email(make_upload, settings):
    settings.DEDUPE_ON_EMAIL = True
    first = process(make_upload, [["Young", "Person", "01/01/2020", "kid@example.com", ""]])
    second = process(make_upload, [["Grown", "Person", "01/01/1990", "kid@example.com", ""]])

    assert lead(first, 2).status == LeadStatus.INVALID
    grown = lead(second, 2)
    assert grown.status == LeadStatus.VALID
    assert LeadContactClaim.objects.get(value="kid@example.com").owner == grown


def test_a_lead_lost_to_an_email_holder_keeps_no_lead_id_claim(make_upload, settings):
    settings.DEDUPE_ON_EMAIL = settings.DEDUPE_ON_PHONE = True
    process(make_upload, [["John", "Smith", "15/03/1990", "john@example.com", ""]])
    second = process(
        make_upload, [["Ann", "Lee", "01/01/1980", "john@example.com", "07911 123456"]]
    )
    third = process(make_upload, [["Ann", "Lee", "01/01/1980", "ann@example.com", "07911 123456"]])

    assert lead(second, 2).status == LeadStatus.DUPLICATE
    ann = lead(third, 2)
    assert ann.status == LeadStatus.VALID  # neither Ann's lead id nor her phone was taken
    assert LeadOwner.objects.get(lead_id="ann.lee.01011980").owner == ann
    assert set(LeadContactClaim.objects.filter(owner=ann).values_list("kind", flat=True)) == {
        "email",
        "phone",
    }


def test_revalidate_existing_skips_the_email_and_phone_checks(make_upload, settings):
    settings.DEDUPE_ON_EMAIL = settings.DEDUPE_ON_PHONE = True
    process(make_upload, [["John", "Smith", "15/03/1990", "john@example.com", "07911 123456"]])
    second = process(
        make_upload,
        [["Johnny", "Smith", "16/03/1990", "john@example.com", "07911 123456"]],
        revalidate_existing=True,
    )

    johnny = lead(second, 2)
    assert johnny.status == LeadStatus.VALID
    assert Delivery.objects.filter(lead=johnny).count() == 1
    assert set(LeadContactClaim.objects.values_list("owner_id", flat=True)) == {johnny.pk}


def test_with_both_flags_off_a_chunk_never_touches_contact_claims(make_upload, settings):
    settings.DEDUPE_ON_EMAIL = settings.DEDUPE_ON_PHONE = False
    rows = [["John", "Smith", "15/03/1990", "john@example.com", "07911 123456"]]
    batch = services.batch_create(files=[make_upload(rows, header=HEADER)], queue=False)
    ((first_seq, last_seq),) = services.batch_split(batch_pk=batch.pk)

    with CaptureQueriesContext(connection) as captured:
        services.chunk_validate(batch_pk=batch.pk, first_seq=first_seq, last_seq=last_seq)

    table = LeadContactClaim._meta.db_table
    assert captured.captured_queries, "the chunk ran"
    assert not [q["sql"] for q in captured.captured_queries if table in q["sql"]]
    assert not LeadContactClaim.objects.exists()


def test_chunk_with_contact_claims_run_twice_changes_nothing(make_upload, settings):
    settings.DEDUPE_ON_EMAIL = settings.DEDUPE_ON_PHONE = True
    process(make_upload, [["John", "Smith", "15/03/1990", "john@example.com", ""]])
    rows = [
        ["Johnny", "Smith", "16/03/1990", "john@example.com", ""],
        ["Jane", "Doe", "22/08/1985", "jane@example.com", "07911 123456"],
    ]
    batch = services.batch_create(files=[make_upload(rows, header=HEADER)], queue=False)
    ((first_seq, last_seq),) = services.batch_split(batch_pk=batch.pk)

    def state():
        return (
            list(
                LeadValidation.objects.order_by("pk").values_list(
                    "pk", "status", "duplicate_of", "validated_at"
                )
            ),
            list(LeadContactClaim.objects.order_by("pk").values_list("kind", "value", "owner")),
            list(LeadOwner.objects.order_by("pk").values_list("lead_id", "owner")),
            Delivery.objects.count(),
        )

    services.chunk_validate(batch_pk=batch.pk, first_seq=first_seq, last_seq=last_seq)
    before = state()
    again = services.chunk_validate(batch_pk=batch.pk, first_seq=first_seq, last_seq=last_seq)

    assert again["processed"] == 0
    assert state() == before
    assert [status for _, status, *_ in before[0]] == ["valid", "duplicate", "valid"]


def test_a_duplicate_across_batches_stores_its_contact_fields_cleaned_like_one_in_its_batch(
    make_upload,
):
    process(make_upload, [["John", "Smith", "15/03/1990", "john@example.com", "07911 123456"]])
    second = process(
        make_upload,
        [
            # Row 2 repeats the earlier batch's lead; row 3 repeats row 2 within this batch.
            ["John", "Smith", "15/03/1990", " John@Example.COM ", "+44 (0)7911-123456"],
            ["John", "Smith", "15/03/1990", "", "07911 123 456"],
        ],
    )

    across, within = lead(second, 2), lead(second, 3)
    assert across.status == within.status == LeadStatus.DUPLICATE
    assert (across.email, across.phone) == ("john@example.com", "+447911123456")
    assert within.phone == "+447911123456"


def test_an_email_is_normalised_when_valid_and_kept_as_given_when_not(make_upload):
    batch = process(
        make_upload,
        [
            ["Ann", "Lee", "01/01/1980", "Ann.Lee@Example.COM", ""],
            ["Dee", "Three", "02/02/1981", "Dee3 at Example.com", ""],
            ["Ann", "Lee", "01/01/1980", "ANN.LEE@EXAMPLE.COM", ""],  # in-batch duplicates,
            ["Dee", "Three", "02/02/1981", "DEE3 at example.com", ""],  # not validated
        ],
    )

    valid, invalid, dup_valid, dup_invalid = (lead(batch, n) for n in (2, 3, 4, 5))
    assert (valid.email, valid.status) == ("ann.lee@example.com", LeadStatus.VALID)
    assert (invalid.email, invalid.errors) == ("Dee3 at Example.com", ["email_invalid"])
    assert dup_valid.email == "ann.lee@example.com"
    assert dup_invalid.email == "DEE3 at example.com"
