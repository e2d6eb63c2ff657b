"""The offline enrichment steps, the runner that batches them, and their CSV cells."""

import datetime
import json

import pytest

from leads.enrichment import (
    DEFAULT_ENRICHERS,
    CompanyEnricher,
    EmailEnricher,
    EnrichContext,
    EnrichLead,
    PhoneEnricher,
    company_domain,
    email_facts,
    enrich_leads,
    enrichment_values,
    load_enrichers,
    phone_type,
)
from tests.envsettings import settings_from_env


def lead(email="", phone="", website=""):
    return EnrichLead(email=email, phone=phone, website=website)


def test_settings_defaults_are_the_built_in_steps_offline():
    settings = settings_from_env()

    assert list(DEFAULT_ENRICHERS) == settings.LEAD_ENRICHERS
    assert [step.name for step in load_enrichers(settings.LEAD_ENRICHERS)] == [
        "email",
        "company",
        "phone",
        "company_provider",
    ]
    assert settings.ENRICH_BATCH_SIZE == 20
    assert settings.ENRICH_EMAIL_MX is False
    assert settings.ENRICH_REJECT_DISPOSABLE is False


def test_enrichment_settings_are_read_from_the_environment():
    settings = settings_from_env(
        LEAD_ENRICHERS="leads.enrichment.PhoneEnricher",
        ENRICH_BATCH_SIZE="5",
        ENRICH_EMAIL_MX="true",
        ENRICH_REJECT_DISPOSABLE="true",
    )

    assert settings.LEAD_ENRICHERS == ["leads.enrichment.PhoneEnricher"]
    assert (settings.ENRICH_BATCH_SIZE, settings.ENRICH_EMAIL_MX) == (5, True)
    assert settings.ENRICH_REJECT_DISPOSABLE is True


@pytest.mark.parametrize(
    ("address", "disposable", "role", "free"),
    [
        ("jane.doe@acme.co.uk", False, False, False),
        ("jane@mailinator.com", True, False, False),
        ("x@sub.mailinator.com", True, False, False),
        ("info@acme.co.uk", False, True, False),
        ("no-reply@acme.co.uk", False, True, False),
        ("sales+leads@acme.co.uk", False, True, False),
        ("salesman@acme.co.uk", False, False, False),
        ("jane@gmail.com", False, False, True),
        ("jane@hotmail.co.uk", False, False, True),
        ("jane@btinternet.com", False, False, True),
        ("support@yahoo.co.uk", False, True, True),
        ("jean@hotmail.fr", False, False, True),
        ("hans@web.de", False, False, True),
        ("ivan@yandex.ru", False, False, True),
        ("li@qq.com", False, False, True),
    ],
)
def test_email_facts(address, disposable, role, free):
    facts = email_facts(address)

    assert (facts["disposable"], facts["role"], facts["free"]) == (disposable, role, free)
    assert facts["status"] == "ok"
    assert facts["mx"] is None


@pytest.mark.parametrize(
    ("address", "suggestion"),
    [
        ("john@gmial.com", "john@gmail.com"),
        ("john@gmail.con", "john@gmail.com"),
        ("tia@hotmial.co.uk", "tia@hotmail.co.uk"),
        ("tia@yaho.co.uk", "tia@yahoo.co.uk"),
        ("tia@outlok.com", "tia@outlook.com"),
        ("tia@btinternt.com", "tia@btinternet.com"),
        # Known providers and real domains far from every popular one: no suggestion.
        ("tia@gmail.com", None),
        ("tia@mail.com", None),
        ("tia@me.com", None),
        ("tia@acme.com", None),
        ("tia@example.co.uk", None),
        ("tia@gmx.de", None),
    ],
)
def test_email_suggestion_is_the_whole_corrected_address_and_conservative(address, suggestion):
    assert email_facts(address)["suggestion"] == suggestion


def test_email_step_skips_a_lead_without_email_and_reads_mx_from_the_context():
    ctx = EnrichContext(mx={"acme.com": True, "nomail.example": False})

    results = EmailEnricher()(
        [lead(email="a@acme.com"), lead(), lead(email="b@nomail.example"), lead(email="c@x.org")],
        ctx,
    )

    assert [r.get("mx") for r in results] == [True, None, False, None]
    assert results[1] == {
        "status": "skipped",
        "reason": "no_email",
        "disposable": None,
        "role": None,
        "free": None,
        "suggestion": None,
        "mx": None,
    }


@pytest.mark.parametrize(
    ("website", "email", "expected"),
    [
        ("shop.example.co.uk", "jane@gmail.com", ("example.co.uk", "website")),
        ("example.com", "jane@other.org", ("example.com", "website")),
        ("", "jane@mail.acme.co.uk", ("acme.co.uk", "email")),
        ("n/a", "jane@acme.com", ("acme.com", "email")),
        ("", "jane@gmail.com", None),
        ("", "jane@hotmail.co.uk", None),
        ("", "jane@mailinator.com", None),
        ("", "", None),
        ("localhost", "", None),
        ("gmail.com", "jane@acme.com", ("acme.com", "email")),
        ("mailinator.com", "", None),
        # A mistyped free-mail domain is no company's, whatever its suffix.
        ("", "tom@yaho.co.uk", None),
        ("", "john@gmial.com", None),
        ("acme.com", "tom@yaho.co.uk", ("acme.com", "website")),
    ],
)
def test_company_domain_from_website_else_a_work_email(website, email, expected):
    assert company_domain(website=website, email=email) == expected


def test_company_step_results():
    results = CompanyEnricher()(
        [lead(website="www.acme.co.uk"), lead(email="a@gmail.com")], EnrichContext()
    )

    assert results == [
        {"status": "ok", "domain": "acme.co.uk", "from": "website"},
        {"status": "skipped", "reason": "no_domain", "domain": None, "from": None},
    ]


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("+447911123456", "mobile"),
        ("+442079460000", "fixed_line"),
        ("+449098790000", "premium_rate"),
        ("+448000288888", "toll_free"),
        ("+445601234567", "voip"),
        ("+12015550123", "fixed_line_or_mobile"),
    ],
)
def test_phone_type(number, kind):
    assert phone_type(number) == kind


def test_phone_step_skips_a_lead_without_a_valid_phone():
    results = PhoneEnricher()([lead(phone="+447911123456"), lead()], EnrichContext())

    assert results == [
        {"status": "ok", "type": "mobile", "tps": None, "screened_at": None},
        {"status": "skipped", "reason": "no_phone", "type": None, "tps": None, "screened_at": None},
    ]


class Recorder:
    name = "recorder"

    def __init__(self):
        self.sizes = []

    def __call__(self, leads, ctx):
        self.sizes.append(len(leads))
        if any(x.email == "boom@acme.com" for x in leads):
            raise RuntimeError("provider exploded")
        return [{"status": "ok"} for _ in leads]


def test_runner_batches_and_a_failing_batch_is_failed_for_its_leads_only():
    recorder = Recorder()
    leads = [lead(email=f"p{i}@acme.com") for i in range(7)]
    leads[5] = lead(email="boom@acme.com")

    results = enrich_leads(
        leads, enrichers=[recorder, PhoneEnricher()], ctx=EnrichContext(), batch_size=3
    )

    assert recorder.sizes == [3, 3, 1]
    statuses = [r["recorder"]["status"] for r in results]
    assert statuses == ["ok", "ok", "ok", "failed", "failed", "failed", "ok"]
    assert results[4]["recorder"]["reason"] == "RuntimeError: provider exploded"
    assert all(r["phone"]["status"] == "skipped" for r in results), "later steps still run"


def test_a_failed_built_in_step_still_carries_its_keys_as_null():
    class BrokenEmail(EmailEnricher):
        def __call__(self, leads, ctx):
            raise RuntimeError("list unreadable")

    (result,) = enrich_leads(
        [lead(email="a@acme.com")], enrichers=[BrokenEmail()], ctx=EnrichContext(), batch_size=20
    )

    assert result["email"] == {
        "status": "failed",
        "reason": "RuntimeError: list unreadable",
        "disposable": None,
        "role": None,
        "free": None,
        "suggestion": None,
        "mx": None,
    }


@pytest.mark.parametrize(
    "answer",
    [None, "ok", {"status": "ok", "seen": datetime.date(2026, 1, 1)}, {"score": float("nan")}],
)
def test_a_step_answering_what_cannot_be_stored_is_failed_and_later_steps_run(answer):
    def odd(leads, ctx):
        return [answer for _ in leads]

    odd.name = "odd"

    (result,) = enrich_leads(
        [lead(phone="+447911123456")],
        enrichers=[odd, PhoneEnricher()],
        ctx=EnrichContext(),
        batch_size=20,
    )

    assert result["odd"]["status"] == "failed"
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    assert result["phone"]["type"] == "mobile"


def test_a_step_answering_for_the_wrong_number_of_leads_is_failed():
    def short(leads, ctx):
        return []

    short.name = "short"

    (result,) = enrich_leads([lead()], enrichers=[short], ctx=EnrichContext(), batch_size=20)

    assert result["short"]["status"] == "failed"


def test_results_values_of_an_enrichment():
    cells = enrichment_values(
        {
            "email": email_facts("info@gmial.com"),
            "company": {"status": "skipped", "reason": "no_domain"},
            "phone": {
                "status": "ok",
                "type": "mobile",
                "tps": True,
                "screened_at": "2026-11-30T00:00:00Z",
            },
        }
    )

    assert cells == {
        "email_disposable": True,
        "email_role": True,
        "email_free": False,
        "email_suggestion": "info@gmail.com",
        "phone_type": "mobile",
        "phone_tps": True,
        "tps_screened_at": "2026-11-30T00:00:00Z",
    }
    assert enrichment_values({}) == enrichment_values(None) == {}
    assert enrichment_values({"email": {"status": "failed", "reason": "x"}}) == {}


def _library_phone_type(e164):
    import phonenumbers

    number = phonenumbers.parse(e164, None)
    return phonenumbers.PhoneNumberType.to_string(phonenumbers.number_type(number)).lower()


def test_phone_type_is_phonenumbers_own_answer_for_many_numbers():
    """The compiled shortcut gives the library's type, across regions and number ranges."""
    import random

    import phonenumbers

    rng = random.Random(7)
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.VOIP,
            phonenumbers.PhoneNumberType.TOLL_FREE,
            phonenumbers.PhoneNumberType.PREMIUM_RATE,
        ):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.append(phonenumbers.format_number(example, 0))
    for _ in range(3000):  # UK numbers of every leading digit and length
        length = rng.choice((9, 10, 10, 10))
        numbers.append(
            "+44"
            + str(rng.randint(1, 9))
            + str(rng.randrange(10 ** (length - 1))).zfill(length - 1)
        )
    numbers += ["+447911123456", "+447797123456", "+441534123456", "+390612345678", "+12015550123"]

    assert [phone_type(n) for n in numbers] == [_library_phone_type(n) for n in numbers]


def test_phone_step_skips_a_value_that_is_not_a_number():
    results = PhoneEnricher()([lead(phone="+call me"), lead(phone="+44 (0)7911")], EnrichContext())

    assert [r["status"] for r in results] == ["skipped", "ok"]


# Run in a fresh interpreter: the suffix list and the domain lists are loaded on first use,
# which in this process earlier tests have already done.
_OFFLINE_SCRIPT = """
import json, socket

attempts = []

def refuse(*args, **kwargs):
    attempts.append(repr(args[:2]))
    raise OSError("network refused by the test")

socket.getaddrinfo = refuse
socket.create_connection = refuse
socket.socket.connect = refuse

import django

django.setup()
from leads.enrichment import (
    DEFAULT_ENRICHERS, EnrichContext, EnrichLead, enrich_leads, load_enrichers,
)

leads = [
    EnrichLead(email="jo@gmial.com", phone="+447911123456", website="shop.acme.co.uk"),
    EnrichLead(email="sales@mail.widgets.com.au", phone="+442079460000", website=""),
]
results = enrich_leads(
    leads, enrichers=load_enrichers(DEFAULT_ENRICHERS), ctx=EnrichContext(), batch_size=20
)
print(json.dumps({"attempts": attempts, "results": results}))
"""


def test_the_built_in_steps_never_touch_the_network():
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "valify.settings"}
    done = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])

    assert out["attempts"] == []
    first, second = out["results"]
    assert [first[step]["status"] for step in ("email", "company", "phone")] == ["ok"] * 3
    assert first["email"]["suggestion"] == "jo@gmail.com"
    assert first["company"]["domain"] == "acme.co.uk"
    assert (second["company"]["domain"], second["company"]["from"]) == ("widgets.com.au", "email")
    assert second["email"]["role"] is True
