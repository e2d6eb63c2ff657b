"""In-batch duplicates at split time: first occurrences, smart merge, their set-based writes.

The split streams rows in batch order (files in upload order, sheets in workbook order), so
the first row seen with a lead id is its first occurrence. `InBatchDuplicates` remembers, per
first occurrence, only its seq and which optional fields it left empty (one int), and collects
each duplicate's link and what later duplicates fill in. After the COPY, `links_apply` writes
the links and `merges_apply` those fills, in one statement each.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import connection

from batches.reading import RawRow
from leads.models import LeadValidation
from leads.rules import normalise_email, normalise_phone
from valify.bulk import is_postgresql

# The optional fields a duplicate may fill, one bit each in a first occurrence's empty mask
# (in this order: see() spells the mask out).
MERGE_FIELDS = ("email", "phone", "company", "website")
_BITS = {name: 1 << index for index, name in enumerate(MERGE_FIELDS)}
_MASK_BITS = len(MERGE_FIELDS)
_MASK = (1 << _MASK_BITS) - 1


@dataclass
class Merge:
    """What duplicates give one first occurrence: values, and where each came from."""

    seq: int
    values: dict[str, str] = field(default_factory=dict)
    merged_from: dict[str, str] = field(default_factory=dict)


class InBatchDuplicates:
    """Track first occurrences while the split streams a batch's rows in order.

    `first` maps a lead id to `seq << 4 | empty mask` of its first occurrence: some 140 bytes a
    distinct lead (the id string and its slot), 13 MB at 100,000 rows. Every duplicate's link
    is kept in `links` (seq, first seq). With `on_email`, a valid email already seen makes a
    row a duplicate too; the keys then resolve through `aliases` to the first occurrence's
    lead id.
    """

    def __init__(self, *, on_email: bool, phone_region: str):
        self.on_email = on_email
        self.phone_region = phone_region
        self.first: dict[str, int] = {}
        self.aliases: dict[str, str] = {}  # email or later lead id -> first occurrence's lead id
        self.links: list[tuple[int, int]] = []
        self.merges: dict[int, Merge] = {}

    def see(
        self,
        seq: int,
        lead_id: str,
        email: str,
        phone: str,
        company: str,
        website: str,
        row: RawRow,
    ) -> bool:
        """Record one row; return True when it is a duplicate of an earlier row.

        The values are the row's cleaned optional fields. A row without a lead id is never
        a duplicate and never a first occurrence. Called for every row: the usual case (a
        new lead id, no email key) is one dict look-up and one insert.
        """
        if not lead_id:
            return False
        first = self.first
        packed = first.get(lead_id)
        key = ""
        if packed is None:
            root = None
            if self.on_email:
                key = (normalise_email(email) or "") if email else ""
                root = self.aliases.get(lead_id) or (self.aliases.get(key) if key else None)
            if root is None:
                first[lead_id] = (
                    seq << _MASK_BITS
                    | (not email)
                    | (not phone) << 1
                    | (not company) << 2
                    | (not website) << 3
                )
                if key:
                    self.aliases.setdefault(key, lead_id)
                return False
            packed = first[root]
        else:
            root = lead_id
            if self.on_email and email:
                key = normalise_email(email) or ""
        self.links.append((seq, packed >> _MASK_BITS))
        if self.on_email:
            if lead_id != root:
                self.aliases.setdefault(lead_id, root)
            if key:
                self.aliases.setdefault(key, root)
        if packed & _MASK:
            values = {"email": email, "phone": phone, "company": company, "website": website}
            first[root] = self._fill(packed, values, row)
        return True

    def _fill(self, packed: int, values: Mapping[str, str], row: RawRow) -> int:
        """Give the first occurrence's empty fields this duplicate's valid values."""
        seq = packed >> _MASK_BITS
        source = source_ref(row)
        for name, bit in _BITS.items():
            if not packed & bit:
                continue
            value = self._usable(name, values.get(name, ""))
            if value:
                merge = self.merges.get(seq)
                if merge is None:
                    merge = self.merges[seq] = Merge(seq)
                merge.values[name] = value
                merge.merged_from[name] = source
                packed &= ~bit
        return packed

    def _usable(self, name: str, value: str) -> str:
        """The value to fill in, or "" when it would make a valid lead invalid."""
        if not value:
            return ""
        if name == "email":
            return normalise_email(value) or ""
        if name == "phone":
            return normalise_phone(value, self.phone_region) or ""
        if name == "website":  # clean_website left it as given: not a web address
            return value if "." in value and "/" not in value and " " not in value else ""
        return value


def source_ref(row: RawRow) -> str:
    """Where a row is: "file:row", or "file:worksheet:row" in a workbook."""
    if row.worksheet:
        return f"{row.source_file}:{row.worksheet}:{row.row_number}"
    return f"{row.source_file}:{row.row_number}"


def merges_apply(*, batch_pk: int, merges: Mapping[int, Merge]) -> int:
    """Write the filled fields into the first occurrences, in one statement; return rows.

    email, phone and company are columns; website lives in the raw row, beside the
    `merged_from` map (field -> where its value came from).
    """
    if not merges:
        return 0
    rows = [
        (
            merge.seq,
            merge.values.get("email", ""),
            merge.values.get("phone", ""),
            merge.values.get("company", ""),
            json.dumps(_raw_patch(merge), ensure_ascii=False),
        )
        for merge in merges.values()
    ]
    table = LeadValidation._meta.db_table
    sets = ", ".join(
        f"{name} = CASE WHEN v.{name} <> '' THEN v.{name} ELSE t.{name} END"
        for name in ("email", "phone", "company")
    )
    if is_postgresql():
        ids = _ids_by_seq(batch_pk, [row[0] for row in rows])
        columns = [list(column) for column in zip(*rows, strict=True)]
        seqs, emails, phones, companies, patches = columns
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS t SET {sets}, raw = t.raw || v.patch "
                "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::jsonb[]) "
                "AS v(id, email, phone, company, patch) WHERE t.id = v.id",
                [[ids[seq] for seq in seqs], emails, phones, companies, patches],
            )
            return cursor.rowcount
    # SQLite has no COPY: the same UPDATE runs for each row; json_patch merges the raw row.
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET "
            "email = CASE WHEN %s <> '' THEN %s ELSE email END, "
            "phone = CASE WHEN %s <> '' THEN %s ELSE phone END, "
            "company = CASE WHEN %s <> '' THEN %s ELSE company END, "
            "raw = json_patch(raw, %s) WHERE batch_id = %s AND seq = %s",
            [(e, e, p, p, c, c, patch, batch_pk, seq) for seq, e, p, c, patch in rows],
        )
        return cursor.rowcount


def _raw_patch(merge: Merge) -> dict:
    patch: dict = {"merged_from": merge.merged_from}
    if "website" in merge.values:
        patch["website"] = merge.values["website"]
    return patch


def links_apply(*, batch_pk: int, links: list[tuple[int, int]]) -> int:
    """Point each duplicate (by seq) at its first occurrence's row, in one statement."""
    if not links:
        return 0
    table = LeadValidation._meta.db_table
    if is_postgresql():
        ids = _ids_by_seq(batch_pk, [seq for link in links for seq in link])
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS t SET duplicate_of_id = v.first_id "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, first_id) WHERE t.id = v.id",
                [[ids[seq] for seq, _ in links], [ids[first] for _, first in links]],
            )
            return cursor.rowcount
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET duplicate_of_id = "
            f"(SELECT f.id FROM {table} AS f WHERE f.batch_id = %s AND f.seq = %s) "
            "WHERE batch_id = %s AND seq = %s",
            [(batch_pk, first, batch_pk, seq) for seq, first in links],
        )
        return cursor.rowcount


def _ids_by_seq(batch_pk: int, seqs: list[int]) -> dict[int, int]:
    """The row id of each seq of a batch just written (PostgreSQL).

    The split's updates go through row ids, looked up here on the (batch, seq) unique index:
    the rows have no planner statistics yet, and a join on (batch, seq) was planned as if
    the batch held a handful of rows, scanning all of it once per duplicate (25 s for the
    3,000 duplicates of a 100,000-row batch). Lookups by the unique key and updates by
    primary key need no statistics.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT seq, id FROM {LeadValidation._meta.db_table} "
            "WHERE batch_id = %s AND seq = ANY(%s)",
            [batch_pk, sorted(set(seqs))],
        )
        return dict(cursor.fetchall())
