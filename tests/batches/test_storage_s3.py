"""Uploads on S3: stored in the bucket, streamed back for the split, exported, purged.

These run against a real S3-compatible server (moto in server mode, started here), configured
exactly as valify/settings.py configures a deployment with AWS_STORAGE_BUCKET_NAME set.
"""

import csv
import io
import tracemalloc
from datetime import timedelta

import pytest
from django.core.management import call_command

from batches import services
from batches.models import BatchFile, BatchStatus
from batches.reading import iter_rows
from batches.services.inline import batch_process_inline
from batches.services.retention import batches_purge_expired
from batches.services.split import file_summary
from tests.conftest import csv_bytes, upload
from tests.envsettings import settings_from_env
from tests.s3server import MotoServer

pytestmark = [pytest.mark.s3, pytest.mark.django_db]

ROWS = [
    ["John", "Smith", "15/03/1990"],
    ["Jane", "Doe", "22/08/1985"],
    ["john", "SMITH", "15/3/1990"],
    ["Peter", "Parker", "31/02/1991"],
]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        pytest.skip(
            f"S3 storage tests need a moto server (moto[server]), which did not start: {exc}"
        )
    yield server
    server.stop()


@pytest.fixture
def s3(settings, s3_server) -> MotoServer:
    """Point default storage at the bucket with the settings a deployment would get."""
    deployed = settings_from_env(**s3_server.settings_env())
    for name in dir(deployed):
        if name.startswith("AWS_"):
            setattr(settings, name, getattr(deployed, name))
    # Changing STORAGES makes Django build the default storage again, with the values above.
    settings.STORAGES = {**settings.STORAGES, "default": deployed.STORAGES["default"]}
    return s3_server


def test_upload_is_stored_in_the_bucket(s3):
    content = csv_bytes(ROWS)

    batch = services.batch_create(files=[upload("leads.csv", content)], queue=False)

    stored = BatchFile.objects.get(batch=batch)
    assert stored.file.name in s3.keys("uploads/")
    body = s3.client().get_object(Bucket=s3.bucket, Key=stored.file.name)["Body"].read()
    assert body == content


def test_batch_stored_in_the_bucket_is_processed_and_exported(s3, tmp_path):
    batch = services.batch_create(files=[upload("leads.csv", csv_bytes(ROWS))], queue=False)

    batch = batch_process_inline(batch=batch)
    call_command("export_results", batch.batch_id, "-o", str(tmp_path / "out.csv"))

    assert batch.status == BatchStatus.COMPLETED
    assert (batch.valid_count, batch.invalid_count, batch.duplicate_count) == (2, 1, 1)
    exported = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text("utf-8-sig"))))
    assert [row["id"] for row in exported][:2] == ["john.smith.15031990", "jane.doe.22081985"]
    assert [row["validation_status"] for row in exported] == [
        "valid",
        "valid",
        "duplicate",
        "invalid",
    ]


def test_large_upload_is_read_back_without_holding_it_in_memory(s3):
    notes = "x" * 1000
    rows = [[f"Ann{i}", "Lee", "01/01/1990", notes] for i in range(10_000)]
    content = csv_bytes(rows, header=("first_name", "last_name", "dob", "notes"))
    assert len(content) > 10_000_000, "past boto3's 8 MB multipart threshold"
    batch = services.batch_create(files=[upload("big.csv", content)], queue=False)
    stored = BatchFile.objects.get(batch=batch)
    summary = file_summary(stored)
    del content, rows

    # The same calls the split makes: open through the storage, stream the rows.
    tracemalloc.start()
    try:
        with stored.file.open("rb") as handle:
            count = sum(1 for _ in iter_rows(handle, name=stored.name, summary=summary))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert count == 10_000
    assert peak < 3_000_000, f"peak {peak:,} bytes while reading a 10 MB upload"


def test_purge_deletes_the_upload_from_the_bucket(s3):
    batch = services.batch_create(files=[upload("leads.csv", csv_bytes(ROWS))], queue=False)
    batch = batch_process_inline(batch=batch)
    key = BatchFile.objects.get(batch=batch).file.name

    batches_purge_expired(days=1, now=batch.created_at + timedelta(days=2))

    assert key not in s3.keys("uploads/")
    assert BatchFile.objects.get(batch=batch).purged_at is not None
