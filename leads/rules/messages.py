"""Lead statuses and the error codes validation reports, with their human messages."""

from __future__ import annotations

STATUS_VALID = "valid"
STATUS_INVALID = "invalid"

MAX_NAME_LENGTH = 100

# Every built-in code, in the order errors are reported.
ERROR_MESSAGES: dict[str, str] = {
    "row_malformed": "The row has too many or too few cells.",
    "first_name_missing": "First name is missing.",
    "last_name_missing": "Last name is missing.",
    "dob_missing": "Date of birth is missing.",
    "dob_unparseable": "Date of birth is not a valid date in dd/mm/yyyy format.",
    "dob_in_future": "Date of birth is in the future.",
    "under_min_age": "The lead is under the minimum age.",
    "over_max_age": "The lead is over the maximum age.",
    "name_invalid": (
        f"A name has no letters or digits, or is longer than {MAX_NAME_LENGTH} characters."
    ),
    "email_invalid": "Email address is not valid.",
    "phone_invalid": "Phone number is not valid.",
    "postcode_invalid": "Postcode is not a UK postcode.",
    "consent_invalid": (
        "Consent date is not a date in ISO 8601 or dd/mm/yyyy [HH:MM[:SS]] format."
    ),
    "consent_in_future": "Consent date is later than the upload.",
    "consent_missing": "Consent date is missing, and this customer requires one.",
}

# Codes an enrichment rule gives (after validation, so reported after the built-in ones).
ENRICHMENT_MESSAGES: dict[str, str] = {
    "email_disposable": "Email address is at a disposable (throwaway) domain.",
    "phone_tps": "Phone number is registered with the Telephone Preference Service (TPS/CTPS).",
    "suppressed": "The lead is on the suppression list.",
}


def message_for(code: str) -> str:
    """Human message for an error code; a generic one naming the code if it is not built in."""
    message = ERROR_MESSAGES.get(code) or ENRICHMENT_MESSAGES.get(code)
    if message is None:
        return f"Failed validation rule '{code}'."
    return message
