"""import_batch: queue, --inline, --json, refusals and exit status."""

import json

import pytest
from django.core.management import CommandError, call_command

from batches.models import BatchJob, BatchStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def leads_csv(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(
        "first_name,last_name,dob\nJohn,Smith,15/03/1990\nJane,Doe,22/08/1985\nX,Y,1/1/90\n"
    )
    return path


def test_inline_processes_everything_and_prints_json(leads_csv, capsys):
    call_command("import_batch", str(leads_csv), "--inline", "--json")
    out = json.loads(capsys.readouterr().out)
    batch = BatchJob.objects.get()
    assert out == {
        "batch_id": batch.batch_id,
        "status": "completed",
        "total_leads": 3,
        "valid": 2,
        "invalid": 1,
        "duplicate": 0,
    }


def test_without_wait_or_inline_it_queues_and_returns(
    leads_csv, capsys, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("import_batch", str(leads_csv), "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == BatchStatus.PENDING and out["total_leads"] == 3
    assert len(callbacks) == 1


def test_refused_file_exits_non_zero_with_reason(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,when\nJohn,today\n")
    with pytest.raises(CommandError) as error:
        call_command("import_batch", str(bad), "--inline")
    assert error.value.returncode == 1
    assert "missing_columns" in str(error.value) and "bad.csv" in str(error.value)
    assert not BatchJob.objects.exists()


def test_wait_and_inline_exclude_each_other(leads_csv):
    with pytest.raises(CommandError):
        call_command("import_batch", str(leads_csv), "--inline", "--wait")


def test_revalidate_and_webhook_url_are_recorded(leads_csv):
    call_command(
        "import_batch",
        str(leads_csv),
        "--inline",
        "--revalidate-existing",
        "--webhook-url",
        "https://hooks.example.com/in",
    )
    batch = BatchJob.objects.get()
    assert batch.revalidate_existing
    assert batch.webhook_url == "https://hooks.example.com/in"
