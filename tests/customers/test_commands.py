"""add_customer, rotate_secret and create_api_token."""

import json

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from api.models import ApiToken, token_digest
from customers.models import Customer, Endpoint
from customers.secrets import secret_new

pytestmark = pytest.mark.django_db


def run_json(capsys, *args) -> dict:
    call_command(*args, "--json")
    return json.loads(capsys.readouterr().out)


def test_add_customer_prints_secret_and_endpoints(capsys, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    report = run_json(
        capsys,
        "add_customer",
        "acme",
        "--name",
        "Acme Ltd",
        "--endpoint",
        "https://a.example/hook",
        "--endpoint",
        "https://b.example/hook",
        "--rate-limit",
        "5",
        "--alert-email",
        "ops@acme.example",
        "--max-leads-per-day",
        "1000",
    )
    acme = Customer.objects.get(slug="acme")
    assert report["customer"] == "acme"
    assert report["secret"] == acme.secret and acme.secret.startswith("whsec_")
    assert [e["url"] for e in report["endpoints"]] == [
        "https://a.example/hook",
        "https://b.example/hook",
    ]
    assert {str(e.rate_limit) for e in Endpoint.objects.filter(customer=acme)} == {"5.00"}
    assert (acme.alert_emails, acme.max_leads_per_day) == ("ops@acme.example", 1000)


def test_add_customer_refuses_a_private_endpoint_and_stores_nothing(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(CommandError) as refused:
        call_command("add_customer", "acme", "--name", "A", "--endpoint", "https://10.1.2.3/h")
    assert refused.value.returncode == 1
    assert str(refused.value).startswith("refused: --endpoint URL is refused:")
    assert "WEBHOOK_ALLOW_PRIVATE_NETWORKS=true" in str(refused.value)
    assert not Customer.objects.filter(slug="acme").exists()


def test_rotate_secret_keeps_the_previous_valid(capsys):
    call_command("add_customer", "acme", "--name", "Acme")
    capsys.readouterr()
    old = Customer.objects.get(slug="acme").secret
    report = run_json(capsys, "rotate_secret", "acme")
    acme = Customer.objects.get(slug="acme")
    assert report["secret"] == acme.secret != old
    assert acme.previous_secret == old
    assert report["previous_valid_until"].endswith("Z")


def test_rotate_secret_of_default_refused_while_webhook_secret_set(settings):
    settings.WEBHOOK_SECRET = secret_new()
    with pytest.raises(CommandError) as refused:
        call_command("rotate_secret", "default")
    assert refused.value.returncode == 1
    assert "WEBHOOK_SECRET" in str(refused.value)


def test_rotate_secret_gives_default_its_first_secret(capsys, settings):
    settings.WEBHOOK_SECRET = ""
    report = run_json(capsys, "rotate_secret", "default")
    assert report["previous_valid_until"] is None
    assert Customer.objects.get(slug="default").secret == report["secret"]


def test_create_api_token_scoped_to_a_customer(capsys):
    bot = User.objects.create_user("bot", is_staff=True)
    call_command("add_customer", "acme", "--name", "Acme")
    Customer.objects.get(slug="acme").members.add(bot)
    capsys.readouterr()
    report = run_json(capsys, "create_api_token", "bot", "--customer", "acme")
    token = ApiToken.objects.get(digest=token_digest(report["token"]))
    assert report["customer"] == "acme" == token.customer.slug
    with pytest.raises(CommandError):
        call_command("create_api_token", "bot", "--customer", "nobody")


def test_add_customer_json_names_each_endpoint_by_id_and_keeps_the_open_batches_quota(
    capsys, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    report = run_json(
        capsys,
        "add_customer",
        "acme",
        "--name",
        "Acme",
        "--endpoint",
        "http://127.0.0.1:9/hook",
        "--max-open-batches",
        "3",
    )
    assert set(report) == {"customer", "secret", "endpoints"}
    endpoint = Endpoint.objects.get(customer__slug="acme")
    assert report["endpoints"] == [{"id": endpoint.pk, "url": "http://127.0.0.1:9/hook"}]
    assert Customer.objects.get(slug="acme").max_open_batches == 3


@pytest.mark.parametrize("option", ["--max-leads-per-day", "--max-open-batches", "--rate-limit"])
def test_add_customer_refuses_a_negative_number_and_stores_nothing(option):
    with pytest.raises(CommandError) as refused:
        call_command("add_customer", "acme", "--name", "Acme", option, "-1")
    assert refused.value.returncode == 1
    assert not Customer.objects.filter(slug="acme").exists()


def test_rotate_secret_twice_warns_that_the_older_secret_is_dropped(capsys):
    call_command("add_customer", "acme", "--name", "Acme")
    capsys.readouterr()
    call_command("rotate_secret", "acme", "--json")
    captured = capsys.readouterr()
    first = json.loads(captured.out)
    assert "Warning" not in captured.err  # the first secret had no predecessor to drop
    call_command("rotate_secret", "acme", "--json")
    captured = capsys.readouterr()
    second = json.loads(captured.out)
    assert "Warning" in captured.err
    assert set(second) == {"customer", "secret", "previous_valid_until"}
    acme = Customer.objects.get(slug="acme")
    assert (acme.secret, acme.previous_secret) == (second["secret"], first["secret"])


def test_create_api_token_without_customer_is_unscoped(capsys):
    User.objects.create_user("bot", is_staff=True)
    report = run_json(capsys, "create_api_token", "bot")
    assert report == {"token": report["token"], "customer": None}
    assert ApiToken.objects.get(digest=token_digest(report["token"])).customer is None
    assert not ApiToken.objects.filter(digest=report["token"]).exists()  # only the hash is kept


def test_add_customer_refuses_an_alert_email_that_is_not_an_address(capsys):
    with pytest.raises(CommandError) as refused:
        call_command("add_customer", "acme", "--name", "Acme", "--alert-email", "ops")
    assert refused.value.returncode == 1
    assert "Not an e-mail address: ops" in str(refused.value)
    assert not Customer.objects.filter(slug="acme").exists()


def test_create_api_token_refuses_a_customer_the_user_does_not_act_for():
    User.objects.create_user("bot", is_staff=True)
    call_command("add_customer", "acme", "--name", "Acme")

    with pytest.raises(CommandError, match="does not act for customer 'acme'"):
        call_command("create_api_token", "bot", "--customer", "acme")

    assert not ApiToken.objects.exists()
