"""In-batch duplicates at split time: first occurrences and what their duplicates fill in.

The split streams rows in batch order (files in upload order, sheets in workbook order), so
the first row seen with a lead id is its first occurrence. `InBatchDuplicates` remembers, per
first occurrence, only its seq and which optional fields it left empty (one int), and collects
each duplicate's link and what later duplicates fill in. After the COPY,
the split hands the links and those fills to the leads app, which writes them.

A link by e-mail or phone is made before either row is validated; a chunk releases it when
the earlier row turns out not valid (contact_links_release).
"""

import sqlite3
from collections.abc import Callable, Mapping

from batches.reading import RawRow
from batches.services.chunk_rows import lead_rows
from leads.models import LeadStatus, LeadValidation
from leads.rules import LeadResult, normalise_email, normalise_phone
from leads.services import Merge

# The optional fields a duplicate may fill, one bit each in a first occurrence's empty mask
# (in this order: see() spells the mask out).
MERGE_FIELDS = ("email", "phone", "company", "website")
_BITS = {name: 1 << index for index, name in enumerate(MERGE_FIELDS)}
_MASK_BITS = len(MERGE_FIELDS)
_MASK = (1 << _MASK_BITS) - 1
# Past this many distinct lead ids the first occurrences move to a temporary on-disk table,
# so a split's memory stays flat however big the batch (about 35 MB of them in memory).
SPILL_AFTER = 250_000


class SpilledFirsts:
    """`first` (lead id -> packed int) in a private temporary SQLite file, for big batches.

    The few operations `see()` uses, at a few microseconds each instead of a dict's tenth
    of one; the file is deleted when the tracker is closed (or collected).
    """

    def __init__(self, items: Mapping[str, int]):
        # An empty file name: a private on-disk database, deleted when it is closed.
        self._db = sqlite3.connect("")
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA cache_size=-8000")  # 8 MB of pages, the rest on disk
        self._db.execute("CREATE TABLE first (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID")
        self._db.executemany("INSERT INTO first VALUES (?, ?)", items.items())
        self._count = len(items)

    def get(self, key: str, default: int | None = None) -> int | None:
        row = self._db.execute("SELECT v FROM first WHERE k = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def __getitem__(self, key: str) -> int:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: int) -> None:
        if self._db.execute("UPDATE first SET v = ? WHERE k = ?", (value, key)).rowcount == 0:
            self._db.execute("INSERT INTO first VALUES (?, ?)", (key, value))
            self._count += 1

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        self._db.close()


class InBatchDuplicates:
    """Track first occurrences while the split streams a batch's rows in order.

    `first` maps a lead id to `seq << 4 | empty mask` of its first occurrence: some 140 bytes a
    distinct lead (the id string and its slot), 13 MB at 100,000 rows; past SPILL_AFTER
    distinct leads it moves to a temporary file (SpilledFirsts). Every duplicate's link
    is kept in `links` (seq, first seq). With `on_email` (`on_phone`), a valid email (phone,
    in E.164) already seen makes a row a duplicate too; the keys then resolve through `aliases`
    to the first occurrence's lead id. Only then is a row's email or phone normalised here:
    phonenumbers costs more than the rest of a row's work together.
    """

    def __init__(self, *, on_email: bool, phone_region: str, on_phone: bool = False):
        self.on_email = on_email
        self.on_phone = on_phone
        self.on_contact = on_email or on_phone
        self.phone_region = phone_region
        self.first: dict[str, int] | SpilledFirsts = {}
        # Email, E.164 phone or later lead id -> first occurrence's lead id. The three never
        # collide: only emails hold "@", only phones start with "+", lead ids hold neither.
        self.aliases: dict[str, str] = {}
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
        new lead id, no email or phone key) is one dict look-up and one insert.
        """
        if not lead_id:
            return False
        first = self.first
        packed = first.get(lead_id)
        keys: tuple[str, ...] = ()
        if packed is None:
            root = None
            if self.on_contact:
                keys = self._contact_keys(email, phone)
                root = self.aliases.get(lead_id)
                for key in keys:
                    if root is not None:
                        break
                    root = self.aliases.get(key)
            if root is None:
                first[lead_id] = (
                    seq << _MASK_BITS
                    | (not email)
                    | (not phone) << 1
                    | (not company) << 2
                    | (not website) << 3
                )
                for key in keys:
                    self.aliases.setdefault(key, lead_id)
                if len(first) > SPILL_AFTER and type(first) is dict:
                    self.first = SpilledFirsts(first)
                return False
            packed = first[root]
        else:
            root = lead_id
            if self.on_contact:
                keys = self._contact_keys(email, phone)
        self.links.append((seq, packed >> _MASK_BITS))
        if self.on_contact:
            if lead_id != root:
                self.aliases.setdefault(lead_id, root)
            for key in keys:
                self.aliases.setdefault(key, root)
        if packed & _MASK:
            values = {"email": email, "phone": phone, "company": company, "website": website}
            first[root] = self._fill(packed, values, row)
        return True

    def _contact_keys(self, email: str, phone: str) -> tuple[str, ...]:
        """The row's keys besides its lead id: its valid email, then its phone in E.164."""
        email_key = (normalise_email(email) or "") if self.on_email and email else ""
        phone_key = (
            (normalise_phone(phone, self.phone_region) or "") if self.on_phone and phone else ""
        )
        return tuple(key for key in (email_key, phone_key) if key)

    def close(self) -> None:
        """Let go of the temporary file of a big batch's first occurrences, if any."""
        if not isinstance(self.first, dict):
            self.first.close()
        self.first = {}

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


def contact_links_release(
    rows: list[dict], results: Mapping[int, LeadResult], validate: Callable[[dict], LeadResult]
) -> list[dict]:
    """Release the chunk's rows linked at the split by e-mail or phone (not by lead id) to
    an earlier row that is not valid: only a valid lead holds an e-mail or phone. Return
    them, unlinked, to be validated as leads of their own.

    The earlier row is judged by its result in this chunk (``results``), by its status once
    another chunk has validated it, else by the lead rules run here on it (``validate``):
    chunks run in any order, and the rules give the same answer in either chunk. A released
    row whose lead id another lead of the chunk has is linked to that one instead (the lead
    id's first occurrence here); across chunks the lead-id claims settle it.
    """
    linked = [row for row in rows if row["duplicate_of_id"] is not None]
    if not linked:
        return []
    here = {row["pk"]: row for row in rows}
    elsewhere = {row["duplicate_of_id"] for row in linked} - here.keys()
    roots = here | {
        row["pk"]: row for row in lead_rows(LeadValidation.objects.filter(pk__in=elsewhere))
    }
    leads = {row["lead_id"]: row["pk"] for row in reversed(rows) if row["duplicate_of_id"] is None}
    released = []
    for row in linked:  # in seq order
        root = roots.get(row["duplicate_of_id"])
        if root is None or root["lead_id"] == row["lead_id"]:
            continue  # a repeat of the lead itself stays its duplicate, whatever it is
        if root["pk"] in results:
            status = results[root["pk"]].status
        elif root["status"] != LeadStatus.PENDING:
            status = root["status"]
        else:
            status = validate(root).status
        if status == LeadStatus.VALID:
            continue
        first = leads.get(row["lead_id"]) if row["lead_id"] else None
        if first is not None:
            row["duplicate_of_id"] = first
        else:
            row["duplicate_of_id"] = None
            leads.setdefault(row["lead_id"], row["pk"])
            released.append(row)
    return released
