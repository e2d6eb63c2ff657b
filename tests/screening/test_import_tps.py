"""import_tps: the register streamed in, bad lines reported, the list swapped atomically."""

import io
import os
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from screening.models import TpsList, TpsNumber
from screening.selectors import tps_listed
from screening.services import tps
from tests.envsettings import settings_from_env

pytestmark = pytest.mark.django_db

REGISTER = (
    "# TPS extract\n"
    "01632960001\n"
    "\n"
    "+44 1632 960002\n"
    "not a number\n"
    "0044 7911 123456\n"
    "+1 202 555 0100\n"
)


def register(tmp_path, text=REGISTER, name="tps.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_tps", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def current_numbers():
    return set(TpsNumber.objects.filter(tps_list__is_current=True).values_list("number", flat=True))


def test_good_lines_load_and_bad_lines_are_reported_by_number(tmp_path):
    out, err = run(register(tmp_path), "--date", "2026-11-30")

    assert current_numbers() == {441632960001, 441632960002, 447911123456}
    assert "line 5: not a UK phone number: 'not a number'" in err
    assert "line 7: not a UK phone number: '+1 202 555 0100'" in err
    assert "Loaded 3 numbers from tps.txt dated 2026-11-30 (7 lines, 2 bad)" in out
    loaded = TpsList.objects.get()
    assert (loaded.is_current, loaded.numbers, loaded.bad_lines) == (True, 3, 2)
    assert loaded.file_date == datetime(2026, 11, 30, tzinfo=UTC)


def test_without_a_date_the_file_modification_time_is_recorded(tmp_path):
    path = register(tmp_path)
    stamp = datetime(2026, 10, 1, 8, 30, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))

    run(path)

    assert TpsList.objects.get().file_date == datetime(2026, 10, 1, 8, 30, tzinfo=UTC)


def test_a_new_load_replaces_the_previous_list(tmp_path):
    run(register(tmp_path), "--date", "2026-11-01")
    run(register(tmp_path, "07911 000001\n", name="newer.txt"), "--date", "2026-12-01")

    assert current_numbers() == {447911000001}
    assert TpsList.objects.count() == 1, "the old list is dropped"
    assert TpsNumber.objects.count() == 1
    answer = tps_listed([447911000001, 441632960001])
    assert answer.listed == {447911000001}
    assert answer.screened_at == datetime(2026, 12, 1, tzinfo=UTC)


def test_a_list_swapped_between_a_look_ups_two_reads_is_read_whole(tmp_path):
    from django.db import connection

    run(register(tmp_path, "07911 000001\n"), "--date", "2026-11-01")
    swapped = []

    def swap_after_the_first_read(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "screening_tpslist" in sql and not swapped:  # which list is current: read
            swapped.append(sql)
            run(register(tmp_path, "07911 000001\n", name="newer.txt"), "--date", "2026-12-01")
        return result

    with connection.execute_wrapper(swap_after_the_first_read):
        answer = tps_listed([447911000001])

    assert swapped
    # All of the new list (both hold the number), never the old list's date with no numbers.
    assert answer.listed == {447911000001}
    assert answer.screened_at == datetime(2026, 12, 1, tzinfo=UTC)


def test_a_load_that_fails_midway_leaves_the_previous_list_in_place(tmp_path, monkeypatch):
    run(register(tmp_path), "--date", "2026-11-01")
    big = "".join(f"07911 {n:06d}\n" for n in range(10))
    monkeypatch.setattr(tps, "_BLOCK", 4)
    real_insert, calls = tps.insert_rows, []

    def insert_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_insert(*args, **kwargs)

    monkeypatch.setattr(tps, "insert_rows", insert_then_fail)
    with pytest.raises(CommandError, match="disk full"):
        run(register(tmp_path, big, name="broken.txt"))

    assert current_numbers() == {441632960001, 441632960002, 447911123456}
    assert list(TpsList.objects.values_list("source", flat=True)) == ["tps.txt"]
    assert TpsNumber.objects.count() == 3, "the partial load is removed"


def test_a_large_file_goes_in_block_by_block(tmp_path, monkeypatch):
    monkeypatch.setattr(tps, "_BLOCK", 7)
    run(register(tmp_path, "".join(f"01632 9{n:05d}\n" for n in range(50))))

    assert len(current_numbers()) == 50


def test_if_newer_loads_only_a_file_dated_after_the_current_list(tmp_path):
    run(register(tmp_path), "--date", "2026-11-30")
    older = register(tmp_path, "07911 000001\n", name="older.txt")

    out, _ = run(older, "--date", "2026-11-30", "--if-newer")
    assert "Not loaded" in out
    assert TpsList.objects.get().source == "tps.txt"

    run(older, "--date", "2026-12-01", "--if-newer")
    assert TpsList.objects.get().source == "older.txt"
    assert current_numbers() == {447911000001}


def test_no_file_reads_enrich_tps_file(tmp_path, settings):
    settings.ENRICH_TPS_FILE = str(register(tmp_path))
    out, _ = run()
    assert "Loaded 3 numbers" in out

    settings.ENRICH_TPS_FILE = ""
    with pytest.raises(CommandError, match="ENRICH_TPS_FILE"):
        run()


def test_a_bad_date_or_missing_file_is_an_error_and_nothing_changes(tmp_path):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run(register(tmp_path), "--date", "30/11/2026")
    with pytest.raises(CommandError, match="no such file"):
        run(tmp_path / "missing.txt")
    with pytest.raises(CommandError, match="a folder, not a file"):
        run(tmp_path)
    assert not TpsList.objects.exists()


def test_a_file_without_a_number_is_refused_and_the_current_list_stays(tmp_path):
    run(register(tmp_path), "--date", "2026-11-30")
    before = current_numbers()

    for text in ("", "# header only\n", "name,phone\nAnn,unknown\nBob,n/a\n"):
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(CommandError, match=r"no UK phone number.*current list is kept"):
            call_command(
                "import_tps", str(register(tmp_path, text, "wrong.csv")), stdout=out, stderr=err
            )
        assert current_numbers() == before
        assert TpsList.objects.get().source == "tps.txt", "the refused load left nothing"
    assert "wrong.csv: line 2: not a UK phone number: 'Ann,unknown'" in err.getvalue()


def test_settings_default_to_no_file_and_flagging_only():
    defaults = settings_from_env()
    assert (defaults.ENRICH_TPS_FILE, defaults.TPS_REJECT) == ("", False)

    configured = settings_from_env(ENRICH_TPS_FILE="/srv/tps.txt", TPS_REJECT="true")
    assert (configured.ENRICH_TPS_FILE, configured.TPS_REJECT) == ("/srv/tps.txt", True)
