"""Who sees what: a member of a customer sees its data only, staff with no membership see
nothing, holders of view_all_customers see everything, a scoped token sees its customer's."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile

from api.models import ApiToken
from batches import services
from batches.exports import ANOTHER_CUSTOMER
from batches.models import BatchJob
from batches.services.inline import batch_process_inline
from customers.services import customer_create
from leads.models import LeadValidation
from tests.users import staff
from webhooks.models import Delivery, WebhookControl

pytestmark = pytest.mark.django_db

CSV = b"first_name,last_name,dob\nJohn,Smith,15/03/1990\nJane,Doe,22/08/1985\n"


def _batch(customer, name="leads.csv"):
    created = services.batch_create(
        files=[SimpleUploadedFile(name, CSV)], queue=False, customer=customer
    )
    return batch_process_inline(batch=created)


@pytest.fixture
def acme():
    return customer_create(slug="acme", name="Acme").customer


@pytest.fixture
def other():
    return customer_create(
        slug="other", name="Other", endpoint_urls=["https://hooks.example.com/other"]
    ).customer


@pytest.fixture
def batches(acme, other, settings):
    """Other's batch first, so acme's same leads are duplicates of other's (exclusive leads)."""
    settings.DEDUPE_SCOPE = "global"
    theirs = _batch(other, "theirs.csv")
    mine = _batch(acme, "mine.csv")
    return mine, theirs


@pytest.fixture
def member(acme):
    user = staff("member", "Customer operators")
    acme.members.add(user)
    return user


def test_member_lists_name_no_other_customer_nor_its_batches(client, batches, member, other):
    mine, theirs = batches
    client.force_login(member)

    for url in ("/admin/leads/leadvalidation/", "/admin/webhooks/delivery/"):
        page = client.get(url).content.decode()
        assert mine.batch_id in page  # the batch filter offers the member's batch...
        assert theirs.batch_id not in page  # ...and not another customer's
        linked = client.get(url, {"batch": theirs.batch_id}).content.decode()
        assert f"{theirs.batch_id}</a>" not in linked  # not offered, even when linked to
    for url in ("/admin/batches/batchjob/", "/admin/customers/endpoint/"):
        page = client.get(url).content.decode()
        assert f"customer__id__exact={other.pk}" not in page and "Other" not in page


def _bearer(user, customer=None):
    _, plain = ApiToken.issue(name="script", user=user, customer=customer)
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def test_member_sees_only_their_customers_batches_leads_and_deliveries(client, batches, member):
    mine, theirs = batches
    client.force_login(member)
    page = client.get("/admin/batches/batchjob/").content.decode()
    assert mine.batch_id in page and theirs.batch_id not in page
    assert client.get(f"/admin/batches/batchjob/{theirs.pk}/change/").status_code in (302, 404)
    assert client.get(f"/admin/batches/batchjob/{mine.pk}/change/").status_code == 200
    their_lead = LeadValidation.objects.filter(batch=theirs).first()
    assert client.get(f"/admin/leads/leadvalidation/{their_lead.pk}/change/").status_code in (
        302,
        404,
    )
    leads_page = client.get("/admin/leads/leadvalidation/").content.decode()
    assert "mine.csv" in leads_page and "theirs.csv" not in leads_page
    theirs_deliveries = Delivery.objects.filter(batch=theirs)
    assert theirs_deliveries.exists()
    deliveries_page = client.get("/admin/webhooks/delivery/").content.decode()
    assert "hooks.example.com" not in deliveries_page
    for delivery in theirs_deliveries:
        url = f"/admin/webhooks/delivery/{delivery.pk}/change/"
        assert client.get(url).status_code in (302, 404)


def test_member_export_action_cannot_reach_another_customers_batch(client, batches, member):
    mine, theirs = batches
    client.force_login(member)
    response = client.post(
        "/admin/batches/batchjob/",
        {"action": "export_results", "_selected_action": [mine.pk, theirs.pk]},
    )
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "mine.csv" in body and "theirs.csv" not in body
    # acme's leads are duplicates of other's: the holder's batch is not named.
    assert ANOTHER_CUSTOMER in body and theirs.batch_id not in body


def test_view_all_holder_sees_duplicates_holder(client, batches):
    mine, theirs = batches
    client.force_login(staff("operator", "Operators"))
    page = client.get("/admin/batches/batchjob/").content.decode()
    assert mine.batch_id in page and theirs.batch_id in page
    response = client.post(
        "/admin/batches/batchjob/",
        {"action": "export_results", "_selected_action": [mine.pk]},
    )
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert f"{theirs.batch_id}:theirs.csv:" in body and ANOTHER_CUSTOMER not in body


def test_staff_without_membership_sees_nothing(client, batches):
    mine, theirs = batches
    nobody = staff("nobody", "Customer operators")
    client.force_login(nobody)
    page = client.get("/admin/batches/batchjob/").content.decode()
    assert mine.batch_id not in page and theirs.batch_id not in page
    for batch in batches:
        assert client.get(f"/batch_status/{batch.batch_id}").status_code == 404
    assert client.get(f"/api/batches/{mine.batch_id}/leads").status_code == 404


def test_dashboard_counts_only_visible_batches(batches, member):
    from batches.dashboard import dashboard_figures

    nobody = staff("nobody", "Customer viewers")
    assert dashboard_figures(user=member)["open_by_customer"] == []
    seen = LeadValidation.objects.filter(validated_at__isnull=False)
    assert (
        dashboard_figures(user=member)["leads_validated"] == seen.filter(batch=batches[0]).count()
    )
    assert dashboard_figures(user=nobody)["leads_validated"] == 0
    assert dashboard_figures(user=None)["leads_validated"] == seen.count()


@pytest.mark.parametrize(
    "path",
    ["/batch_status/{}", "/download_results/{}", "/webhook_status/{}", "/api/batches/{}/leads"],
)
def test_api_answers_404_for_another_customers_batch(client, batches, member, path):
    mine, theirs = batches
    auth = _bearer(member)
    assert client.get(path.format(theirs.batch_id), **auth).status_code == 404
    assert client.get(path.format(mine.batch_id), **auth).status_code == 200


def test_scoped_token_narrows_a_view_all_user_to_its_customer(client, batches, other):
    mine, theirs = batches
    operator = staff("operator", "Operators")
    auth = _bearer(operator, customer=other)
    assert client.get(f"/batch_status/{mine.batch_id}", **auth).status_code == 404
    assert client.get(f"/batch_status/{theirs.batch_id}", **auth).status_code == 200
    unscoped = _bearer(operator)
    assert client.get(f"/batch_status/{mine.batch_id}", **unscoped).status_code == 200


def test_results_api_hides_another_customers_holder(client, batches, member):
    mine, _theirs = batches
    results = client.get(f"/api/batches/{mine.batch_id}/leads", **_bearer(member)).json()
    assert {r["duplicate_of"] for r in results["results"]} == {ANOTHER_CUSTOMER}


def test_scoped_staff_cannot_change_global_settings(client, member):
    member.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "change_webhookcontrol",
                "change_headeralias",
                "add_headeralias",
                "change_customer",
                "add_periodictask",
            ]
        )
    )
    member = User.objects.get(pk=member.pk)
    client.force_login(member)
    control = WebhookControl.objects.get_or_create(pk=1)[0]
    response = client.post(f"/admin/webhooks/webhookcontrol/{control.pk}/change/", {"paused": "on"})
    control.refresh_from_db()
    assert not control.paused and response.status_code in (200, 403)
    assert client.get("/admin/batches/headeralias/add/").status_code == 403
    assert client.get("/admin/django_celery_beat/periodictask/add/").status_code == 403
    assert client.get("/admin/customers/customer/add/").status_code == 403
    own = member.customers.get()
    response = client.post(
        f"/admin/customers/customer/{own.pk}/change/",
        {"slug": own.slug, "name": "Renamed", "max_leads_per_day": "0", "max_open_batches": "0"},
    )
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.name == "Acme"
    root = User.objects.create_superuser("root", password="pw")
    client.force_login(root)
    assert client.get("/admin/batches/headeralias/add/").status_code == 200


def test_view_all_holder_keeps_changing_periodic_tasks(client):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    assert client.get("/admin/django_celery_beat/periodictask/add/").status_code == 200


def test_per_customer_dedupe_makes_the_same_leads_valid_for_each(client, acme, other, member):
    _batch(other, "theirs.csv")
    mine = _batch(acme, "mine.csv")
    results = client.get(f"/api/batches/{mine.batch_id}/leads", **_bearer(member)).json()
    assert [(r["validation_status"], r["duplicate_of"]) for r in results["results"]] == [
        ("valid", None),
        ("valid", None),
    ]


def test_lead_page_names_another_customers_holder_only_as_another_customer(client, batches, member):
    mine, theirs = batches
    lead = LeadValidation.objects.filter(batch=mine, duplicate_of__isnull=False).first()
    holder = lead.duplicate_of
    assert holder.batch_id == theirs.pk
    client.force_login(member)
    page = client.get(f"/admin/leads/leadvalidation/{lead.pk}/change/").content.decode()
    assert f"/admin/leads/leadvalidation/{holder.pk}/change/" not in page
    assert ANOTHER_CUSTOMER in page
    client.force_login(staff("operator", "Operators"))
    page = client.get(f"/admin/leads/leadvalidation/{lead.pk}/change/").content.decode()
    assert f"/admin/leads/leadvalidation/{holder.pk}/change/" in page


def test_the_sending_banner_names_only_the_users_customers(client, acme, other, member):
    from customers.models import Customer
    from tests.webhooks.factories import make_batch, make_deliveries

    Customer.objects.filter(pk__in=[acme.pk, other.pk]).update(is_active=False)
    make_deliveries(1, batch=make_batch(customer=acme))
    make_deliveries(1, batch=make_batch(customer=other))
    client.force_login(member)
    page = client.get("/admin/batches/batchjob/").content.decode()
    assert "Inactive: the webhooks of acme wait" in page
    assert "other" not in page.split("Inactive:")[1].split("</li>")[0]
    client.force_login(staff("operator", "Operators"))
    page = client.get("/admin/batches/batchjob/").content.decode()
    assert "Inactive: the webhooks of acme, other wait" in page


def test_a_token_for_a_customer_its_user_does_not_act_for_is_refused(client, member, other):
    # Made by hand (the admin and create_api_token refuse it), or left from a membership.
    headers = _bearer(member, other)
    upload = SimpleUploadedFile("leads.csv", CSV)

    response = client.post("/upload_batch", {"file": upload}, **headers)

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert not BatchJob.objects.exists()


def test_a_token_stops_working_when_its_user_leaves_its_customer(client, member, acme):
    headers = _bearer(member, acme)
    first = client.post("/upload_batch", {"file": SimpleUploadedFile("a.csv", CSV)}, **headers)
    assert first.status_code == 201

    acme.members.remove(member)
    again = client.post("/upload_batch", {"file": SimpleUploadedFile("b.csv", CSV)}, **headers)
    status = client.get(f"/batch_status/{first.json()['batch_id']}", **headers)

    assert (again.status_code, status.status_code) == (403, 403)
    assert BatchJob.objects.count() == 1


def test_the_admin_refuses_a_token_for_a_customer_its_user_does_not_act_for(client, member, other):
    client.force_login(User.objects.create_superuser("root", password="pw"))

    page = client.post(
        "/admin/api/apitoken/add/", {"name": "script", "user": member.pk, "customer": other.pk}
    )

    assert page.status_code == 200
    assert "member does not act for other" in page.content.decode()
    assert not ApiToken.objects.exists()


def test_scoped_staff_cannot_change_schedules_nor_see_task_results(client, member):
    from django_celery_beat.models import IntervalSchedule
    from django_celery_results.models import TaskResult

    every = IntervalSchedule.objects.create(every=30, period=IntervalSchedule.SECONDS)
    TaskResult.objects.create(task_id="t1", task_name="batches.finalize", result='{"n": 1}')
    member.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "change_intervalschedule",
                "delete_intervalschedule",
                "view_taskresult",
            ]
        )
    )
    client.force_login(User.objects.get(pk=member.pk))

    changed = client.post(
        f"/admin/django_celery_beat/intervalschedule/{every.pk}/change/",
        {"every": "99999", "period": "days"},
    )
    deleted = client.post(
        f"/admin/django_celery_beat/intervalschedule/{every.pk}/delete/", {"post": "yes"}
    )
    results = client.get("/admin/django_celery_results/taskresult/")

    every.refresh_from_db()
    assert (changed.status_code, deleted.status_code, every.every) == (403, 403, 30)
    assert results.status_code == 403
    client.force_login(User.objects.create_superuser("root", password="pw"))
    assert client.get("/admin/django_celery_results/taskresult/").status_code == 200
