"""Commands: import_batch (modes, --json, refusals, exit status), purge_expired, erase_lead,
export_results."""

import io
import json
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from batches.models import BatchJob, BatchStatus
from batches.services import system_user
from leads.hashing import lead_key_hash
from leads.models import LeadValidation

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


def test_refused_webhook_url_exits_non_zero_with_reason(leads_csv, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(CommandError) as error:
        call_command("import_batch", str(leads_csv), "--webhook-url", "http://hooks.example.com")
    assert error.value.returncode == 1
    assert str(error.value) == "refused (bad_request): webhook_url must be an https URL."
    assert not BatchJob.objects.exists()


def _old_batch(leads_csv, *, days: int) -> BatchJob:
    call_command("import_batch", str(leads_csv), "--inline", stdout=io.StringIO())
    batch = BatchJob.objects.get()
    BatchJob.objects.filter(pk=batch.pk).update(created_at=timezone.now() - timedelta(days=days))
    return batch


def purge_expired(*args) -> str:
    out = io.StringIO()
    call_command("purge_expired", *args, stdout=out)
    return out.getvalue()


def test_purge_expired_dry_run_says_what_would_go_and_changes_nothing(leads_csv):
    batch = _old_batch(leads_csv, days=40)

    out = purge_expired("--days", "30", "--dry-run")

    assert out.startswith("Would purge 1 batch created before") and "1 file, 3 leads;" in out
    assert batch.leads.count() == 3


def test_purge_expired_purges_batches_older_than_days(leads_csv):
    batch = _old_batch(leads_csv, days=40)

    out = purge_expired("--days", "30")

    assert out.startswith("Purged 1 batch ") and "3 deliveries unlinked" in out
    assert batch.leads.count() == 0


def test_purge_expired_uses_retention_days_by_default(leads_csv, settings):
    settings.RETENTION_DAYS = 50
    batch = _old_batch(leads_csv, days=40)

    assert purge_expired().startswith("Purged 0 batches created before")
    assert batch.leads.count() == 3


def test_purge_expired_with_retention_off_and_no_days_does_nothing(leads_csv, settings):
    settings.RETENTION_DAYS = 0
    batch = _old_batch(leads_csv, days=4000)

    assert "Retention is off" in purge_expired()
    assert batch.leads.count() == 3


def test_purge_expired_refuses_days_under_one():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("purge_expired", "--days", "0")


def erase_lead(*args) -> str:
    out = io.StringIO()
    call_command("erase_lead", *args, stdout=out)
    return out.getvalue()


def test_erase_lead_json_prints_the_counts_and_the_hash(leads_csv):
    call_command("import_batch", str(leads_csv), "--inline", stdout=io.StringIO())

    out = json.loads(erase_lead("--lead-id", "john.smith.15031990", "--json"))

    assert out["key_hash"] == lead_key_hash("john.smith.15031990")
    assert (out["dry_run"], out["leads"], out["deliveries"], out["files"]) == (False, 1, 1, 1)
    assert not LeadValidation.objects.filter(last_name="Smith").exists()


def test_erase_lead_dry_run_changes_nothing(leads_csv):
    call_command("import_batch", str(leads_csv), "--inline", stdout=io.StringIO())

    out = erase_lead("--email", "nobody@example.com", "--dry-run")
    counted = json.loads(erase_lead("--lead-id", "john.smith.15031990", "--dry-run", "--json"))

    assert out.startswith("Nothing found for hmac:")
    assert counted["dry_run"] is True and counted["leads"] == 1
    assert LeadValidation.objects.filter(last_name="Smith").exists()
    assert not LogEntry.objects.exists()


def test_erase_lead_finding_nothing_exits_zero_and_records_under_the_system_user():
    out = erase_lead("--lead-id", "nobody.here.01011990")

    assert out.startswith("Nothing found")
    entry = LogEntry.objects.get()
    assert entry.user == system_user() and not entry.user.is_active
    assert "run without --user" in entry.change_message


def test_erase_lead_records_the_named_user(leads_csv):
    dpo = User.objects.create_user("dpo")

    erase_lead("--lead-id", "john.smith.15031990", "--user", "dpo")

    assert LogEntry.objects.get().user == dpo


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--lead-id", "a.b.01011990", "--email", "a@example.com"),
        ("--lead-id", "a.b.01011990", "--user", "nobody"),
    ],
)
def test_erase_lead_errors_exit_one(args):
    with pytest.raises(CommandError) as refused:
        call_command("erase_lead", *args)

    assert refused.value.returncode == 1
    assert not LogEntry.objects.exists()


def test_export_results_is_recorded_in_history(leads_csv, tmp_path):
    call_command("import_batch", str(leads_csv), "--inline", stdout=io.StringIO())
    batch = BatchJob.objects.get()

    call_command(
        "export_results", batch.batch_id, "-o", str(tmp_path / "out.csv"), stderr=io.StringIO()
    )

    entry = LogEntry.objects.get()
    assert (entry.user, entry.object_id) == (system_user(), str(batch.pk))
    assert entry.change_message.startswith("Exported the results CSV: 3 rows (export_results")


def test_export_results_to_a_missing_folder_is_one_line_and_records_nothing(leads_csv, tmp_path):
    call_command("import_batch", str(leads_csv), "--inline", stdout=io.StringIO())
    batch = BatchJob.objects.get()

    with pytest.raises(CommandError, match=r"cannot write .*No such file or directory"):
        call_command("export_results", batch.batch_id, "-o", str(tmp_path / "gone" / "out.csv"))

    assert not LogEntry.objects.exists()


@pytest.mark.parametrize("poll", ["0", "-1", "nan"])
def test_import_batch_refuses_a_poll_that_is_not_above_zero_before_storing(leads_csv, poll):
    with pytest.raises(CommandError, match="--poll must be a number of seconds above 0"):
        call_command("import_batch", str(leads_csv), "--wait", "--poll", poll)

    assert not BatchJob.objects.exists()


def test_import_batch_uses_a_mapping_profile_and_says_so(tmp_path, capsys):
    from batches.services.mapping import mapping_profile_remember

    mapping_profile_remember(
        headers=["Given Name", "Family Name", "Birthdate", "Account Name"],
        columns=["first_name", "last_name", "dob", "company"],
        name="CRM export",
        user=None,
    )
    path = tmp_path / "crm.csv"
    path.write_text("Given Name,Family Name,Birthdate,Account Name\nJohn,Smith,15/03/1990,Acme\n")

    call_command("import_batch", str(path), "--inline", "--json")

    out = json.loads(capsys.readouterr().out)
    assert out["mapping_profiles"] == [
        {"file": "crm.csv", "worksheet": None, "profile": "CRM export"}
    ]
    assert LeadValidation.objects.get().company == "Acme"
    call_command("import_batch", str(path), "--inline")
    assert "mapping profile «CRM export» applied to crm.csv" in capsys.readouterr().out


def test_import_batch_names_the_rows_it_left_out(tmp_path, capsys):
    path = tmp_path / "crm.csv"
    path.write_text("first_name,last_name,dob\nJohn,Smith,15/03/1990\nEnd of report,,\n")

    call_command("import_batch", str(path), "--inline", "--json")
    out = json.loads(capsys.readouterr().out)
    call_command("import_batch", str(path), "--inline", "--revalidate-existing")
    text = capsys.readouterr().out

    note = "not read, holding no lead: row 3 (a total or footer line)"
    assert out["total_leads"] == 1
    assert out["notes"] == [{"file": "crm.csv", "worksheet": None, "note": note}]
    assert f"crm.csv: {note}" in text
