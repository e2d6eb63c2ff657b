"""Cleaning a lead: raw cells in, the normalised CleanLead that validators read out."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

from leads.rules.cells import as_text, collapsed, given
from leads.rules.consent import parse_consent_at
from leads.rules.dates import parse_dob
from leads.rules.emails import check_email
from leads.rules.names import display_name, without_title
from leads.rules.phones import check_phone


@dataclass(frozen=True)
class RuleContext:
    today: datetime.date  # the UTC date of validation
    min_age: int = 18
    max_age: int = 120
    phone_region: str = "GB"
    uploaded_at: datetime.datetime | None = None  # a consent later than this is in the future
    time_zone: str = "Europe/London"  # what a consent date without an offset is local to
    consent_required: bool = False


@dataclass
class CleanLead:
    """What validators see; built by :func:`clean_lead`."""

    first_name: str  # see display_name(): trimmed, collapsed, capitals fixed if all one case
    last_name: str
    dob_raw: object  # as given
    dob: datetime.date | None
    email: str  # "" when absent; lower-cased normalised form when valid, trimmed original if not
    phone: str  # "" when absent; E.164 when valid, trimmed original when invalid
    company: str  # trimmed, whitespace collapsed
    malformed: bool = False
    postcode: str = ""  # as stored: normalised when it is a postcode (postcodes.postcode_text)
    consent_raw: object = None  # the consent date as given
    consent_at: datetime.datetime | None = None  # read from consent_raw, in UTC
    # Outcome of the single email/phone check done by clean_lead(), so validators don't redo it.
    # None means "not checked" (e.g. a CleanLead built by hand): the validator checks itself.
    email_valid: bool | None = field(default=None, compare=False)
    phone_valid: bool | None = field(default=None, compare=False)


def clean_lead(
    fields: Mapping[str, object], *, malformed: bool = False, ctx: RuleContext
) -> CleanLead:
    """Normalise raw fields: first_name, last_name, dob, email, phone, company, postcode,
    consent_at (any may be absent).

    Email and phone are checked here, once; the outcome is kept on the CleanLead.
    """
    get = fields.get
    dob_raw = get("dob")

    email = given(as_text(get("email")).strip())
    email_valid = None
    if email:
        normalised = check_email(email)
        email_valid = normalised is not None
        if normalised is not None:
            email = normalised

    phone = given(as_text(get("phone")).strip())
    phone_valid = None
    if phone:
        e164 = check_phone(phone, ctx.phone_region)
        phone_valid = e164 is not None
        if e164 is not None:
            phone = e164

    consent_raw = get("consent_at")
    return CleanLead(
        first_name=given(without_title(display_name(as_text(get("first_name"))))),
        last_name=given(display_name(as_text(get("last_name")))),
        dob_raw=dob_raw,
        dob=parse_dob(dob_raw),
        email=email,
        phone=phone,
        company=collapsed(get("company")),
        malformed=malformed,
        postcode=collapsed(get("postcode")),
        consent_raw=consent_raw,
        consent_at=parse_consent_at(consent_raw, ctx.time_zone),
        email_valid=email_valid,
        phone_valid=phone_valid,
    )
