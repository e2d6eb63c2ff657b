"""The editable mapping in a real browser: remap a column, remember it, see it applied again."""

import csv
import io

import pytest

from batches.models import HeaderAlias, MappingProfile
from tests.browser.test_console_e2e import login, staff

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HEADER = "Given Name,Family Name,Birthdate,Account Name,Lead Src\n"
FIRST = HEADER + (
    "JOHN,SMITH,15/03/1990,Acme Ltd,trade fair\n"
    "jane,doe,22/08/1985,  Globex   Corporation ,web form\n"
)
SECOND = HEADER + (
    "Peter,Parker,10/08/1991,Daily Bugle,referral\nMary-Jane,Watson,01/06/1992,,web form\n"
)


def choice(page, header: str) -> str:
    return page.eval_on_selector(f'tr[data-header="{header}"] select', "select => select.value")


def confirm_and_wait(page):
    page.click("input[name=_confirm]")
    page.wait_for_selector("#batch-live")
    page.wait_for_function(
        "document.getElementById('batch-live').dataset.status === 'completed'", timeout=60_000
    )


def export(page) -> list[dict]:
    with page.expect_download() as download:
        page.click("#batch-actions button[value=export_results]")
    text = download.value.path().read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def upload(page, live_server, path):
    page.goto(f"{live_server.url}/admin/batches/batchjob/add/")
    page.set_input_files("input[type=file]", str(path))
    page.click("input[name=_upload]")
    page.wait_for_selector("#batch-confirm-form, .errornote")
    assert page.locator(".errornote").count() == 0, page.inner_text("#content-main")


def test_operator_remaps_a_column_remembers_it_and_the_next_upload_uses_it(
    page, live_server, worker, shared_media, tmp_path, screenshot
):
    # Seeded by a data migration, which an earlier transactional test's flush may have undone.
    for field, alias in [("first_name", "Given Name"), ("last_name", "Family Name")]:
        HeaderAlias.objects.get_or_create(alias=alias, defaults={"field": field})
    HeaderAlias.objects.get_or_create(alias="Birth Date", defaults={"field": "dob"})
    staff("operator", "Operators")
    login(page, live_server, "operator")
    first, second = tmp_path / "crm-export.csv", tmp_path / "crm-export-2.csv"
    first.write_text(FIRST, encoding="utf-8")
    second.write_text(SECOND, encoding="utf-8")

    upload(page, live_server, first)
    assert choice(page, "Given Name") == "first_name"
    page.select_option('tr[data-header="Account Name"] select', "company")
    page.select_option('tr[data-header="Lead Src"] select', "ignore")
    page.check("input[name=remember-0-0]")
    page.fill("input[name=profile-0-0]", "CRM export")
    confirm_and_wait(page)
    rows = export(page)
    assert [row["company"] for row in rows] == ["Acme Ltd", "Globex Corporation"]
    assert MappingProfile.objects.get().name == "CRM export"

    upload(page, live_server, second)
    assert "Mapping profile «CRM export» applied." in page.inner_text("#upload-preview")
    assert choice(page, "Account Name") == "company"
    assert choice(page, "Lead Src") == "ignore"
    screenshot(page, "upload-mapping.png")
    confirm_and_wait(page)

    rows = export(page)
    assert [(row["first_name"], row["company"]) for row in rows] == [
        ("Peter", "Daily Bugle"),
        ("Mary-Jane", ""),
    ]
    assert not any(
        "Lead Src" in name or "referral" in value for row in rows for name, value in row.items()
    )
