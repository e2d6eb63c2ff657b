"""The console's lists on a laptop's screen: the columns fit without scrolling sideways."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from batches import services
from batches.services.inline import batch_process_inline
from tests.browser.test_console_e2e import login, staff

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CSV = (
    b"First Name,Last Name,DOB,Email\n"
    b"Mary-Jane,Vanderberg-Watson,22/08/1985,mary-jane.vanderberg-watson@example.com\n"
    b"Peter,Parker,31/02/1991,peter@@example.com\n"
    b"John,Smith,15/03/1990,\n"
)


def scrolls_sideways(page) -> bool:
    return page.eval_on_selector(".results", "e => e.scrollWidth > e.clientWidth + 1")


def test_lists_fit_a_1400_pixel_screen_with_the_app_list_folded_until_opened(page, live_server):
    for name in ("crm-export-with-a-long-name.csv", "web.csv"):
        batch_process_inline(
            batch=services.batch_create(files=[SimpleUploadedFile(name, CSV)], queue=False)
        )
    staff("operator", "Operators")
    login(page, live_server, "operator")

    for path in ("/admin/leads/leadvalidation/", "/admin/batches/batchjob/"):
        page.goto(f"{live_server.url}{path}")
        assert not page.is_visible("#nav-sidebar .module"), "the app list starts folded"
        assert not scrolls_sideways(page), path

    page.click("#toggle-nav-sidebar")  # opened by the operator: remembered
    page.goto(f"{live_server.url}/admin/leads/leadvalidation/")
    assert page.is_visible("#nav-sidebar .module")
