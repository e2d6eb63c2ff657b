"""Lead field names, their aliases and the normal form headers are compared in."""

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Headers shorter than this are too short to tell a typo from another word ("Name" is
# not a misspelt "fname"), so they must match a field name or alias exactly.
MIN_FUZZY_LENGTH = 5
# The most characters a worksheet name or a header keeps: the columns that record them
# (a lead's worksheet, the results' supplier columns) hold no more.
MAX_NAME_CHARS = 255

FIELDS = (
    "first_name",
    "last_name",
    "dob",
    "email",
    "phone",
    "company",
    "website",
    "reference",
    "full_name",
    "postcode",
    "consent_at",
    "consent_source",
    "consent_text",
)
REQUIRED_FIELDS = ("first_name", "last_name", "dob")
# The fields a full name stands in for when the file has neither of them.
NAME_FIELDS = ("first_name", "last_name")
NOT_FUZZY = frozenset({"consent_at"})
# A hint in brackets after a header's name: "Date of Birth (DD/MM/YYYY)", "Phone [mobile]".
_BRACKETED = re.compile(r"[(\[][^)\]]*[)\]]")

DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("First Name", "Firstname", "Forename", "Forenames", "Given Name", "fname"),
    "last_name": ("Last Name", "Surname", "Family Name", "lname"),
    "dob": ("Date of Birth", "DOB", "Birth Date", "Birthday", "Birthdate"),
    "email": ("E-mail", "Email Address", "E-mail Address"),
    "phone": (
        "Phone Number",
        "Mobile",
        "Mobile Number",
        "Telephone",
        "Tel",
        "MobilePhone",
        "Mobile Phone",
        "Mobile Phone Number",
    ),
    "company": ("Company Name", "Organisation", "Organization", "Account Name", "Account"),
    "website": (
        "Website",
        "Web",
        "URL",
        "Domain",
        "Web Site",
        "Website URL",
        "Company Domain Name",
    ),
    "reference": (
        "Lead ID",
        "Reference",
        "Ref",
        "External ID",
        "Record ID",
        "Customer Reference",
    ),
    "full_name": ("Full Name", "Name", "Contact Name", "Person Name"),
    "postcode": ("Postcode", "Post Code", "Postal Code", "Zip", "ZIP Code"),
    "consent_at": ("Consent Date", "Opt-in Date"),
    "consent_source": ("Consent Source", "Opt-in URL"),
    "consent_text": ("Consent Text", "Consent Wording"),
}


@dataclass(frozen=True)
class ColumnMapping:
    """Which column holds which field, for one CSV file or one worksheet."""

    worksheet: str  # "" for CSV
    headers: tuple[str, ...]  # as found in the file
    fields: dict[str, int]  # field -> column index
    matched_by: dict[str, str]  # field -> "exact" | "alias" | "fuzzy:<score>"
    extra: dict[int, str]  # column index -> header, for unknown columns
    row_count: int = 0  # data rows under this header (set once the file has been counted)
    notes: tuple[str, ...] = ()  # what was changed to fit (a name or header cut short)
    profile: str = ""  # the name of the mapping profile that chose the columns, if one did
    # Fields that several columns looked like, settled for now (the first feeds the field,
    # the others are kept as supplier columns): (what was found, the second column's header).
    ambiguous: tuple[tuple[str, str], ...] = ()
    hidden: bool = False  # a worksheet the workbook hides (its rows are read all the same)
    # The header's row number when rows above it were passed over (a title, a row of column
    # groups); 0 when it is the first row that holds anything.
    header_row: int = 0


def normalise_header(text: str) -> str:
    """Case-fold and keep only letters and digits: "E-mail Address" -> "emailaddress"."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def header_keys(found: Sequence[str], table: Mapping[str, tuple[str, str]]) -> list[str]:
    """Each header's normal form; one that names no field is read again without the hints in
    brackets it carries, and is that when it then names a field no other header names
    ("Email" beside "Email (secondary)": the second stays the supplier's own)."""
    keys = [normalise_header(header) for header in found]
    named = {table[key][0] for key in keys if key in table}
    for index, header in enumerate(found):
        if keys[index] not in table and ("(" in header or "[" in header):
            bare = normalise_header(_BRACKETED.sub(" ", header))
            if bare in table and table[bare][0] not in named:
                keys[index] = bare
                named.add(table[bare][0])
    return keys


def fit_name(text: str, *, suffix: str = "") -> str:
    """`text` cut so that, with `suffix`, it has at most MAX_NAME_CHARS characters."""
    return text[: MAX_NAME_CHARS - len(suffix)] + suffix


def column_letter(index: int) -> str:
    """Spreadsheet letter of a 0-based column index: 0 -> "A", 27 -> "AB"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def name_table(aliases: Mapping[str, Sequence[str]] | None) -> dict[str, tuple[str, str]]:
    """Normalised name -> (field, "exact" | "alias")."""
    if aliases is None:
        aliases = DEFAULT_ALIASES
    unknown = set(aliases) - set(FIELDS)
    if unknown:
        raise ValueError(f"aliases for unknown fields: {sorted(unknown)}")
    table = {normalise_header(f): (f, "exact") for f in FIELDS}
    for field_name, names in aliases.items():
        for alias in (names,) if isinstance(names, str) else names:
            key = normalise_header(alias)
            if not key:
                continue
            owner = table.setdefault(key, (field_name, "alias"))[0]
            if owner != field_name:
                raise ValueError(f"alias {alias!r} given for both {owner} and {field_name}")
    return table
