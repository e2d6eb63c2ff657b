"""The admin's history (LogEntry) for what happens outside an object's change form.

Exports of lead data, API uploads and erasures are recorded here, whoever started them:
an admin action, the API, or a command (under `--user`, else the system user).
"""

from collections.abc import Iterable

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

SYSTEM_USERNAME = "valify-system"


def system_user():
    """The inactive user that commands run without `--user` act as (created on first use)."""
    user, created = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={"is_active": False, "first_name": "Valify", "last_name": "(commands)"},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def command_user(*, username: str | None, command: str):
    """Who a command acts as, and how its history entries say it ran: (user, via).

    The user named by `--user`, else the system user. LookupError for an unknown name.
    """
    if not username:
        return system_user(), f"{command} command, run without --user"
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise LookupError(f"unknown user {username!r}")
    return user, f"{command} command"


def history_record(
    *,
    user,
    message: str,
    obj: models.Model | None = None,
    model=None,
    label: str = "",
    action_flag: int = CHANGE,
) -> LogEntry:
    """Add an entry to the admin's history: on `obj`, or on its model with `label` as its name."""
    model = type(obj) if obj is not None else model
    return LogEntry.objects.create(
        user_id=user.pk,
        content_type=ContentType.objects.get_for_model(model, for_concrete_model=False),
        object_id=str(obj.pk) if obj is not None else None,
        object_repr=(str(obj) if obj is not None else label)[:200],
        action_flag=action_flag,
        change_message=message,
    )


def lead_data_record(
    *, user, what: str, rows: int, obj=None, model=None, via: str = ""
) -> LogEntry:
    """Record an export or an upload of lead data: who (user), what, how many rows, from where.

    The one entry point for every export (admin actions, the API, `export_results`) and
    every API upload.
    """
    where = f" ({via})" if via else ""
    noun = "row" if rows == 1 else "rows"
    return history_record(
        user=user,
        message=f"{what}: {rows:,} {noun}{where}.",
        obj=obj,
        model=model,
        label=what,
    )


# Shorter values (a stray digit for a phone) would match unrelated entries.
_FORGET_MIN_CHARS = 5


def history_forget(*, values: Iterable[str]) -> int:
    """Blank the entries whose name or message holds one of a person's values (an admin's
    deletion of a claim is logged under it: "email jo@example.com"); return how many."""
    match = Q()
    for value in {v for v in values if v and len(v) >= _FORGET_MIN_CHARS}:
        match |= Q(object_repr__icontains=value) | Q(change_message__icontains=value)
    if not match:
        return 0
    return LogEntry.objects.filter(match).update(object_repr="(erased)", change_message="")
