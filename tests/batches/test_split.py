"""The split cleans each row and resolves in-batch duplicates: smart merge, email key."""

import datetime

import pytest

from batches import services
from batches.models import BatchJob
from batches.reading import RawRow
from batches.services.dedupe import InBatchDuplicates
from batches.services.inline import batch_process_inline
from leads.models import LeadStatus, LeadValidation
from tests.batches.test_messy_files import workbook
from tests.conftest import upload
from webhooks.models import Delivery

HEADER = "First Name,Surname,DOB,Email,Mobile,Company,Website"


def process(*files: tuple[str, str | bytes]) -> BatchJob:
    uploads = [
        upload(name, data.encode("utf-8") if isinstance(data, str) else data)
        for name, data in files
    ]
    return batch_process_inline(batch=services.batch_create(files=uploads, queue=False))


def lead(batch: BatchJob, row_number: int, source_file: str = "a.csv") -> LeadValidation:
    return LeadValidation.objects.get(batch=batch, source_file=source_file, row_number=row_number)


def csv_of(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


# --- clean data --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rows_are_cleaned_on_the_way_in():
    batch = process(
        (
            "a.csv",
            csv_of(
                "  MARY-JANE  ,O'BRIEN,15/03/1990, Mary.OBrien@Example.COM ,07911 123456,"
                "  Acme   Widgets  Ltd ,HTTPS://www.Acme.co.uk/about/",
                "DeShawn,van der BERG,01/02/1980,,,,n/a",
            ),
        )
    )

    mary = lead(batch, 2)
    assert (mary.first_name, mary.last_name) == ("Mary-Jane", "O'Brien")
    assert mary.email == "mary.obrien@example.com"
    assert mary.phone == "+447911123456"
    assert mary.company == "Acme Widgets Ltd"
    assert mary.raw["website"] == "acme.co.uk"
    assert mary.raw["first_name"] == "MARY-JANE"  # the raw row keeps the file's spelling
    assert mary.status == LeadStatus.VALID
    deshawn = lead(batch, 3)
    assert (deshawn.first_name, deshawn.last_name) == ("DeShawn", "van der BERG")
    assert deshawn.raw["website"] == "n/a"


@pytest.mark.django_db
def test_name_casing_changes_the_display_not_the_lead_id():
    batch = process(("a.csv", csv_of("JOHN,SMITH,15/03/1990,,,,", "john,smith,15/03/1990,,,,")))

    first, repeat = lead(batch, 2), lead(batch, 3)
    assert first.lead_id == repeat.lead_id == "john.smith.15031990"
    assert (repeat.first_name, repeat.last_name, repeat.status) == ("John", "Smith", "duplicate")


@pytest.mark.django_db
def test_date_cells_in_name_or_contact_columns_do_not_break_the_split():
    book = workbook(
        {
            "S": [
                ["first_name", "last_name", "dob", "company"],
                [
                    "Ann",
                    datetime.date(2020, 1, 1),
                    datetime.date(1990, 1, 2),
                    datetime.date(2021, 5, 6),
                ],
            ]
        }
    )
    batch = process(("odd.xlsx", book))

    odd = lead(batch, 2, "odd.xlsx")
    assert (odd.last_name, odd.company) == ("2020-01-01", "2021-05-06")
    assert odd.lead_id == "ann.2020-01-01.02011990"


# --- smart merge -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_duplicates_fill_the_first_occurrences_empty_fields_and_say_from_where():
    batch = process(
        ("a.csv", csv_of("John,Smith,15/03/1990,,,,", "Jane,Doe,22/08/1985,jane@example.com,,,")),
        (
            "b.csv",
            csv_of(
                "john,smith,15/3/1990,John@Example.com,,Acme Ltd,",
                "JOHN,SMITH,1990-03-15,other@example.com,07911 123456,Other Ltd,www.acme.io",
            ),
        ),
    )

    john = lead(batch, 2)
    assert john.status == LeadStatus.VALID
    assert (john.email, john.phone, john.company) == (
        "john@example.com",
        "+447911123456",
        "Acme Ltd",
    )
    assert john.raw["website"] == "acme.io"
    assert john.raw["merged_from"] == {
        "email": "b.csv:2",
        "company": "b.csv:2",
        "phone": "b.csv:3",
        "website": "b.csv:3",
    }
    assert john.raw["email"] == ""  # the file's own value stays in the raw row
    for row_number in (2, 3):
        repeat = lead(batch, row_number, "b.csv")
        assert (repeat.status, repeat.duplicate_of_id) == (LeadStatus.DUPLICATE, john.pk)
        assert "merged_from" not in repeat.raw
    assert "merged_from" not in lead(batch, 3).raw


@pytest.mark.django_db
def test_merged_first_occurrence_is_validated_with_the_merged_values(settings):
    settings.WEBHOOK_DELAY_SECONDS = 60
    batch = process(
        ("a.csv", csv_of("John,Smith,15/03/1990,,,,", "John,Smith,15/03/1990,,07911 123456,,"))
    )

    john = lead(batch, 2)
    assert (john.status, john.phone) == (LeadStatus.VALID, "+447911123456")
    assert john.validated_at is not None
    assert batch.valid_count == 1 and batch.duplicate_count == 1


@pytest.mark.django_db
def test_invalid_values_never_fill_a_first_occurrence():
    batch = process(
        (
            "a.csv",
            csv_of(
                "John,Smith,15/03/1990,,,,",
                "John,Smith,15/03/1990,not-an-email,12,,nonsense",
            ),
        )
    )

    john = lead(batch, 2)
    assert (john.status, john.email, john.phone) == (LeadStatus.VALID, "", "")
    assert john.raw["website"] == ""
    assert "merged_from" not in john.raw


@pytest.mark.django_db
def test_a_first_occurrences_own_values_are_kept():
    batch = process(
        (
            "a.csv",
            csv_of(
                "John,Smith,15/03/1990,john@example.com,,Acme,",
                "John,Smith,15/03/1990,other@example.com,,Other,",
            ),
        )
    )

    john = lead(batch, 2)
    assert (john.email, john.company) == ("john@example.com", "Acme")
    assert "merged_from" not in john.raw


@pytest.mark.django_db
def test_merge_names_the_worksheet_of_a_workbook_row():
    book = workbook(
        {
            "Leads": [
                ["first_name", "last_name", "dob", "email"],
                ["John", "Smith", datetime.date(1990, 3, 15), None],
                ["John", "Smith", "15/03/1990", "john@example.com"],
            ]
        }
    )
    batch = process(("book.xlsx", book))

    assert lead(batch, 2, "book.xlsx").raw["merged_from"] == {"email": "book.xlsx:Leads:3"}


@pytest.mark.django_db
def test_duplicate_rows_carry_their_phone_in_e164():
    batch = process(
        (
            "a.csv",
            csv_of(
                "John,Smith,15/03/1990,,07911 123456,,", "John,Smith,15/03/1990,,07911 123457,,"
            ),
        )
    )

    assert lead(batch, 3).phone == "+447911123457"


# --- the email as a second key ----------------------------------------------------------------


SHARED_EMAIL = csv_of(
    "John,Smith,15/03/1990,sales@acme.io,,,",
    "Jane,Doe,22/08/1985,SALES@acme.io,07911 123456,,",
    "Jane,Doe,22/08/1985,,,Acme,",
    "Bob,Ray,01/01/1980,no email given,,,",
    "Ann,Lee,02/02/1982,no email given,,,",
    ",Nobody,03/03/1983,sales@acme.io,,,",
)


@pytest.mark.django_db
def test_same_email_is_no_duplicate_by_default():
    batch = process(("a.csv", SHARED_EMAIL))

    assert lead(batch, 3).status == LeadStatus.VALID
    assert lead(batch, 4).duplicate_of == lead(batch, 3)


@pytest.mark.django_db
def test_dedupe_on_email_links_every_repeat_to_the_first_occurrence(settings):
    settings.DEDUPE_ON_EMAIL = True
    batch = process(("a.csv", SHARED_EMAIL))

    john = lead(batch, 2)
    assert [(lead(batch, n).status, lead(batch, n).duplicate_of_id) for n in (3, 4)] == [
        (LeadStatus.DUPLICATE, john.pk),
        (LeadStatus.DUPLICATE, john.pk),  # Jane again: a repeat of a repeat links to John
    ]
    for n in (5, 6):  # an invalid email is no key: both are validated
        assert (lead(batch, n).status, lead(batch, n).errors) == ("invalid", ["email_invalid"])
    nobody = lead(batch, 7)
    assert (nobody.status, nobody.duplicate_of_id) == (LeadStatus.INVALID, None)
    assert (john.phone, john.company) == ("+447911123456", "Acme")
    assert john.raw["merged_from"] == {"phone": "a.csv:3", "company": "a.csv:4"}
    assert (batch.valid_count, batch.duplicate_count, batch.invalid_count) == (1, 2, 3)


# An invalid row first: the under-age Kim, then Max with an e-mail that is no address.
NOT_HOLDERS = csv_of(
    "Kim,Young,01/01/2015,kim@acme-test.com,07911 123470,,",
    "Kim,Adult,01/01/1985,kim@acme-test.com,07911 123471,,",
    "Max,Ay,01/01/1985,max-bad@,07911 123474,,",
    "Max,Bee,01/01/1986,max@acme-test.com,+447911123474,,",
    "Max,Bee,01/01/1986,,,,",
)


def _not_holders_checked(batch):
    adult = lead(batch, 3)
    assert [lead(batch, n).status for n in (2, 4)] == [LeadStatus.INVALID] * 2
    assert (adult.status, adult.duplicate_of_id) == (LeadStatus.VALID, None)
    # Max Bee twice: one of the two is the lead (the first to claim it), the other its repeat.
    bee, again = sorted((lead(batch, 5), lead(batch, 6)), key=lambda row: row.status != "valid")
    assert (bee.status, bee.duplicate_of_id) == (LeadStatus.VALID, None)
    assert (again.status, again.duplicate_of_id) == (LeadStatus.DUPLICATE, bee.pk)
    delivered = set(Delivery.objects.filter(lead__batch=batch).values_list("lead_id", flat=True))
    assert delivered == {lead(batch, n).pk for n in (2, 3, 4, 5, 6)} - {again.pk}
    # They hold their e-mails and phones now: the same people in a later batch are duplicates.
    later = process(("b.csv", csv_of("Kimberly,Adult,02/01/1985,KIM@acme-test.com,,,")))
    assert lead(later, 2, "b.csv").duplicate_of_id == adult.pk


@pytest.mark.django_db
def test_an_invalid_row_never_holds_an_email_or_phone_in_its_batch(settings):
    settings.DEDUPE_ON_EMAIL = settings.DEDUPE_ON_PHONE = True

    batch = process(("a.csv", NOT_HOLDERS))

    _not_holders_checked(batch)
    assert lead(batch, 6).duplicate_of == lead(batch, 5)  # in one chunk, the first is the lead


@pytest.mark.django_db
@pytest.mark.parametrize("revalidate", [False, True])
def test_an_invalid_row_not_validated_yet_holds_nothing_either(settings, revalidate):
    settings.DEDUPE_ON_EMAIL = settings.DEDUPE_ON_PHONE = True
    settings.CHUNK_SIZE = 1  # every row its own chunk, run last row first
    batch = services.batch_create(
        files=[upload("a.csv", NOT_HOLDERS.encode())],
        queue=False,
        revalidate_existing=revalidate,  # takes over earlier batches' claims, not its own
    )

    for first, last in reversed(services.batch_split(batch_pk=batch.pk)):
        services.chunk_validate(batch_pk=batch.pk, first_seq=first, last_seq=last)
    services.batch_finalize(batch_pk=batch.pk)

    _not_holders_checked(batch)


@pytest.mark.django_db
def test_split_with_email_key_run_twice_writes_rows_once(settings):
    settings.DEDUPE_ON_EMAIL = True
    batch = services.batch_create(files=[upload("a.csv", SHARED_EMAIL.encode())], queue=False)

    assert services.batch_split(batch_pk=batch.pk) == [(1, 6)]
    assert services.batch_split(batch_pk=batch.pk) == []
    assert LeadValidation.objects.filter(batch=batch, duplicate_of__isnull=False).count() == 2


# --- the phone as a second key ----------------------------------------------------------------


SHARED_PHONE = csv_of(
    "John,Smith,15/03/1990,,07911 123456,,",
    "Jane,Doe,22/08/1985,jane@example.com,+44 7911 123456,,",
    "Bob,Ray,01/01/1980,,(07911) 123-456,Acme,",
    "Ann,Lee,02/02/1982,,12,,",
    "Eve,Cole,03/03/1983,,12,,",
)


@pytest.mark.django_db
def test_same_phone_is_no_duplicate_by_default():
    batch = process(("a.csv", SHARED_PHONE))

    assert [lead(batch, n).status for n in (2, 3, 4)] == [LeadStatus.VALID] * 3


@pytest.mark.django_db
def test_dedupe_on_phone_links_every_spelling_of_a_number_to_the_first_occurrence(settings):
    settings.DEDUPE_ON_PHONE = True
    batch = process(("a.csv", SHARED_PHONE))

    john = lead(batch, 2)
    assert [(lead(batch, n).status, lead(batch, n).duplicate_of_id) for n in (3, 4)] == [
        (LeadStatus.DUPLICATE, john.pk),
        (LeadStatus.DUPLICATE, john.pk),
    ]
    for n in (5, 6):  # "12" is no phone number, so no key: both are validated
        assert (lead(batch, n).status, lead(batch, n).errors) == ("invalid", ["phone_invalid"])
    assert (john.phone, john.email, john.company) == (
        "+447911123456",
        "jane@example.com",
        "Acme",
    )
    assert (batch.valid_count, batch.duplicate_count, batch.invalid_count) == (1, 2, 2)


@pytest.mark.django_db
def test_dedupe_on_phone_leaves_a_shared_email_alone(settings):
    settings.DEDUPE_ON_PHONE = True
    batch = process(("a.csv", SHARED_EMAIL))

    assert (lead(batch, 3).status, lead(batch, 3).duplicate_of_id) == (LeadStatus.VALID, None)


# --- the tracker on its own --------------------------------------------------------------------


def _row(number: int) -> RawRow:
    return RawRow("a.csv", "", number)


def test_tracker_remembers_one_int_per_distinct_lead_and_keeps_merges_apart():
    seen = InBatchDuplicates(on_email=False, phone_region="GB")

    assert not seen.see(1, "a.b.01011990", "", "", "", "", _row(2))
    assert not seen.see(2, "", "", "", "", "", _row(3))  # no lead id: never a duplicate
    assert not seen.see(3, "", "", "", "", "", _row(4))
    assert seen.see(4, "a.b.01011990", "x@example.com", "", "Acme", "", _row(5))
    assert seen.see(5, "a.b.01011990", "y@example.com", "", "Other", "acme.io", _row(6))

    assert list(seen.first) == ["a.b.01011990"]
    assert seen.first["a.b.01011990"] >> 4 == 1
    merge = seen.merges[1]
    assert merge.values == {"email": "x@example.com", "company": "Acme", "website": "acme.io"}
    assert merge.merged_from == {"email": "a.csv:5", "company": "a.csv:5", "website": "a.csv:6"}
    assert seen.links == [(4, 1), (5, 1)]


@pytest.mark.django_db
def test_a_big_batchs_first_occurrences_spill_to_disk_with_the_same_result(monkeypatch):
    from batches.services import dedupe

    rows = [
        f"P{n % 4},Q{n % 3},0{1 + n % 2}/01/1990,,,{'' if n % 5 else 'Acme'},"
        f"{'' if n % 7 else 'q.com'}"
        for n in range(60)
    ]
    rows += ["P1,Q1,02/01/1990,p1@example.com,07400 100001,,", "P2,Q2,03/01/1990,,,,w.com"]

    def split_result() -> list[tuple]:
        batch = services.batch_create(files=[upload("a.csv", csv_of(*rows).encode())], queue=False)
        services.batch_split(batch_pk=batch.pk)
        return list(
            LeadValidation.objects.filter(batch=batch)
            .order_by("seq")
            .values_list("seq", "duplicate_of__seq", "email", "phone", "company", "raw")
        )

    in_memory = split_result()
    spilled_trackers = []
    real_spilled = dedupe.SpilledFirsts

    def spill(items):
        spilled_trackers.append(real_spilled(items))
        return spilled_trackers[-1]

    monkeypatch.setattr(dedupe, "SPILL_AFTER", 3)
    monkeypatch.setattr(dedupe, "SpilledFirsts", spill)
    spilled = split_result()

    assert spilled_trackers, "the tracker moved to disk"
    assert spilled == in_memory
    assert sum(row[1] is not None for row in spilled) > 20  # plenty of duplicates and merges


def test_tracker_with_phone_key_links_a_repeat_of_a_number_spelt_otherwise():
    seen = InBatchDuplicates(on_email=False, on_phone=True, phone_region="GB")

    assert not seen.see(1, "a.b.01011990", "", "07911 123456", "", "", _row(2))
    assert not seen.see(2, "c.d.01011990", "", "07911 123457", "", "", _row(3))
    assert seen.see(3, "e.f.01011990", "", "+44 (0)7911 123456", "", "", _row(4))
    assert seen.see(4, "e.f.01011990", "", "", "", "", _row(5))  # a repeat of the repeat

    assert seen.links == [(3, 1), (4, 1)]


def test_tracker_without_contact_keys_never_normalises_a_phone(monkeypatch):
    from batches.services import dedupe

    def refuse(*args):
        raise AssertionError("normalise_phone called with DEDUPE_ON_PHONE off")

    monkeypatch.setattr(dedupe, "normalise_phone", refuse)
    seen = InBatchDuplicates(on_email=True, on_phone=False, phone_region="GB")

    assert not seen.see(1, "a.b.01011990", "a@example.com", "07911 123456", "", "", _row(2))
    assert seen.see(2, "c.d.01011990", "a@example.com", "07911 123456", "", "", _row(3))


@pytest.mark.django_db
def test_a_title_in_the_first_name_cell_is_not_part_of_the_lead():
    batch = process(("a.csv", csv_of("Mr John,Smith,15/03/1990,,,,", "JOHN,SMITH,15/03/1990,,,,")))

    john, repeat = lead(batch, 2), lead(batch, 3)
    assert (john.first_name, john.lead_id, john.raw["first_name"]) == (
        "John",
        "john.smith.15031990",
        "Mr John",
    )
    assert (repeat.status, repeat.duplicate_of_id) == (LeadStatus.DUPLICATE, john.pk)
