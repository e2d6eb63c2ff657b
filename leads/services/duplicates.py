"""In-batch duplicates, written after the split: links to first occurrences and their fills."""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from leads.models import LeadValidation
from valify.bulk import update_from_rows

# Rows looked up by seq per query (well under both databases' parameter limits).
_LOOKUP_BLOCK = 5000


@dataclass
class Merge:
    """What duplicates give one first occurrence: values, and where each came from."""

    seq: int
    values: dict[str, str] = field(default_factory=dict)
    merged_from: dict[str, str] = field(default_factory=dict)


def leads_link_duplicates(*, batch_pk: int, links: list[tuple[int, int]]) -> int:
    """Point each duplicate (by seq) at its first occurrence's row, in one statement."""
    if not links:
        return 0
    ids = _ids_by_seq(batch_pk, {seq for link in links for seq in link})
    return len(
        update_from_rows(
            LeadValidation._meta.db_table,
            key="id",
            columns=(("duplicate_of_id", "bigint"),),
            rows=[(ids[seq], ids[first]) for seq, first in links],
        )
    )


def leads_merge_fields(*, batch_pk: int, merges: Mapping[int, Merge]) -> int:
    """Write the filled fields into the first occurrences, in one statement; return rows.

    email, phone, company and website are columns; the raw row gets website too, beside the
    `merged_from` map (field -> where its value came from).
    """
    if not merges:
        return 0
    found = _rows_by_seq(batch_pk, merges.keys(), ("seq", "pk", "raw"))
    rows = []
    for merge in merges.values():
        pk, raw = found[merge.seq]
        raw = {**raw, **_raw_patch(merge)}
        values = merge.values
        rows.append(
            (
                pk,
                values.get("email", ""),
                values.get("phone", ""),
                values.get("company", ""),
                values.get("website", ""),
                json.dumps(raw, ensure_ascii=False),
            )
        )
    names = ("email", "phone", "company", "website")
    return len(
        update_from_rows(
            LeadValidation._meta.db_table,
            key="id",
            columns=(*((name, "text") for name in names), ("raw", "json")),
            rows=rows,
            # An empty value fills nothing: the first occurrence keeps its own.
            sets={
                name: f"{name} = CASE WHEN v.{name} <> '' THEN v.{name} ELSE t.{name} END"
                for name in names
            },
        )
    )


def _raw_patch(merge: Merge) -> dict:
    patch: dict = {"merged_from": merge.merged_from}
    if "website" in merge.values:
        patch["website"] = merge.values["website"]
    return patch


def _ids_by_seq(batch_pk: int, seqs: Iterable[int]) -> dict[int, int]:
    return {seq: pk for seq, (pk,) in _rows_by_seq(batch_pk, seqs, ("seq", "pk")).items()}


def _rows_by_seq(batch_pk: int, seqs: Iterable[int], fields: tuple[str, ...]) -> dict[int, tuple]:
    """Values of the rows of a batch just written, by seq, looked up on (batch, seq).

    The split's updates then go through row ids: the rows have no planner statistics yet,
    and a join on (batch, seq) was planned as if the batch held a handful of rows, scanning
    all of it once per duplicate (25 s for the 3,000 duplicates of a 100,000-row batch).
    Lookups by the unique key and updates by primary key need no statistics.
    """
    wanted = sorted(set(seqs))
    found: dict[int, tuple] = {}
    for start in range(0, len(wanted), _LOOKUP_BLOCK):
        block = wanted[start : start + _LOOKUP_BLOCK]
        rows = LeadValidation.objects.filter(batch_id=batch_pk, seq__in=block).values_list(*fields)
        found.update((row[0], row[1:]) for row in rows)
    return found
