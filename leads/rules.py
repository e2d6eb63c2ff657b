"""Lead validation rules: pure Python, no Django at import time.

A lead is identified by ``first.last.ddmmyyyy`` (see :func:`lead_id_for`) and validated by a
list of validator callables (see :data:`DEFAULT_VALIDATORS`), each
``validator(lead: CleanLead, ctx: RuleContext) -> list[str]`` returning error codes.

This runs on every lead of every batch, so the hot path avoids repeated work: regexes are
compiled once, email and phone are parsed once in :func:`clean_lead` (validators read the
outcome from the :class:`CleanLead`), and pure look-ups that repeat across a batch (name parts,
email domains) are memoised with bounded caches.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import email_validator
import phonenumbers
from anyascii import anyascii
from email_validator import EmailNotValidError
from email_validator import validate_email as _ev_validate_email

__all__ = [
    "BUILTIN_VALIDATORS",
    "DEFAULT_VALIDATORS",
    "ERROR_MESSAGES",
    "MAX_NAME_LENGTH",
    "STATUS_INVALID",
    "STATUS_VALID",
    "CleanLead",
    "LeadResult",
    "RuleContext",
    "age_on",
    "clean_lead",
    "clean_website",
    "display_name",
    "format_dob",
    "is_blank",
    "lead_id_for",
    "load_validators",
    "message_for",
    "normalise_email",
    "normalise_name_part",
    "normalise_phone",
    "parse_dob",
    "validate_dob",
    "validate_email",
    "validate_lead",
    "validate_names",
    "validate_phone",
]

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
}

_ERROR_RANK: dict[str, int] = {code: rank for rank, code in enumerate(ERROR_MESSAGES)}
_CUSTOM_RANK = len(_ERROR_RANK)


def message_for(code: str) -> str:
    """Human message for an error code; a generic one naming the code if it is not built in."""
    message = ERROR_MESSAGES.get(code)
    if message is None:
        return f"Failed validation rule '{code}'."
    return message


# --- names -------------------------------------------------------------------------------------

_NAME_STRIP_RE = re.compile(r"[^a-z0-9-]+")


@functools.lru_cache(maxsize=16384)
def _normalise_text(value: str) -> str:
    folded = value.casefold()
    if not folded.isascii():
        # anyascii may produce capitals (e.g. CJK syllables), so fold again.
        folded = anyascii(folded).lower()
    return _NAME_STRIP_RE.sub("", folded)


def normalise_name_part(value: str | None) -> str:
    """Name part as in a lead id: ``"  José "`` -> ``"jose"``, ``"O'Brien"`` -> ``"obrien"``.

    Case-folded, transliterated to ASCII, then stripped of everything but ``a-z``, ``0-9``, ``-``.
    """
    if value is None:
        return ""
    return _normalise_text(value if isinstance(value, str) else str(value))


# Lower-case particles of surnames ("Ludwig van Beethoven", "van der Berg"), kept lower-case
# when another word follows them; "la", "le", "los"... only after one of them ("de la Cruz"),
# since alone they usually start Italian or French surnames (La Rosa, Le Pen).
_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "da", "das", "dos", "du", "ter", "ten", "zu"}
)
_AFTER_PARTICLE = frozenset({"la", "le", "las", "los", "les"})
_NAME_PIECES = re.compile(r"([-'’])")  # hyphens and apostrophes start a new capital


def display_name(value: str) -> str:
    """A name as shown: trimmed, whitespace collapsed, capitals fixed only when all one case.

    ``"  mary-jane "`` -> ``"Mary-Jane"``, ``"O'BRIEN"`` -> ``"O'Brien"``, ``"mcdonald"`` ->
    ``"McDonald"``, ``"VAN DER BERG"`` -> ``"van der Berg"``; ``"DeShawn"`` stays as given.
    """
    text = " ".join(value.split())
    if text.isupper() or text.islower():
        return _recased(text)
    return text


@functools.lru_cache(maxsize=16384)
def _recased(text: str) -> str:
    words = text.lower().split(" ")
    last = len(words) - 1
    shown = []
    after_particle = False
    for index, word in enumerate(words):
        if index < last and (word in _PARTICLES or (after_particle and word in _AFTER_PARTICLE)):
            shown.append(word)
            after_particle = True
            continue
        after_particle = False
        shown.append("".join(_capitalise(piece) for piece in _NAME_PIECES.split(word)))
    return " ".join(shown)


def _capitalise(piece: str) -> str:
    if len(piece) > 2 and piece.startswith("mc"):
        return "Mc" + piece[2:].capitalize()
    return piece.capitalize()


# --- websites ----------------------------------------------------------------------------------

_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*://")


def clean_website(value: str) -> str:
    """The bare domain of a website: ``"https://www.Example.com/about/"`` -> ``"example.com"``.

    Scheme, user, ``www.``, port, path, query and trailing slash go; a value that does not
    look like a web address ("n/a", "none") is only trimmed, so nothing is invented.
    """
    text = value.strip()
    host = _SCHEME_RE.sub("", text.lower()).lstrip("/")
    for separator in "/?#":
        host = host.split(separator, 1)[0]
    host = host.rpartition("@")[2].split(":", 1)[0].strip(".")
    if host.startswith("www."):
        host = host[4:]
    if "." not in host or any(ch.isspace() for ch in host):
        return text
    return host


# --- dates of birth ----------------------------------------------------------------------------

# d/m/yyyy with one separator used consistently: /, - or .
_DMY_RE = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})")
_ISO_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def is_blank(value: object) -> bool:
    """True for None, "" and whitespace-only strings."""
    return value is None or (isinstance(value, str) and (not value or value.isspace()))


def parse_dob(value: object) -> datetime.date | None:
    """Parse a date of birth; None when missing (see :func:`is_blank`) or unparseable.

    Accepts ``dd/mm/yyyy`` and ``d/m/yyyy`` with ``/``, ``-`` or ``.`` as separator, ISO
    ``yyyy-mm-dd``, and ``date``/``datetime`` values. Two-digit years and impossible dates are
    never guessed.
    """
    if type(value) is str:
        return _parse_dob_text(value)
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if not isinstance(value, str):
        return None
    return _parse_dob_text(value)


# Dates of birth repeat across a batch (at most some 40,000 distinct ones in a century), and
# both the split and the chunks parse each row's: cached, a repeat costs a dict look-up.
@functools.lru_cache(maxsize=32768)
def _parse_dob_text(value: str) -> datetime.date | None:
    text = value.strip()
    match = _DMY_RE.fullmatch(text)
    if match is not None:
        day, _, month, year = match.groups()
    else:
        match = _ISO_RE.fullmatch(text)
        if match is None:
            return None
        year, month, day = match.groups()
    try:
        return datetime.date(int(year), int(month), int(day))
    except ValueError:
        return None


def format_dob(d: datetime.date) -> str:
    """``dd/mm/yyyy``."""
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def age_on(dob: datetime.date, today: datetime.date) -> int:
    """Completed years on ``today``; a 29 February birthday falls on 1 March in non-leap years."""
    # Comparing (month, day) tuples gives the 1 March rule for free: (2, 28) < (2, 29) <= (3, 1).
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def lead_id_for(first_name: str | None, last_name: str | None, dob: object) -> str:
    """``first.last.ddmmyyyy``, or "" when a name part normalises to nothing or dob won't parse.

    ``dob`` may be raw (string, date, datetime) or an already parsed date.
    """
    first = normalise_name_part(first_name)
    if not first:
        return ""
    last = normalise_name_part(last_name)
    if not last:
        return ""
    if type(dob) is not datetime.date:
        dob = parse_dob(dob)
        if dob is None:
            return ""
    return f"{first}.{last}.{dob.day:02d}{dob.month:02d}{dob.year:04d}"


# --- context, clean lead, result ---------------------------------------------------------------


@dataclass(frozen=True)
class RuleContext:
    today: datetime.date  # the UTC date of validation
    min_age: int = 18
    max_age: int = 120
    phone_region: str = "GB"


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
    # Outcome of the single email/phone check done by clean_lead(), so validators don't redo it.
    # None means "not checked" (e.g. a CleanLead built by hand): the validator checks itself.
    email_valid: bool | None = field(default=None, compare=False)
    phone_valid: bool | None = field(default=None, compare=False)


@dataclass
class LeadResult:
    status: str  # "valid" | "invalid"
    errors: list[str]  # codes, built-in ones in ERROR_MESSAGES order, custom ones after
    lead: CleanLead
    lead_id: str  # "" when not formable
    dob_display: str  # "dd/mm/yyyy" or "" when no parsed dob


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # spreadsheet numbers: 7911123456.0 -> "7911123456"
    return str(value)


def _collapse(value: object) -> str:
    return " ".join(_as_text(value).split())


# Plain ASCII addresses (dot-atom local part, ASCII hostname): the local part is already in
# normal form, so email_validator's verdict depends only on the domain and the total length.
_ATEXT = r"A-Za-z0-9_!#$%&'*+/=?^`{|}~-"
_SIMPLE_EMAIL_RE = re.compile(rf"([{_ATEXT}]+(?:\.[{_ATEXT}]+)*)@([A-Za-z0-9.-]+)")
_EMAIL_MAX_LENGTH = 254  # email_validator's limit, in UTF-8 bytes, on each form of the address
# Longer local parts take the full path, where email_validator.STRICT decides.
_LOCAL_PART_MAX_LENGTH = 64


@functools.lru_cache(maxsize=8192)
def _domain_check(
    domain: str, test_environment: bool, globally_deliverable: bool
) -> tuple[str, int] | None:
    """email_validator's verdict on a domain: (normalised domain, longest form in bytes) or None."""
    try:
        info = _ev_validate_email(
            "a@" + domain,
            check_deliverability=False,
            test_environment=test_environment,
            globally_deliverable=globally_deliverable,
        )
    except EmailNotValidError:
        return None
    longest = max(len(domain), len(info.domain.encode()), len(info.ascii_domain.encode()))
    return info.domain, longest


def normalise_email(value: str) -> str | None:
    """The lower-cased normalised form of a valid address, None when it is not valid."""
    text = value.strip()
    return _check_email(text) if text else None


def _check_email(text: str) -> str | None:
    """Lower-cased normalised address, or None when email_validator rejects it."""
    match = _SIMPLE_EMAIL_RE.fullmatch(text)
    if match is not None and match.end(1) <= _LOCAL_PART_MAX_LENGTH:
        local, domain = match.groups()
        checked = _domain_check(
            domain, email_validator.TEST_ENVIRONMENT, email_validator.GLOBALLY_DELIVERABLE
        )
        if checked is None or len(local) + 1 + checked[1] > _EMAIL_MAX_LENGTH:
            return None
        return f"{local}@{checked[0]}".lower()
    try:
        return _ev_validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


_E164 = phonenumbers.PhoneNumberFormat.E164
# Most numbers arrive as "07400 100000", "(07400) 100000" or "+44 (0)7400 100000": digits,
# spaces, hyphens and brackets, perhaps a leading "+". phonenumbers.parse() costs two thirds
# of the check on those (it walks every character through Unicode look-ups), and for them
# its result is known without it.
_PLAIN_PHONE_RE = re.compile(r"(\+?)([0-9 ()-]+)")
_SEPARATORS = str.maketrans("", "", " ()-")
_MAX_PHONE_INPUT = 250  # phonenumbers refuses longer input before looking at it


@dataclass(frozen=True)
class _PlainPhoneRules:
    """What the shortcut needs of a region's phonenumbers metadata, compiled once."""

    code: str
    is_main: bool  # the main region of its country code (GB for 44, not JE)
    international_prefix: re.Pattern | None
    # The national prefix, for numbers written nationally and (by the main region's
    # metadata, as parse() reads them) for numbers written with "+".
    national_prefix: re.Pattern | None
    main_national_prefix: re.Pattern | None
    local_only: frozenset[int]  # lengths parse() will not strip a national prefix down to
    general: tuple[re.Pattern, frozenset[int]]
    types: tuple[tuple[re.Pattern, frozenset[int]], ...]

    def is_valid(self, national: str) -> bool:
        """phonenumbers' is_valid_number_for_region() for a number of this region's code.

        The library's rule (the general pattern, then a number type's) with the types tried
        mobile first, where its own order walks eight rarer types before it: a fifth of the
        cost for the numbers leads carry. A pattern counts only at a length it allows.
        """
        length = len(national)
        pattern, lengths = self.general
        if (lengths and length not in lengths) or not pattern.fullmatch(national):
            return False
        return any(
            (not allowed or length in allowed) and type_pattern.fullmatch(national)
            for type_pattern, allowed in self.types
        )


@functools.lru_cache(maxsize=64)
def _plain_phone_rules(region: str) -> _PlainPhoneRules | None:
    if region not in phonenumbers.SUPPORTED_REGIONS:  # as parse() sees it: "gb" is not GB
        return None
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata.national_prefix_transform_rule:
        return None
    descs = [metadata.mobile, metadata.fixed_line]
    if metadata.same_mobile_and_fixed_line_pattern:
        descs = [metadata.fixed_line]  # the library then never tries mobile on its own
    descs += [
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
    ]
    code = metadata.country_code
    main_region = phonenumbers.region_code_for_country_code(code)
    main = phonenumbers.PhoneMetadata.metadata_for_region(main_region)
    return _PlainPhoneRules(
        code=str(code),
        is_main=main_region == region,
        international_prefix=_compiled(metadata.international_prefix),
        national_prefix=_compiled(metadata.national_prefix_for_parsing),
        main_national_prefix=_compiled(main.national_prefix_for_parsing),
        local_only=frozenset(metadata.general_desc.possible_length_local_only or ()),
        general=_compiled_desc(metadata.general_desc),
        types=tuple(
            _compiled_desc(desc) for desc in descs if desc and desc.national_number_pattern
        ),
    )


def _compiled(pattern: str | None) -> re.Pattern | None:
    return re.compile(pattern) if pattern else None


def _compiled_desc(desc) -> tuple[re.Pattern, frozenset[int]]:
    # A pattern-less general description matches nothing (as in the library).
    return re.compile(desc.national_number_pattern or "(?!)"), frozenset(desc.possible_length)


def _plain_national_number(text: str, region: str) -> tuple[str, str] | None:
    """(country code, national number) that parse() would give `text`, when that is sure.

    Only for digits and separators, written either as "+" and the region's own country code
    or as a national number, which may start with the region's national prefix. Never for
    a number that could hold an international prefix, a carrier code or a leading zero.
    The caller accepts the result only when the number is valid for the region by
    phonenumbers' rules, and parse() strips a national prefix exactly when what remains is
    a valid (so possible, and not local-only) number: then this is the number parse() gives.
    Anything else returns None and goes through parse().
    """
    match = _PLAIN_PHONE_RE.fullmatch(text)
    rules = _plain_phone_rules(region)
    if match is None or rules is None or len(text) > _MAX_PHONE_INPUT:
        return None
    code = rules.code
    plus, digits = match.groups()
    digits = digits.translate(_SEPARATORS)
    if plus:
        # Calling codes are prefix-free: parse() reads the same one, and then the rest
        # with its main region's metadata (this region's only when it is the main one).
        if not digits.startswith(code):
            return None
        digits, national_prefix = digits[len(code) :], rules.main_national_prefix
    else:
        idd = rules.international_prefix
        if digits.startswith(code) or (idd is not None and idd.match(digits)):
            return None
        national_prefix = rules.national_prefix
    prefix = national_prefix.match(digits) if national_prefix is not None else None
    if prefix is not None:
        if prefix.lastindex or (plus and not rules.is_main):
            return None
        digits = digits[prefix.end() :]
        if len(digits) in rules.local_only:
            return None
    if not digits or digits[0] == "0":
        return None
    return code, digits


@functools.lru_cache(maxsize=4096)
def _check_phone(text: str, region: str) -> str | None:
    """E.164 form, or None when the number does not parse or is not a valid number."""
    plain = _plain_national_number(text, region)
    if plain is not None:
        code, national = plain
        if _plain_phone_rules(region).is_valid(national):
            return f"+{code}{national}"
    return _parsed_phone(text, region)


def _parsed_phone(text: str, region: str) -> str | None:
    """_check_phone() through phonenumbers.parse(), for any input."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    # Valid for the default region implies is_valid_number (that region is tried first for
    # its country code), at half the cost; anything else gets the full check.
    if not (
        phonenumbers.is_valid_number_for_region(number, region)
        or phonenumbers.is_valid_number(number)
    ):
        return None
    return phonenumbers.format_number(number, _E164)


def normalise_phone(value: str, region: str) -> str | None:
    """The E.164 form of a valid number (national numbers read in `region`), else None."""
    text = value.strip()
    return _check_phone(text, region) if text else None


def clean_lead(
    fields: Mapping[str, object], *, malformed: bool = False, ctx: RuleContext
) -> CleanLead:
    """Normalise raw fields: first_name, last_name, dob, email, phone, company (any may be absent).

    Email and phone are checked here, once; the outcome is kept on the CleanLead.
    """
    get = fields.get
    dob_raw = get("dob")

    email = _as_text(get("email")).strip()
    email_valid = None
    if email:
        normalised = _check_email(email)
        email_valid = normalised is not None
        if normalised is not None:
            email = normalised

    phone = _as_text(get("phone")).strip()
    phone_valid = None
    if phone:
        e164 = _check_phone(phone, ctx.phone_region)
        phone_valid = e164 is not None
        if e164 is not None:
            phone = e164

    return CleanLead(
        first_name=display_name(_as_text(get("first_name"))),
        last_name=display_name(_as_text(get("last_name"))),
        dob_raw=dob_raw,
        dob=parse_dob(dob_raw),
        email=email,
        phone=phone,
        company=_collapse(get("company")),
        malformed=malformed,
        email_valid=email_valid,
        phone_valid=phone_valid,
    )


# --- validators --------------------------------------------------------------------------------


def _name_ok(name: str) -> bool:
    return len(name) <= MAX_NAME_LENGTH and bool(normalise_name_part(name))


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
        valid = _check_email(lead.email.strip()) is not None
    return [] if valid else ["email_invalid"]


def validate_phone(lead: CleanLead, ctx: RuleContext) -> list[str]:
    """phone_invalid when a phone is present and is not a valid number (default region from ctx)."""
    if not lead.phone:
        return []
    valid = lead.phone_valid
    if valid is None:
        valid = _check_phone(lead.phone.strip(), ctx.phone_region) is not None
    return [] if valid else ["phone_invalid"]


Validator = Callable[[CleanLead, RuleContext], Iterable[str]]

BUILTIN_VALIDATORS: tuple[Validator, ...] = (
    validate_names,
    validate_dob,
    validate_email,
    validate_phone,
)

# Dotted paths of BUILTIN_VALIDATORS, for settings (like AUTH_PASSWORD_VALIDATORS).
DEFAULT_VALIDATORS: tuple[str, ...] = (
    "leads.rules.validate_names",
    "leads.rules.validate_dob",
    "leads.rules.validate_email",
    "leads.rules.validate_phone",
)


@functools.lru_cache(maxsize=32)
def _import_validators(paths: tuple[str, ...]) -> tuple[Validator, ...]:
    from django.utils.module_loading import import_string

    return tuple(import_string(path) for path in paths)


def load_validators(paths: Sequence[str]) -> tuple[Validator, ...]:
    """Import validators from dotted paths (cached per tuple of paths)."""
    return _import_validators(tuple(paths))


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
    dob = lead.dob
    return LeadResult(
        status=STATUS_INVALID if errors else STATUS_VALID,
        errors=errors,
        lead=lead,
        lead_id=lead_id_for(lead.first_name, lead.last_name, dob) if dob is not None else "",
        dob_display=format_dob(dob) if dob is not None else "",
    )
