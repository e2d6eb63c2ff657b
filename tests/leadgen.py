"""Realistic generated leads with a known mix of outcomes, for integration tests and benchmarks."""

import csv
import io
import random
from dataclasses import dataclass

FIRST = [
    "John",
    "Jane",
    "José",
    "Zoë",
    "Siobhán",
    "Seán",
    "Mary-Jane",
    "Łukasz",
    "Amélie",
    "Björn",
    "Chloé",
    "Oliver",
    "Amelia",
    "Noah",
    "Isla",
    "Renée",
    "François",
    "Aoife",
    "Nuño",
    "Ada",
]
LAST = [
    "Smith",
    "O'Brien",
    "Núñez",
    "Van der Berg",
    "Strauß",
    "McDonald",
    "D'Arcy",
    "Jones",
    "Müller",
    "García",
    "Ó Briain",
    "Taylor",
    "Brown",
    "Wilson",
    "Davies",
    "Évans",
    "Li",
    "Khan",
]
DOMAINS = ["example.com", "example.co.uk", "mail.example.org"]


# The other fields under their own names, and five columns that feed no field.
MORE_FIELDS = ("reference", "postcode", "consent_at", "consent_source", "consent_text", "website")
SUPPLIER_COLUMNS = ("Campaign", "Channel", "Agent", "Notes", "Score")
CONSENT_TEXT = (
    "I agree that Example Leads Ltd and its partners may contact me by phone, e-mail and "
    "text about insurance and energy offers. I can withdraw my consent at any time."
)


def more_fields(i: int) -> list[str]:
    """Reference, postcode, consent date, source and text, and website of lead i."""
    postcode = f"M{1 + i % 60} {i % 10}{'ABDEFGHJLNPQRSTUWXYZ'[i % 20]}{'TQX'[i % 3]}"
    consent = (
        f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z"
        if i % 2
        else f"{1 + i % 28:02d}/{1 + i % 12:02d}/2025 {i % 24:02d}:{i % 60:02d}"
    )
    return [
        f"SUP-{i:07d}",
        postcode.lower() if i % 4 == 0 else postcode,
        consent,
        f"https://offers.example.com/form/{i % 20}?utm_source=partner{i % 7}",
        CONSENT_TEXT,
        f"https://www.company{i % 50}.example.co.uk/contact",
    ]


def supplier_values(i: int) -> list[str]:
    """Values of SUPPLIER_COLUMNS for lead i."""
    return [
        f"Spring offer {i % 7}",
        ("web", "phone", "event", "partner")[i % 4],
        f"Agent {i % 30}",
        f"Called back {i % 3} times; prefers evenings" if i % 5 else "",
        str(i % 100),
    ]


@dataclass(frozen=True)
class Generated:
    content: bytes
    total: int
    invalid: int
    duplicate: int

    @property
    def valid(self) -> int:
        return self.total - self.invalid - self.duplicate


# How UK mobile numbers turn up in lead files: mostly national, some international.
PHONE_FORMS = (
    *["07400 {}"] * 10,
    *["07400{}"] * 2,
    *["+44 7400 {}"] * 3,
    "+447400{}",
    *["+44 (0)7400 {}"] * 2,
    "(07400) {}",
    "0044 7400 {}",
)


def generate_leads(
    n: int,
    *,
    seed: int = 7,
    invalid_rate=0.05,
    duplicate_rate=0.03,
    contact: bool = True,
    every_field: bool = False,
) -> Generated:
    """Make n CSV rows: ~5% unparseable dates, ~3% exact repeats of earlier valid rows.

    With `contact`, every row also has an email, a UK mobile number (written in the ways of
    PHONE_FORMS) and a company. With `every_field`, it has those and every other field
    (reference, postcode, consent date, source and text, website) and SUPPLIER_COLUMNS; the
    people and the outcomes are the same as without it.
    """
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["first_name", "last_name", "dob", "email", "phone", "company"]
    if every_field:
        writer.writerow(header + list(MORE_FIELDS) + list(SUPPLIER_COLUMNS))
    else:
        writer.writerow(header if contact else header[:3])
    valid_rows: list[list[str]] = []
    invalid = duplicate = 0
    for i in range(n):
        roll = rng.random()
        if roll < duplicate_rate and valid_rows:
            writer.writerow(rng.choice(valid_rows))
            duplicate += 1
            continue
        first, last = rng.choice(FIRST), rng.choice(LAST)
        # The index in the year/day keeps every generated person distinct from the others.
        day, month, year = 1 + i % 28, 1 + (i // 28) % 12, 1940 + (i // 336) % 60
        if roll < duplicate_rate + invalid_rate:
            dob = rng.choice(
                [f"{day:02d}/{month:02d}/{year % 100:02d}", f"31/02/{year}", "unknown"]
            )
            invalid += 1
        else:
            dob = f"{day:02d}/{month:02d}/{year}"
        row = [
            f"{first}{i}",
            last,
            dob,
            f"lead.{i}@{rng.choice(DOMAINS)}",
            PHONE_FORMS[i % len(PHONE_FORMS)].format(f"1{i % 100000:05d}"),
            f"Company {i % 50} Ltd",
        ]
        if every_field:
            row += more_fields(i) + supplier_values(i)
        elif not contact:
            row = row[:3]
        writer.writerow(row)
        if dob.count("/") == 2 and len(dob) == 10 and not dob.startswith("31/02"):
            valid_rows.append(row)
    return Generated(out.getvalue().encode("utf-8"), n, invalid, duplicate)
