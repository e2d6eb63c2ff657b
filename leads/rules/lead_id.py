"""The lead id, ``first.last.ddmmyyyy``, that identifies a lead across batches."""

from __future__ import annotations

import datetime

from leads.rules.dates import parse_dob
from leads.rules.messages import MAX_NAME_LENGTH
from leads.rules.names import normalise_name_part


def lead_id_for(first_name: str | None, last_name: str | None, dob: object) -> str:
    """``first.last.ddmmyyyy``, or "" when a name part normalises to nothing or to more than
    MAX_NAME_LENGTH characters (transliteration can lengthen a name: one ﷽ is 18 letters),
    or dob won't parse.

    ``dob`` may be raw (string, date, datetime) or an already parsed date.
    """
    first = normalise_name_part(first_name)
    if not first or len(first) > MAX_NAME_LENGTH:
        return ""
    last = normalise_name_part(last_name)
    if not last or len(last) > MAX_NAME_LENGTH:
        return ""
    if type(dob) is not datetime.date:
        dob = parse_dob(dob)
        if dob is None:
            return ""
    return f"{first}.{last}.{dob.day:02d}{dob.month:02d}{dob.year:04d}"
