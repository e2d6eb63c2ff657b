"""Column mappings beyond the reader's own matching: remembered profiles, operator choices.

A profile applies to every upload whose file (or worksheet) has its normalised header row,
whatever the path (admin, API, command): `batch_inspect` calls `mapping_profiles_apply`.
The admin preview's choices replace the mapping for one upload (`mapping_choose`), and the
operator may remember them as a profile (`mapping_profile_remember`).
"""

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction

from batches.models import MappingProfile
from batches.reading import FileRefused, FileSummary
from batches.reading.choices import (
    BY_OPERATOR,
    BY_PROFILE,
    choices_of,
    header_key,
    header_row,
    mapping_chosen,
    profile_choices,
    with_reader_choices,
)
from batches.selectors import mapping_profiles_for
from customers.selectors import user_sees_all_customers

logger = logging.getLogger(__name__)

MAX_PROFILE_NAME = 100  # MappingProfile.name's length
# (file position in the upload, worksheet title or "" for CSV) -> one choice per column
Choices = Mapping[tuple[int, str], Sequence[str]]


class ChoicesOutdated(Exception):
    """The choices do not cover the files' worksheets and columns as they read now."""


def mapping_profiles_apply(
    *,
    summaries: Sequence[FileSummary],
    aliases: Mapping[str, Sequence[str]] | None = None,
    customer_pk: int | None = None,
) -> list[FileSummary]:
    """Return the summaries with each remembered profile applied to its header row.

    The upload's customer's own profile for a row wins over a shared one. A profile that no
    longer fits (a field it names was removed) is left out, and logged, rather than refusing
    the upload: the reader's own mapping stands.
    """
    rows = {header_row(m.headers) for s in summaries for m in s.mappings}
    profiles = mapping_profiles_for(header_rows=rows, customer_pk=customer_pk)
    if not profiles:
        return list(summaries)
    applied = []
    for summary in summaries:
        mappings = []
        for mapping in summary.mappings:
            profile = profiles.get(header_row(mapping.headers))
            if profile is not None:
                try:
                    mapping = mapping_chosen(
                        mapping,
                        with_reader_choices(profile.columns, mapping),
                        how=BY_PROFILE,
                        profile=profile.name,
                        file_name=summary.name,
                        aliases=aliases,
                    )
                except FileRefused as unfit:
                    logger.warning(
                        "mapping_profile.unfit",
                        extra={"profile": profile.pk, "file": summary.name, "reason": str(unfit)},
                    )
            mappings.append(mapping)
        applied.append(dataclasses.replace(summary, mappings=tuple(mappings)))
    return applied


def mapping_choose(
    *,
    summaries: Sequence[FileSummary],
    choices: Choices,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> list[FileSummary]:
    """Return the summaries mapped as the operator chose; raise FileRefused or ChoicesOutdated.

    A mapping left exactly as it was shown keeps its profile's name; any change makes it
    the operator's own.
    """
    shown = {(p, m.worksheet) for p, s in enumerate(summaries) for m in s.mappings}
    if set(choices) != shown:
        raise ChoicesOutdated
    chosen = []
    for position, summary in enumerate(summaries):
        mappings = []
        for mapping in summary.mappings:
            columns = tuple(choices[position, mapping.worksheet])
            if len(columns) != len(mapping.headers):
                raise ChoicesOutdated
            if columns != choices_of(mapping):
                mapping = mapping_chosen(
                    mapping, columns, how=BY_OPERATOR, file_name=summary.name, aliases=aliases
                )
            mappings.append(mapping)
        chosen.append(dataclasses.replace(summary, mappings=tuple(mappings)))
    return chosen


class MappingRefused(Exception):
    """Choices that cannot be remembered as asked (no name, no permission, a conflict)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _profile_owner(*, user, customer_pk: int | None, key: str) -> int | None:
    """Whose profile remembering these headers for an upload of ``customer_pk`` makes or changes.

    Staff scoped to customers change only the upload's customer's own profile (made if need
    be: theirs then replaces a shared one for their uploads). Others change the profile that
    applied: the customer's own when it has one, else the shared one.
    """
    if customer_pk is None:
        return None  # no upload's customer behind it: the shared profile
    if not user_sees_all_customers(user):
        return customer_pk
    if MappingProfile.objects.filter(customer_id=customer_pk, header_key=key).exists():
        return customer_pk
    return None


def mapping_profile_owner(*, user, customer_pk: int | None, headers: Sequence[str]) -> int | None:
    """Whose profile ticking "remember" for these headers would make or change: the pk of the
    upload's customer, or None for the profile shared by every customer."""
    return _profile_owner(user=user, customer_pk=customer_pk, key=header_key(header_row(headers)))


def mapping_profile_remember(
    *,
    headers: Sequence[str],
    columns: Sequence[str],
    name: str,
    user,
    customer_pk: int | None = None,
) -> tuple[MappingProfile, bool]:
    """Save the mapping of files with these headers under `name`; return (profile, created).

    The columns must have been checked (`mapping_chosen`). A profile for the same header
    row and owner (`_profile_owner`) is replaced: its name and columns change, who made it
    first stays.
    """
    row = header_row(headers)
    key = header_key(row)
    # Up to the last named column, as the row: trailing unnamed ones are the reader's.
    headers, columns = headers[: len(row)], columns[: len(row)]
    with transaction.atomic():
        profile, created = MappingProfile.objects.select_for_update().get_or_create(
            customer_id=_profile_owner(user=user, customer_pk=customer_pk, key=key),
            header_key=key,
            defaults={
                "name": name,
                "header_row": list(row),
                "headers": list(headers),
                "columns": list(columns),
                "created_by": user,
                "updated_by": user,
            },
        )
        if not created:
            profile.name, profile.columns, profile.updated_by = name, list(columns), user
            profile.save(update_fields=["name", "columns", "updated_by", "updated_at"])
    logger.info(
        "mapping_profile.saved",
        extra={"profile": profile.pk, "new": created, "columns": len(columns)},
    )
    return profile, created


@dataclass(frozen=True)
class Remembered:
    """One mapping of an upload to remember as a profile."""

    position: int
    worksheet: str
    headers: tuple[str, ...]
    columns: tuple[str, ...]
    name: str


def mapping_remember_plan(
    *,
    summaries: Sequence[FileSummary],
    names: Mapping[tuple[int, str], str],
    user,
    customer_pk: int | None = None,
) -> list[Remembered]:
    """Check what the operator asked to remember (names as typed); raise MappingRefused.

    One profile per header row: two files or worksheets of the upload with the same
    headers may be remembered together only when they are mapped alike.
    """
    if not names:
        return []
    if not user.has_perm("batches.add_mappingprofile"):
        raise MappingRefused("You may not remember mapping profiles.")
    plan: dict[tuple[str, ...], Remembered] = {}
    for position, summary in enumerate(summaries):
        for mapping in summary.mappings:
            if (position, mapping.worksheet) not in names:
                continue
            where = summary.name + (
                f", worksheet {mapping.worksheet!r}" if mapping.worksheet else ""
            )
            name = " ".join(names[position, mapping.worksheet].split())
            if not name:
                raise MappingRefused(f"{where}: give the mapping a name to remember it.")
            if len(name) > MAX_PROFILE_NAME:
                raise MappingRefused(
                    f"{where}: a profile's name has at most {MAX_PROFILE_NAME} characters."
                )
            row = header_row(mapping.headers)
            item = Remembered(
                position,
                mapping.worksheet,
                mapping.headers[: len(row)],
                profile_choices(mapping),
                name,
            )
            other = plan.setdefault(row, item)
            if other.columns != item.columns:
                raise MappingRefused(
                    f"{where} has the same headers as {summaries[other.position].name} but is "
                    "mapped differently: remember only one of them."
                )
    keys = [header_key(header_row(item.headers)) for item in plan.values()]
    changed = any(
        MappingProfile.objects.filter(
            customer_id=_profile_owner(user=user, customer_pk=customer_pk, key=key),
            header_key=key,
        ).exists()
        for key in keys
    )
    if changed and not user.has_perm("batches.change_mappingprofile"):
        raise MappingRefused("You may not change the mapping profiles of these headers.")
    return list(plan.values())


def mapping_remember(
    *,
    summaries: Sequence[FileSummary],
    plan: Sequence[Remembered],
    user,
    customer_pk: int | None = None,
) -> tuple[list[FileSummary], list[tuple[MappingProfile, bool]]]:
    """Save each planned profile; return the summaries naming them, and (profile, created).

    Every mapping of the upload that is now a profile's (same headers, same choices) is
    recorded under the profile's name.
    """
    saved = [
        mapping_profile_remember(
            headers=item.headers,
            columns=item.columns,
            name=item.name,
            user=user,
            customer_pk=customer_pk,
        )
        for item in plan
    ]
    named = {(header_row(item.headers), item.columns): item.name for item in plan}
    result = []
    for summary in summaries:
        mappings = []
        for mapping in summary.mappings:
            name = named.get((header_row(mapping.headers), profile_choices(mapping)))
            mappings.append(dataclasses.replace(mapping, profile=name) if name else mapping)
        result.append(dataclasses.replace(summary, mappings=tuple(mappings)))
    return result, saved
