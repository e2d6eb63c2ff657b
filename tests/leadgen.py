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
    n: int, *, seed: int = 7, invalid_rate=0.05, duplicate_rate=0.03, contact: bool = True
) -> Generated:
    """Make n CSV rows: ~5% unparseable dates, ~3% exact repeats of earlier valid rows.

    With `contact`, every row also has an email, a UK mobile number (written in the ways of
    PHONE_FORMS) and a company.
    """
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["first_name", "last_name", "dob", "email", "phone", "company"]
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
        if not contact:
            row = row[:3]
        writer.writerow(row)
        if dob.count("/") == 2 and len(dob) == 10 and not dob.startswith("31/02"):
            valid_rows.append(row)
    return Generated(out.getvalue().encode("utf-8"), n, invalid, duplicate)
