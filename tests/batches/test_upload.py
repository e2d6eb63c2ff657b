"""Hostile uploads are refused by batch_create before anything is stored or created."""

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from batches import services
from batches.models import BatchFile, BatchJob
from tests.conftest import upload

pytestmark = pytest.mark.django_db


def workbook(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rewrite_members(data: bytes, old: bytes, new: bytes) -> bytes:
    """Replace bytes inside every member of a zip (openpyxl will not write a huge cell)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            target.writestr(member, source.read(member).replace(old, new), zipfile.ZIP_DEFLATED)
    return out.getvalue()


def refusal(name: str, content: bytes, settings) -> services.BatchRefused:
    with pytest.raises(services.BatchRefused) as refused:
        services.batch_create(files=[upload(name, content)])
    assert not BatchJob.objects.exists()
    assert not BatchFile.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*")), "nothing stored"
    assert name in refused.value.message
    return refused.value


def test_decompression_bomb_workbook_is_refused_as_too_large(settings):
    settings.MAX_UPLOAD_MB = 1
    data = workbook([["first_name", "last_name", "dob"], ["Ann", "BOMB", "01/01/1990"]])
    bomb = rewrite_members(data, b"BOMB", b"B" * 11_000_000)  # 11 MB of cell, deflated
    assert len(bomb) < 100_000

    refused = refusal("bomb.xlsx", bomb, settings)

    assert refused.code == "too_large"


def test_workbook_cell_over_excel_limit_is_refused_naming_row_and_column(settings):
    data = workbook([["first_name", "last_name", "dob"], ["Ann", "LONGCELL", "01/01/1990"]])

    refused = refusal("cells.xlsx", rewrite_members(data, b"LONGCELL", b"y" * 40_000), settings)

    assert refused.code == "malformed_file"
    assert "row 2" in refused.message and "'B'" in refused.message


def test_csv_line_over_64_kb_is_refused_naming_the_row(settings):
    content = b"first_name,last_name,dob\nAnn,Lee,01/01/1990\nBob," + b"z" * 70_000 + b",1/1/90\n"

    refused = refusal("long.csv", content, settings)

    assert refused.code == "malformed_file"
    assert "row 3" in refused.message


def test_csv_with_a_nul_byte_is_refused_as_not_text(settings):
    content = b"first_name,last_name,dob\nAnn,Lee,01/01/1990\nBob,R\x00y,01/01/1990\n"

    refused = refusal("nul.csv", content, settings)

    assert refused.code == "not_text"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["é" * 200 + ".csv", "名" * 90 + ".csv", "é" * 250], ids=["accents", "cjk", "bare"]
)
def test_a_name_too_long_for_the_file_system_is_stored_cut_and_kept_whole(name):
    batch = services.batch_create(
        files=[upload(name, b"first_name,last_name,dob\nA,B,01/02/1990\n")], queue=False
    )

    batch_file = batch.files.get()
    assert batch_file.name == name
    stored = Path(batch_file.file.path)
    assert len(stored.name.encode()) <= 255
    assert stored.suffix == Path(name).suffix
    assert stored.read_bytes().startswith(b"first_name")


def test_deleting_a_batch_deletes_its_stored_files(make_upload, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    batch = services.batch_create(files=[make_upload([["A", "B", "01/01/1990"]])], queue=False)
    name = batch.files.get().file.name
    assert default_storage.exists(name)

    with django_capture_on_commit_callbacks(execute=True):
        BatchJob.objects.filter(pk=batch.pk).delete()

    assert not default_storage.exists(name)
