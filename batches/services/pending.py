"""Two-step upload: keep checked files in storage until the operator confirms their mapping.

Step one checks the files (`batch_inspect`), saves them through the storage API under
``pending/<unix time>-<random>/`` and records a `PendingUpload` whose random token goes in
the preview form. Confirming reads them back, checks them again, creates the batch and deletes
them; cancelling deletes them. Storage rather than the session or a local temporary directory,
so the confirmation may reach any web process (S3 in production); a row rather than a signed
token alone, so that deleting it claims the upload and a double-clicked "Confirm" creates one
batch. Anything abandoned is removed by `pending_uploads_purge`, run periodically and on each
new upload: rows and their files after PENDING_UPLOAD_MAX_AGE, and directories that never got
a row (a process that died between saving the files and the row), by the time in their name.
"""

import contextlib
import dataclasses
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.admin.models import ADDITION, CHANGE
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from batches.models import BatchJob, PendingUpload, default_customer_pk
from batches.reading import FileRefused, FileSummary
from batches.selectors import header_aliases
from batches.services.history import history_record
from batches.services.mapping import (
    Choices,
    ChoicesOutdated,
    MappingRefused,
    mapping_choose,
    mapping_remember,
    mapping_remember_plan,
)
from batches.services.quotas import upload_quota_problem
from batches.services.upload import BatchRefused, UploadFile, batch_create, batch_inspect
from customers.selectors import customer_visible_to

logger = logging.getLogger(__name__)

PENDING_PREFIX = "pending"
PENDING_UPLOAD_MAX_AGE = timedelta(hours=6)


class PendingUploadGone(Exception):
    """The upload was confirmed or cancelled already, has expired, or is someone else's."""


@dataclass(frozen=True)
class UploadPreview:
    """A pending upload and what its files were found to hold."""

    pending: PendingUpload
    summaries: list[FileSummary]


class MappingChanged(Exception):
    """The files read differently at confirmation (an alias was edited): show them again."""

    def __init__(self, preview: UploadPreview):
        super().__init__("The column mapping changed since the preview.")
        self.preview = preview


class ChoicesRefused(Exception):
    """The operator's column choices cannot be taken: show the preview again with the reason."""

    def __init__(self, preview: UploadPreview, message: str):
        super().__init__(message)
        self.preview = preview
        self.message = message


def mapping_digest(summaries: Sequence[FileSummary]) -> str:
    """A fingerprint of how the files map to fields, to tell whether it changed."""
    shown = [
        [s.name, s.kind, s.row_count, [dataclasses.asdict(m) for m in s.mappings]]
        for s in summaries
    ]
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()


def pending_upload_create(
    *,
    files: Sequence[UploadFile],
    user,
    webhook_url: str = "",
    revalidate_existing: bool = False,
    customer=None,
) -> UploadPreview:
    """Check the files and keep them for the preview; raise BatchRefused as batch_create."""
    try:
        pending_uploads_purge()
    except Exception:  # tidying up must never stand in the way of an upload
        logger.exception("uploads.pending_purge_failed")
    summaries = batch_inspect(files=files, customer=customer, preview=True)
    if customer is not None:
        with transaction.atomic():  # refused before anything is stored; checked again on confirm
            problem = upload_quota_problem(
                customer_pk=customer.pk, rows=sum(s.row_count for s in summaries)
            )
        if problem:
            raise BatchRefused(*problem)
    directory = f"{PENDING_PREFIX}/{int(time.time())}-{secrets.token_hex(8)}"
    stored: list[dict] = []
    try:
        for position, (upload, summary) in enumerate(zip(files, summaries, strict=True)):
            upload.seek(0)
            content = upload if isinstance(upload, File) else File(upload, name=summary.name)
            path = default_storage.save(f"{directory}/{position}.upload", content)
            stored.append({"path": path, "name": summary.name, "size": upload.size})
        pending = PendingUpload.objects.create(
            token=secrets.token_urlsafe(32),
            created_by=user,
            directory=directory,
            files=stored,
            webhook_url=webhook_url,
            revalidate_existing=revalidate_existing,
            customer=customer,
            mapping_digest=mapping_digest(summaries),
        )
    except BaseException:
        _delete_files(directory, [item["path"] for item in stored])
        raise
    return UploadPreview(pending=pending, summaries=summaries)


def pending_upload_get(*, token: str, user) -> PendingUpload:
    """The user's live pending upload with this token; raise PendingUploadGone."""
    cutoff = timezone.now() - PENDING_UPLOAD_MAX_AGE
    pending = PendingUpload.objects.filter(
        token=token, created_by=user, created_at__gte=cutoff
    ).first()
    if pending is None or not token:
        raise PendingUploadGone
    return pending


def pending_upload_confirm(
    *,
    token: str,
    user,
    choices: Choices | None = None,
    remember: Mapping[tuple[int, str], str] | None = None,
) -> BatchJob:
    """Turn a pending upload into a batch, queued after commit; its pending files go.

    The files are checked again (the same checks as any upload). `choices` are the mapping
    the operator chose in the preview, one per file and worksheet, and `remember` the
    names of those to keep as mapping profiles. Without choices, should the files now map
    differently than the operator was shown, MappingChanged carries the new preview and
    nothing is created; so it does when the choices no longer fit the files. Choices that
    cannot be read raise ChoicesRefused. BatchRefused (limits lowered meanwhile) discards
    the upload.
    """
    pending = pending_upload_get(token=token, user=user)
    # The batch's customer: the one chosen, else `default`, as batch_create decides.
    customer_pk = pending.customer_id or default_customer_pk()
    if not customer_visible_to(user, customer_pk):
        # Their membership ended between the preview and the confirmation.
        pending_upload_discard(token=token, user=user)
        raise BatchRefused(
            "unknown_customer",
            "You no longer act for this upload's customer: nothing was created.",
        )
    paths = [item["path"] for item in pending.files]
    with ExitStack() as stack:
        try:
            uploads = [
                stack.enter_context(_StoredUpload(item["path"], item["name"], item["size"]))
                for item in pending.files
            ]
        except FileNotFoundError:  # confirmed by a twin request meanwhile, or purged
            raise PendingUploadGone from None
        try:
            summaries = batch_inspect(files=uploads, customer=pending.customer, preview=True)
        except BatchRefused:
            pending_upload_discard(token=token, user=user)
            raise
        preview = UploadPreview(pending=pending, summaries=summaries)
        plan, saved = [], []
        if choices is None:
            _refuse_changed(preview)
        else:
            summaries, plan = _chosen(preview, choices, remember or {}, user, customer_pk)
        with transaction.atomic():
            # The claim: of two confirmations of one upload, one deletes the row.
            if not PendingUpload.objects.filter(pk=pending.pk).delete()[0]:
                raise PendingUploadGone
            if plan:
                summaries, saved = mapping_remember(
                    summaries=summaries, plan=plan, user=user, customer_pk=customer_pk
                )
            batch = batch_create(
                files=uploads,
                summaries=summaries,
                user=user,
                webhook_url=pending.webhook_url,
                revalidate_existing=pending.revalidate_existing,
                customer=pending.customer,
            )
            for profile, created in saved:
                history_record(
                    user=user,
                    obj=profile,
                    message=f"{'Made' if created else 'Changed'} in the upload preview of "
                    f"{batch.batch_id}.",
                    action_flag=ADDITION if created else CHANGE,
                )
            transaction.on_commit(lambda: _delete_files(pending.directory, paths))
    return batch


def _refuse_changed(preview: UploadPreview) -> None:
    """Raise MappingChanged when the files map otherwise than the operator was shown."""
    pending = preview.pending
    digest = mapping_digest(preview.summaries)
    if digest != pending.mapping_digest:
        PendingUpload.objects.filter(pk=pending.pk).update(mapping_digest=digest)
        pending.mapping_digest = digest
        raise MappingChanged(preview)


def _chosen(preview: UploadPreview, choices: Choices, remember, user, customer_pk: int):
    """The summaries mapped as chosen and what to remember; raise ChoicesRefused."""
    try:
        summaries = mapping_choose(
            summaries=preview.summaries, choices=choices, aliases=header_aliases()
        )
        plan = mapping_remember_plan(
            summaries=summaries, names=remember, user=user, customer_pk=customer_pk
        )
    except ChoicesOutdated:
        _refuse_changed(preview)
        raise MappingChanged(preview) from None
    except FileRefused as refused:
        raise ChoicesRefused(preview, str(refused)) from refused
    except MappingRefused as refused:
        raise ChoicesRefused(preview, refused.message) from refused
    return summaries, plan


def pending_upload_discard(*, token: str, user) -> bool:
    """Forget a pending upload and delete its files; False when there was none."""
    pending = PendingUpload.objects.filter(token=token, created_by=user).first()
    if pending is None or not PendingUpload.objects.filter(pk=pending.pk).delete()[0]:
        return False
    _delete_files(pending.directory, [item["path"] for item in pending.files])
    return True


def pending_uploads_purge(*, max_age: timedelta | None = None) -> int:
    """Delete pending uploads older than max_age, and stray pending files; return how many."""
    max_age = PENDING_UPLOAD_MAX_AGE if max_age is None else max_age
    cutoff = timezone.now() - max_age
    purged = 0
    for pending in PendingUpload.objects.filter(created_at__lt=cutoff):
        if PendingUpload.objects.filter(pk=pending.pk).delete()[0]:
            _delete_files(pending.directory, [item["path"] for item in pending.files])
            purged += 1
    try:
        directories, _ = default_storage.listdir(PENDING_PREFIX)
    except (FileNotFoundError, NotImplementedError):
        directories = []
    live = set(PendingUpload.objects.values_list("directory", flat=True))
    oldest = cutoff.timestamp()
    for name in directories:
        stamp = name.split("-", 1)[0]
        directory = f"{PENDING_PREFIX}/{name}"
        if stamp.isdigit() and int(stamp) < oldest and directory not in live:
            _delete_files(directory, [])
            purged += 1
    if purged:
        logger.info("uploads.pending_purged", extra={"count": purged})
    return purged


def _delete_files(directory: str, paths: Sequence[str]) -> None:
    """Delete the files (and whatever else is in the directory); never raise."""
    try:
        _, names = default_storage.listdir(directory)
    except (FileNotFoundError, NotImplementedError, OSError):
        names = []
    for path in {*paths, *(f"{directory}/{name}" for name in names)}:
        try:
            default_storage.delete(path)
        except OSError:
            logger.warning("uploads.pending_delete_failed", extra={"path": path})
    with contextlib.suppress(OSError):  # an emptied local directory; object stores have none
        default_storage.delete(directory)


class _StoredUpload(File):
    """A pending file opened from storage, named and sized as it was uploaded."""

    def __init__(self, path: str, name: str, size: int):
        super().__init__(default_storage.open(path, "rb"), name=name)
        self._size = size

    @property
    def size(self) -> int:
        return self._size
