"""Validators: the built-in rules, those named in settings, and validating a lead with them.

A validator is ``validator(lead: CleanLead, ctx: RuleContext) -> list[str]`` returning error
codes; a deployment names its list in settings, like ``AUTH_PASSWORD_VALIDATORS``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from leads.rules.cells import is_blank
from leads.rules.cleaning import CleanLead, RuleContext, clean_lead
from leads.rules.dates import age_on, format_dob
from leads.rules.emails import check_email
from leads.rules.lead_id import lead_id_for
from leads.rules.messages import ERROR_MESSAGES, MAX_NAME_LENGTH, STATUS_INVALID, STATUS_VALID
from leads.rules.names import normalise_name_part
from leads.rules.phones import check_phone
from leads.rules.postcodes import normalise_postcode


def _name_ok(name: str) -> bool:
    # Both as given and as in the lead id, which transliteration can make longer.
    return len(name) <= MAX_NAME_LENGTH and 0 < len(normalise_name_part(name)) <= MAX_NAME_LENGTH


def validate_names(lead: CleanLead, ctx: RuleContext) -> list[str]:
    """first_name_missing / last_name_missing, name_invalid for a name that is present but has
    nothing left after normalisation or is longer than MAX_NAME_LENGTH characters."""
    errors = []
    invalid = False
    if is_blank(lead.first_name):
        errors.append("first_name_missing")
    elif not _name_ok(lead.first_name):
        invalid = True
    if is_blank(lead.last_name):
        errors.append("last_name_missing")
    elif not _name_ok(lead.last_name):
        invalid = True
    if invalid:
        errors.append("name_invalid")
    return errors


def validate_dob(lead: CleanLead, ctx: RuleContext) -> list[str]:
    """dob_missing, dob_unparseable, dob_in_future (no age codes then), under/over age."""
    dob = lead.dob
    if dob is None:
        return ["dob_missing" if is_blank(lead.dob_raw) else "dob_unparseable"]
    if dob > ctx.today:
        return ["dob_in_future"]
    age = age_on(dob, ctx.today)
    if age < ctx.min_age:
        return ["under_min_age"]
    if age > ctx.max_age:
        return ["over_max_age"]
    return []


def validate_email(lead: CleanLead, ctx: RuleContext) -> list[str]:
    """email_invalid when an email is present and email_validator rejects it."""
    if not lead.email:
        return []
    valid = lead.email_valid
    if valid is None:
        valid = check_email(lead.email.strip()) is not None
    return [] if valid else ["email_invalid"]


def validate_phone(lead: CleanLead, ctx: RuleContext) -> list[str]:
    """phone_invalid when a phone is present and is not a valid number (default region from ctx)."""
    if not lead.phone:
        return []
    valid = lead.phone_valid
    if valid is None:
        valid = check_phone(lead.phone.strip(), ctx.phone_region) is not None
    return [] if valid else ["phone_invalid"]


def validate_postcode(lead: CleanLead, ctx: RuleContext) -> list[str]:
    """postcode_invalid when a postcode is present and is not a UK postcode's format."""
    if not lead.postcode or normalise_postcode(lead.postcode) is not None:
        return []
    return ["postcode_invalid"]


def validate_consent(lead: CleanLead, ctx: RuleContext) -> list[str]:
    """consent_invalid (unreadable), consent_in_future (after the upload), consent_missing
    (none readable when ctx.consent_required)."""
    at = lead.consent_at
    if at is None:
        given = not is_blank(lead.consent_raw)
        if given:
            return (
                ["consent_invalid", "consent_missing"]
                if ctx.consent_required
                else ["consent_invalid"]
            )
        return ["consent_missing"] if ctx.consent_required else []
    if ctx.uploaded_at is not None and at > ctx.uploaded_at:
        return ["consent_in_future"]
    return []


Validator = Callable[[CleanLead, RuleContext], Iterable[str]]

BUILTIN_VALIDATORS: tuple[Validator, ...] = (
    validate_names,
    validate_dob,
    validate_email,
    validate_phone,
    validate_postcode,
    validate_consent,
)

# Dotted paths of BUILTIN_VALIDATORS, for settings (like AUTH_PASSWORD_VALIDATORS); the
# package re-exports them, so these paths stay the ones deployments already name.
DEFAULT_VALIDATORS: tuple[str, ...] = (
    "leads.rules.validate_names",
    "leads.rules.validate_dob",
    "leads.rules.validate_email",
    "leads.rules.validate_phone",
    "leads.rules.validate_postcode",
    "leads.rules.validate_consent",
)


@functools.lru_cache(maxsize=32)
def _import_validators(paths: tuple[str, ...]) -> tuple[Validator, ...]:
    # Imported here so that the rules load without Django.
    from django.utils.module_loading import import_string

    return tuple(import_string(path) for path in paths)


def load_validators(paths: Sequence[str]) -> tuple[Validator, ...]:
    """Import validators from dotted paths (cached per tuple of paths)."""
    return _import_validators(tuple(paths))


@dataclass
class LeadResult:
    status: str  # "valid" | "invalid"
    errors: list[str]  # codes, built-in ones in ERROR_MESSAGES order, custom ones after
    lead: CleanLead

    # Worked out when asked: the pipeline formed the lead id at split time already, and
    # these ran for every row of every chunk otherwise.
    @cached_property
    def lead_id(self) -> str:
        """``first.last.ddmmyyyy``; "" when not formable."""
        dob = self.lead.dob
        return (
            lead_id_for(self.lead.first_name, self.lead.last_name, dob) if dob is not None else ""
        )

    @cached_property
    def dob_display(self) -> str:
        """``dd/mm/yyyy``, or "" when no date of birth was read."""
        return format_dob(self.lead.dob) if self.lead.dob is not None else ""


_ERROR_RANK: dict[str, int] = {code: rank for rank, code in enumerate(ERROR_MESSAGES)}
_CUSTOM_RANK = len(_ERROR_RANK)


def _error_rank(code: str) -> int:
    return _ERROR_RANK.get(code, _CUSTOM_RANK)


def validate_lead(
    fields: Mapping[str, object],
    *,
    ctx: RuleContext,
    validators: Sequence[Validator] | None = None,
    malformed: bool = False,
) -> LeadResult:
    """Clean and validate one lead. ``validators=None`` runs the built-in validators."""
    lead = clean_lead(fields, malformed=malformed, ctx=ctx)
    codes: dict[str, None] = {"row_malformed": None} if lead.malformed else {}
    for validator in BUILTIN_VALIDATORS if validators is None else validators:
        for code in validator(lead, ctx) or ():
            codes[code] = None
    errors = sorted(codes, key=_error_rank) if len(codes) > 1 else list(codes)
    return LeadResult(status=STATUS_INVALID if errors else STATUS_VALID, errors=errors, lead=lead)
