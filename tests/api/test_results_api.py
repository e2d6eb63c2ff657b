"""The results API: typed results like the CSV's rows, keyset pages, cursors, audit, proxies."""

import csv
import io
from urllib.parse import urlsplit

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.models import ApiToken
from batches import services
from batches.exports import RESULT_COLUMNS
from batches.models import BatchJob
from batches.services.inline import batch_process_inline
from leads.models import LeadStatus
from tests.batches.test_exports import many_leads
from tests.conftest import csv_bytes, upload
from tests.users import staff

pytestmark = pytest.mark.django_db

HEADER = ("first_name", "last_name", "dob", "email", "Campaign")
ROWS = [
    ["John", "Smith", "15/03/1990", "john@example.com", "spring"],
    ["Jane", "Doe", "22/08/1985", "", ""],
    ["X", "Y", "1/1/90", "", "=cmd"],
    ["John", "Smith", "15/03/1990", "john@example.com", "again"],
]


@pytest.fixture
def batch():
    created = services.batch_create(files=[upload("leads.csv", csv_bytes(ROWS, header=HEADER))])
    batch = batch_process_inline(batch=created)
    # Written directly: what the split stores under each header as the file names it.
    for row_number, campaign in ((2, "spring"), (4, "=cmd"), (5, "again")):
        batch.leads.filter(row_number=row_number).update(extra={"Campaign": campaign})
    return batch


@pytest.fixture
def auth():
    _, plain = ApiToken.issue(name="script", user=staff("viewer", "Viewers"))
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def leads_url(batch, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/api/batches/{batch.batch_id}/leads" + (f"?{query}" if query else "")


def get_page(client, url, auth):
    response = client.get(url, **auth)
    assert response.status_code == 200, response.content
    return response.json()


def walk(client, url, auth, between=None) -> list[dict]:
    """Follow `next` to the end; call `between(page_number)` after each page."""
    seen, number = [], 0
    while url:
        body = get_page(client, url, auth)
        seen.extend(body["results"])
        url, number = body["next"], number + 1
        if between is not None:
            between(number)
    return seen


def test_results_are_the_csv_rows_typed_with_supplier_columns_under_extra(client, batch, auth):
    body = get_page(client, leads_url(batch), auth)
    assert body["next"] is None
    results = body["results"]
    assert [list(item) for item in results] == [[*RESULT_COLUMNS, "extra"]] * 4
    first, second, third, fourth = results
    assert first["validation_status"] == "valid" and first["validation_errors"] == []
    assert third["validation_status"] == "invalid"
    assert isinstance(third["validation_errors"], list) and third["validation_errors"]
    assert fourth["validation_status"] == "duplicate"
    assert fourth["duplicate_of"] == f"{batch.batch_id}:leads.csv:2"
    assert first["duplicate_of"] is None
    assert (first["row_number"], first["webhook_attempts"]) == (2, 0)
    assert first["worksheet"] is None and second["email"] is None
    assert first["validated_at"].endswith("Z") and isinstance(first["email_free"], bool)
    assert first["extra"] == {"Campaign": "spring"}
    assert second["extra"] == {"Campaign": None}
    assert third["extra"] == {"Campaign": "=cmd"}  # JSON needs no spreadsheet escaping

    # The same row model as the CSV: every cell is the JSON value formatted.
    csv_text = client.get(f"/download_results/{batch.batch_id}", **auth).getvalue().decode()
    rows = list(csv.reader(io.StringIO(csv_text[1:])))
    for item, row in zip(results, rows[1:], strict=True):
        values = [*(item[name] for name in RESULT_COLUMNS), *item["extra"].values()]
        formatted = [
            ";".join(v)
            if isinstance(v, list)
            else ""
            if v is None
            else str(v).lower()
            if isinstance(v, bool)
            else str(v)
            for v in values
        ]
        assert [cell.removeprefix("'") for cell in row] == formatted


def test_pages_walk_every_lead_once_in_file_order(client, auth):
    batch = many_leads(25)
    seen = walk(client, leads_url(batch, limit=10), auth)
    assert [item["row_number"] for item in seen] == list(range(2, 27))
    assert seen[0]["extra"] == {f"Column {i}": "x" * 40 for i in range(5)}


def test_limit_defaults_to_100(client, auth):
    batch = many_leads(150)
    body = get_page(client, leads_url(batch), auth)
    assert len(body["results"]) == 100
    second = get_page(client, body["next"], auth)
    assert len(second["results"]) == 50 and second["next"] is None


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"limit": 1001}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "shiny"}, "status"),
        ({"cursor": "abc"}, "cursor"),
    ],
)
def test_bad_parameters_get_400_naming_them(client, batch, auth, params, word):
    response = client.get(leads_url(batch, **params), **auth)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request" and word in response.json()["detail"]


@pytest.mark.parametrize("name", ["status", "limit"])
def test_a_parameter_given_twice_gets_400_not_its_last_value(client, batch, auth, name):
    values = {"status": ("valid", "invalid"), "limit": ("1", "2")}[name]
    url = leads_url(batch) + "?" + "&".join(f"{name}={value}" for value in values)

    response = client.get(url, **auth)

    assert response.status_code == 400
    assert f"{name} is given more than once" in response.json()["detail"]


def test_limit_of_1000_is_allowed(client, batch, auth):
    assert len(get_page(client, leads_url(batch, limit=1000), auth)["results"]) == 4


def test_tampered_or_borrowed_cursor_gets_400(client, auth):
    batch, other = many_leads(5), many_leads(5)
    next_url = get_page(client, leads_url(batch, limit=2), auth)["next"]
    cursor = next_url.split("cursor=")[1].split("&")[0]
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for url in (
        leads_url(batch, limit=2, cursor=tampered),
        leads_url(other, limit=2, cursor=cursor),  # another batch's
        leads_url(batch, limit=2, cursor=cursor, status="valid"),  # another filter's
    ):
        response = client.get(url, **auth)
        assert response.status_code == 400 and "cursor" in response.json()["detail"]


def test_status_filters_on_the_validation_status(client, batch, auth):
    valid = get_page(client, leads_url(batch, status="valid"), auth)["results"]
    assert [item["row_number"] for item in valid] == [2, 3]
    invalid = get_page(client, leads_url(batch, status="invalid"), auth)["results"]
    assert [item["row_number"] for item in invalid] == [4]


def test_rows_changing_status_between_pages_are_never_repeated_or_skipped(client, auth):
    batch = many_leads(12)
    leads = batch.leads.all()
    leads.update(status=LeadStatus.PENDING)

    def progress(page_number):  # the batch goes on validating while the caller reads
        done = leads.filter(seq__lte=4 * page_number)
        done.filter(seq__in=(3, 7)).update(status=LeadStatus.INVALID)
        done.exclude(seq__in=(3, 7)).update(status=LeadStatus.VALID)

    seen = walk(client, leads_url(batch, limit=4), auth, between=progress)
    assert [item["row_number"] - 1 for item in seen] == list(range(1, 13))

    # Filtered: a lead served as valid turns invalid, later ones turn valid as the walk goes.
    leads.update(status=LeadStatus.PENDING)
    leads.filter(seq__in=(1, 2, 3)).update(status=LeadStatus.VALID)

    def revalidate(page_number):
        leads.filter(seq=1).update(status=LeadStatus.INVALID)
        leads.filter(seq__in=(5 * page_number, 5 * page_number + 1)).update(status=LeadStatus.VALID)

    seen = walk(client, leads_url(batch, limit=2, status="valid"), auth, between=revalidate)
    seqs = [item["row_number"] - 1 for item in seen]
    assert seqs == sorted(set(seqs)), "no lead twice, file order kept"
    assert set(seqs) >= {1, 2, 3, 5, 6}
    assert all(item["validation_status"] == "valid" for item in seen)


def test_one_query_reads_a_page_whatever_its_size(client, auth):
    batch = many_leads(60)
    counts = []
    for limit in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            get_page(client, leads_url(batch, limit=limit), auth)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    lead_reads = [q for q in queries.captured_queries if "leads_leadvalidation" in q["sql"]]
    assert len(lead_reads) == 2  # the page, and the supplier columns of its files


def test_each_page_is_recorded_in_history_with_who_and_how_many_rows(client, auth):
    batch = many_leads(7)
    walk(client, leads_url(batch, limit=5), auth)
    entries = LogEntry.objects.filter(object_id=str(batch.pk)).order_by("pk")
    assert [entry.user.username for entry in entries] == ["viewer", "viewer"]
    messages = [entry.change_message for entry in entries]
    assert messages[0].startswith("Read results through the API: 5 rows")
    assert messages[1].startswith("Read results through the API: 2 rows")
    assert f"/api/batches/{batch.batch_id}/leads" in messages[0]


def test_next_is_absolute_and_honours_the_proxys_forwarded_scheme_and_host(client, auth, settings):
    batch = many_leads(3)
    plain = get_page(client, leads_url(batch, limit=1), auth)["next"]
    assert urlsplit(plain)[:3] == ("http", "testserver", f"/api/batches/{batch.batch_id}/leads")

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["testserver", "valify.example.com"]
    forwarded = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "valify.example.com"}
    ignored_host = get_page(client, leads_url(batch, limit=1), auth | forwarded)["next"]
    assert (urlsplit(ignored_host).scheme, urlsplit(ignored_host).hostname) == (
        "https",
        "testserver",
    )
    settings.USE_X_FORWARDED_HOST = True
    proxied = get_page(client, leads_url(batch, limit=1), auth | forwarded)["next"]
    assert urlsplit(proxied)[:2] == ("https", "valify.example.com")  # no port: the proxy's
    assert len(get_page(client, proxied, auth)["results"]) == 1


def test_anonymous_gets_401_and_no_data(client, batch):
    response = client.get(leads_url(batch))
    assert response.status_code == 401 and "John" not in response.content.decode()


def test_staff_without_export_permission_gets_403(client, batch):
    client.force_login(User.objects.create_user("plain", password="pw", is_staff=True))
    assert client.get(leads_url(batch)).status_code == 403


def test_session_caller_reads_pages_too(client, batch):
    client.force_login(staff("operator", "Operators"))
    assert len(client.get(leads_url(batch)).json()["results"]) == 4


def test_unknown_or_invisible_batch_gets_404(client, batch, auth, monkeypatch):
    assert client.get("/api/batches/nope/leads", **auth).status_code == 404
    monkeypatch.setattr("api.views.batches_visible", lambda *, user: BatchJob.objects.none())
    response = client.get(leads_url(batch), **auth)
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_a_feature_value_reaches_csv_and_api_from_one_place(client, batch, auth, monkeypatch):
    """A feature filled in feature_values: `true`/`false`/empty in the CSV, typed in the API."""
    from batches import exports

    def features(lead):
        values = dict.fromkeys(exports.FEATURE_COLUMNS)
        values |= {"email_free": lead["seq"] == 1, "email_role": False, "company_size": 12}
        return tuple(values.values())

    monkeypatch.setattr(exports, "feature_values", features)
    first, second = get_page(client, leads_url(batch, limit=2), auth)["results"]
    assert (first["email_free"], first["email_role"], first["company_size"]) == (True, False, 12)
    assert (second["email_free"], second["email_disposable"]) == (False, None)
    csv_text = client.get(f"/download_results/{batch.batch_id}", **auth).getvalue().decode()
    row = next(csv.DictReader(io.StringIO(csv_text[1:])))
    assert (row["email_free"], row["email_role"], row["company_size"]) == ("true", "false", "12")
    assert row["email_disposable"] == ""


def test_a_page_says_whether_the_batch_is_still_running(client, auth):
    waiting = services.batch_create(
        files=[upload("leads.csv", csv_bytes(ROWS, header=HEADER))], queue=False
    )

    early = get_page(client, leads_url(waiting), auth)
    batch_process_inline(batch=waiting)
    done = get_page(client, leads_url(waiting), auth)

    assert (early["results"], early["next"], early["batch_status"]) == ([], None, "pending")
    assert (len(done["results"]), done["batch_status"]) == (4, "completed")
