"""Idempotency-Key: claimed before the upload runs, so twins make one batch."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from api import idempotency
from api.models import ApiToken, IdempotentResponse
from batches.models import BatchJob

CSV = b"first_name,last_name,dob\nJohn,Smith,15/03/1990\nJane,Doe,22/08/1985\n"
OTHER_CSV = b"first_name,last_name,dob\nAnn,Lee,01/02/1980\n"


def operator_token() -> tuple[User, dict]:
    user = User.objects.create_user("operator", is_staff=True)
    user.groups.add(Group.objects.get(name="Operators"))
    _, plain = ApiToken.issue(name="script", user=user)
    return user, {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def post(headers: dict, key: str, content: bytes = CSV):
    return Client().post(
        "/upload_batch",
        {"file": SimpleUploadedFile("leads.csv", content)},
        HTTP_IDEMPOTENCY_KEY=key,
        **headers,
    )


@pytest.mark.django_db
def test_the_same_key_replays_the_first_answer():
    _, headers = operator_token()
    first = post(headers, "k-1")
    again = post(headers, "k-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert BatchJob.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_other_files_is_refused():
    _, headers = operator_token()
    assert post(headers, "k-2").status_code == 201
    reused = post(headers, "k-2", OTHER_CSV)

    assert reused.status_code == 422
    assert reused.json()["error"] == "idempotency_key_reused"
    assert BatchJob.objects.count() == 1


@pytest.mark.django_db
def test_a_key_still_in_progress_answers_409(monkeypatch):
    user, headers = operator_token()
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    fingerprint = idempotency.request_fingerprint(
        files=[SimpleUploadedFile("leads.csv", CSV)],
        options={"revalidate_existing": "false", "webhook_url": ""},
    )
    IdempotentResponse.objects.create(user=user, key="k-3", fingerprint=fingerprint)

    response = post(headers, "k-3")

    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_in_progress"
    assert not BatchJob.objects.exists()


@pytest.mark.django_db
def test_a_claim_abandoned_by_a_dead_process_is_taken_over():
    user, headers = operator_token()
    stale = IdempotentResponse.objects.create(user=user, key="k-4", fingerprint="")
    IdempotentResponse.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - timedelta(minutes=11)
    )

    assert post(headers, "k-4").status_code == 201
    assert BatchJob.objects.count() == 1


@pytest.mark.django_db
def test_an_error_while_uploading_gives_the_key_back(monkeypatch):
    _, headers = operator_token()

    def broken(**kwargs):
        raise RuntimeError("storage down")

    monkeypatch.setattr("api.views.batch_create", broken)
    client = Client(raise_request_exception=False)
    failed = client.post(
        "/upload_batch",
        {"file": SimpleUploadedFile("leads.csv", CSV)},
        HTTP_IDEMPOTENCY_KEY="k-5",
        **headers,
    )
    assert failed.status_code == 500
    assert not IdempotentResponse.objects.filter(key="k-5").exists()
    monkeypatch.undo()
    assert post(headers, "k-5").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_make_one_batch(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent requests need a database server (PostgreSQL)")
    from api import views

    _, headers = operator_token()
    real_create = views.batch_create
    both_in = threading.Barrier(2, timeout=10)

    def slow_create(**kwargs):
        batch = real_create(**kwargs)
        threading.Event().wait(0.5)  # the twin arrives while this one is still working
        return batch

    monkeypatch.setattr(views, "batch_create", slow_create)
    answers = []

    def send():
        try:
            both_in.wait()
            answers.append(post(headers, "k-6"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["batch_id"] == answers[1].json()["batch_id"]
    assert BatchJob.objects.count() == 1


@pytest.mark.django_db
def test_a_key_is_scoped_to_the_tokens_customer():
    from customers.services import customer_create

    user, _ = operator_token()
    by_customer = {}
    for slug in ("acme", "other"):
        customer = customer_create(slug=slug, name=slug.title()).customer
        _, plain = ApiToken.issue(name=slug, user=user, customer=customer)
        by_customer[slug] = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}

    first = post(by_customer["acme"], "k-scoped")
    second = post(by_customer["other"], "k-scoped")
    again = post(by_customer["acme"], "k-scoped")

    assert first.status_code == second.status_code == again.status_code == 201
    assert second.json()["batch_id"] != first.json()["batch_id"]
    assert again.json() == first.json()
    owners = dict(BatchJob.objects.values_list("batch_id", "customer__slug"))
    assert owners == {first.json()["batch_id"]: "acme", second.json()["batch_id"]: "other"}


@pytest.mark.django_db
def test_a_replay_of_a_batch_its_caller_no_longer_sees_is_refused():
    from customers.services import customer_create

    user = User.objects.create_user("member", is_staff=True)
    user.groups.add(Group.objects.get(name="Customer operators"))
    _, plain = ApiToken.issue(name="script", user=user)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
    for slug in ("acme", "other"):
        customer_create(slug=slug, name=slug.title()).customer.members.add(user)
    other = Client().post(
        "/upload_batch",
        {"file": SimpleUploadedFile("leads.csv", CSV), "customer": "other"},
        HTTP_IDEMPOTENCY_KEY="k-left",
        **headers,
    )
    assert other.status_code == 201

    user.customers.get(slug="other").members.remove(user)
    again = Client().post(
        "/upload_batch",
        {"file": SimpleUploadedFile("leads.csv", CSV), "customer": "other"},
        HTTP_IDEMPOTENCY_KEY="k-left",
        **headers,
    )

    assert again.status_code == 403
    assert other.json()["batch_id"] not in again.content.decode()
