"""Lead rules: pure Python, no Django at import time; one module per job, re-exported here.

A lead is identified by ``first.last.ddmmyyyy`` (:mod:`~leads.rules.lead_id`), cleaned into a
:class:`CleanLead` (:mod:`~leads.rules.cleaning`) and validated by a list of validator callables
(:mod:`~leads.rules.validators`), each ``validator(lead: CleanLead, ctx: RuleContext) ->
list[str]`` returning error codes (:mod:`~leads.rules.messages`).

This runs on every lead of every batch, so the hot path avoids repeated work: regexes are
compiled once, email and phone are parsed once in :func:`clean_lead` (validators read the
outcome from the :class:`CleanLead`), and pure look-ups that repeat across a batch (name parts,
email domains) are memoised with bounded caches.
"""

from leads.rules.cells import PLACEHOLDERS, is_blank
from leads.rules.cleaning import CleanLead, RuleContext, clean_lead
from leads.rules.consent import parse_consent_at
from leads.rules.dates import age_on, dob_text, format_dob, parse_dob
from leads.rules.emails import normalise_email
from leads.rules.full_names import split_full_name
from leads.rules.lead_id import lead_id_for
from leads.rules.messages import (
    ERROR_MESSAGES,
    MAX_NAME_LENGTH,
    STATUS_INVALID,
    STATUS_VALID,
    message_for,
)
from leads.rules.names import display_name, normalise_name_part, without_title
from leads.rules.phones import normalise_phone
from leads.rules.postcodes import normalise_postcode, postcode_text
from leads.rules.validators import (
    BUILTIN_VALIDATORS,
    DEFAULT_VALIDATORS,
    LeadResult,
    Validator,
    load_validators,
    validate_consent,
    validate_dob,
    validate_email,
    validate_lead,
    validate_names,
    validate_phone,
    validate_postcode,
)
from leads.rules.websites import clean_website

__all__ = [
    "BUILTIN_VALIDATORS",
    "DEFAULT_VALIDATORS",
    "ERROR_MESSAGES",
    "MAX_NAME_LENGTH",
    "PLACEHOLDERS",
    "STATUS_INVALID",
    "STATUS_VALID",
    "CleanLead",
    "LeadResult",
    "RuleContext",
    "Validator",
    "age_on",
    "clean_lead",
    "clean_website",
    "display_name",
    "dob_text",
    "format_dob",
    "is_blank",
    "lead_id_for",
    "load_validators",
    "message_for",
    "normalise_email",
    "normalise_name_part",
    "normalise_phone",
    "normalise_postcode",
    "parse_consent_at",
    "parse_dob",
    "postcode_text",
    "split_full_name",
    "validate_consent",
    "validate_dob",
    "validate_email",
    "validate_lead",
    "validate_names",
    "validate_phone",
    "validate_postcode",
    "without_title",
]
