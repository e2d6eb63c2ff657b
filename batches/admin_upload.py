"""The admin's two-step upload: files -> preview of the column mapping -> confirm or cancel.

BatchJobAdmin.add_view hands over to `upload_view`; the pending files between the steps are
kept by batches.services.pending (see there why storage and a row).
"""

from django.contrib import messages
from django.contrib.admin.utils import quote
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from batches.forms import BatchConfirmForm, BatchUploadForm
from batches.reading import FIELDS, FileSummary
from batches.reading.choices import BY_OPERATOR, BY_PROFILE, choice_labels, choices_of
from batches.reading.header_names import NAME_FIELDS
from batches.reading.header_search import HEADER_SEARCH_ROWS
from batches.reading.headers import column_letter
from batches.services import BatchRefused
from batches.services.mapping import mapping_profile_owner
from batches.services.pending import (
    PENDING_UPLOAD_MAX_AGE,
    ChoicesRefused,
    MappingChanged,
    PendingUploadGone,
    UploadPreview,
    pending_upload_confirm,
    pending_upload_create,
    pending_upload_discard,
)

_KINDS = {
    "csv": "CSV",
    "xlsx": "Excel workbook",
    "xls": "Excel 97-2003 workbook (.xls)",
    "ods": "OpenDocument spreadsheet (.ods)",
}
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def upload_view(model_admin, request, extra_context=None):
    """Step one shows the upload form; a valid upload is kept and its mapping previewed."""
    if request.method == "POST" and "token" in request.POST:
        return _confirm_step(model_admin, request, extra_context)
    form = BatchUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            preview = pending_upload_create(
                files=form.cleaned_data["files"],
                user=request.user,
                webhook_url=form.cleaned_data["webhook_url"],
                revalidate_existing=form.cleaned_data["revalidate_existing"],
                customer=form.cleaned_data["customer"],
            )
        except BatchRefused as refused:
            form.add_error("files", refused.message)
        else:
            return _preview(model_admin, request, preview, extra_context)
    context = {"title": "Upload batch", "form": form}
    return _render(model_admin, request, "upload.html", context, extra_context)


def _confirm_step(model_admin, request, extra_context):
    form = BatchConfirmForm(request.POST)
    token = form.cleaned_data["token"] if form.is_valid() else ""
    if "_cancel" in request.POST:
        pending_upload_discard(token=token, user=request.user)
        model_admin.message_user(request, "Upload cancelled; its files were deleted.")
        return HttpResponseRedirect(request.path)
    choices, remember = posted_choices(request.POST)
    try:
        batch = pending_upload_confirm(
            token=token, user=request.user, choices=choices, remember=remember
        )
    except PendingUploadGone:
        model_admin.message_user(
            request,
            "That upload was already confirmed or cancelled, or it expired: upload the "
            "files again.",
            messages.WARNING,
        )
        return HttpResponseRedirect(request.path)
    except MappingChanged as changed:
        notice = (
            "The header aliases changed since this preview, and the files now map as below. "
            "Check the columns and confirm again."
        )
        return _preview(model_admin, request, changed.preview, extra_context, notice=notice)
    except ChoicesRefused as refused:
        return _preview(
            model_admin,
            request,
            refused.preview,
            extra_context,
            notice=f"Not confirmed: {refused.message}",
            chosen=choices,
            remember=remember,
        )
    except BatchRefused as refused:
        model_admin.message_user(request, f"Upload refused: {refused.message}", messages.ERROR)
        return HttpResponseRedirect(request.path)
    model_admin.log_addition(request, batch, [{"added": {}}])
    model_admin.message_user(
        request,
        f"Batch {batch.batch_id} created with {batch.total_leads:,} leads; processing has started.",
        messages.SUCCESS,
    )
    return HttpResponseRedirect(reverse("admin:batches_batchjob_change", args=[quote(batch.pk)]))


def _preview(
    model_admin,
    request,
    preview: UploadPreview,
    extra_context,
    *,
    notice="",
    chosen=None,
    remember=None,
):
    pending = preview.pending
    total = sum(s.row_count for s in preview.summaries)
    can_remember = request.user.has_perm("batches.add_mappingprofile")
    context = {
        "title": "Check the columns",
        "form": BatchConfirmForm(initial={"token": pending.token}),
        "files": preview_files(
            preview.summaries,
            chosen=chosen,
            remember=remember,
            owner=_owner(request, pending) if can_remember else None,
        ),
        "choices": choice_labels(),
        "can_remember": can_remember,
        "total_rows": total,
        "total_rows_shown": f"{total:,}",
        "pending": pending,
        "notice": notice,
        "max_age_hours": int(PENDING_UPLOAD_MAX_AGE.total_seconds() // 3600),
        "header_search_rows": HEADER_SEARCH_ROWS,
    }
    return _render(model_admin, request, "upload_preview.html", context, extra_context)


def _owner(request, pending):
    """The slug of the customer whose profile remembering a sheet's headers would make or
    change; None: the profile every customer shares."""

    def owner(headers) -> str | None:
        found = mapping_profile_owner(
            user=request.user, customer_pk=pending.customer_id, headers=headers
        )
        return pending.customer.slug if found is not None else None

    return owner


def _render(model_admin, request, template: str, context: dict, extra_context):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "has_view_permission": model_admin.has_view_permission(request),
        **context,
        **(extra_context or {}),
    }
    return TemplateResponse(request, f"admin/batches/batchjob/{template}", context)


def preview_files(
    summaries: list[FileSummary], *, chosen=None, remember=None, owner=None
) -> list[dict]:
    """Per file and worksheet: each header, the field it feeds and how it was matched.

    Each column's choice is preselected as mapped, or as `chosen` (the operator's choices
    shown again with a refusal), and each sheet says which mapping profile applied and, by
    `owner` (headers -> customer slug or None), whose a remembered mapping would be.
    """
    chosen, remember = chosen or {}, remember or {}
    files = []
    for position, summary in enumerate(summaries):
        sheets = []
        for number, mapping in enumerate(summary.mappings):
            key = (position, mapping.worksheet)
            selected = chosen.get(key) or choices_of(mapping)
            field_at = {index: name for name, index in mapping.fields.items()}
            columns = []
            for index, header in enumerate(mapping.headers):
                name = field_at.get(index, "")
                columns.append(
                    {
                        "letter": column_letter(index),
                        "header": header,
                        "field": name,
                        "how": _how(mapping.matched_by[name]) if name else "",
                        "kept_as": "" if name else mapping.extra.get(index, ""),
                        "ignored": not name and index not in mapping.extra,
                        "input": f"col-{position}-{number}-{index}",
                        "choice": selected[index] if index < len(selected) else "",
                    }
                )
            sheets.append(
                {
                    "worksheet": mapping.worksheet,
                    "rows": mapping.row_count,
                    "rows_shown": f"{mapping.row_count:,}",
                    "columns": columns,
                    "absent": _absent(mapping.fields),
                    "notes": mapping.notes,
                    "ambiguous": [found for found, _ in mapping.ambiguous],
                    "hidden": mapping.hidden,
                    "profile": mapping.profile,
                    "prefix": f"{position}-{number}",
                    "remember": key in remember,
                    "profile_name": remember.get(key, mapping.profile),
                    "remember_for": owner(mapping.headers) if owner else None,
                }
            )
        files.append(
            {
                "name": summary.name,
                "kind": _KINDS.get(summary.kind, summary.kind),
                "encoding": summary.encoding,
                "delimiter": _DELIMITERS.get(summary.delimiter, summary.delimiter),
                "rows": summary.row_count,
                "rows_shown": f"{summary.row_count:,}",
                "sheets": sheets,
                "skipped_sheets": summary.skipped_sheets,
            }
        )
    return files


def _absent(fields) -> list[str]:
    """The optional fields no column feeds; the names and a full name stand in for each other."""
    names = "full_name" in fields or any(f in fields for f in NAME_FIELDS)
    return [
        f for f in FIELDS if f not in fields and not (names and f in (*NAME_FIELDS, "full_name"))
    ]


def posted_choices(post) -> tuple[dict | None, dict]:
    """Read the preview's choices from its form: (choices or None, names to remember).

    Each sheet of each file posts its title as ``sheet-<file>-<sheet>``, one choice per
    column as ``col-<file>-<sheet>-<column>``, and, ticked, ``remember-<file>-<sheet>``
    with the name in ``profile-<file>-<sheet>``. A form without them (none shown) gives
    None: the files are then taken as the preview showed them.
    """
    choices: dict[tuple[int, str], list[str]] = {}
    remember: dict[tuple[int, str], str] = {}
    for field, worksheet in post.items():
        prefix = field.removeprefix("sheet-")
        position, _, number = prefix.partition("-")
        if prefix == field or not (position.isdigit() and number.isdigit()):
            continue
        key = (int(position), worksheet)
        columns = []
        while (choice := post.get(f"col-{prefix}-{len(columns)}")) is not None:
            columns.append(choice)
        choices[key] = columns
        if post.get(f"remember-{prefix}"):
            remember[key] = post.get(f"profile-{prefix}", "")
    return (choices or None), remember


def _how(matched_by: str) -> str:
    if matched_by.startswith("fuzzy:"):
        return f"fuzzy match, {matched_by.split(':', 1)[1]}% similar"
    names = {
        "exact": "field name",
        "alias": "alias",
        BY_OPERATOR: "chosen by you",
        BY_PROFILE: "mapping profile",
    }
    return names.get(matched_by, matched_by)
