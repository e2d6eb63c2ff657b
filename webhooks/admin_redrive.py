"""Re-drive deliveries: choose finished deliveries by filters, see how many and how long they
will take at each endpoint's rate, then re-send them on confirm (the re-send service's rule)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from batches.selectors import batches_visible
from customers.selectors import customers_visible_to, endpoints_visible_to
from webhooks.models import Delivery, DeliveryStatus
from webhooks.selectors import deliveries_for_resend, deliveries_visible, resend_estimate
from webhooks.services import deliveries_resend

ANY_STATUS = "any"
STATUS_CHOICES = [
    (DeliveryStatus.FAILED, "failed"),
    (DeliveryStatus.REJECTED, "rejected"),
    (DeliveryStatus.DELIVERED, "delivered"),
    (DeliveryStatus.CANCELLED, "cancelled"),
    (ANY_STATUS, "any final status"),
]
FILTERS = ("customer", "endpoint", "status", "error", "since", "until", "batch")
LOG_BATCH = 500


def _when_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class RedriveForm(forms.Form):
    """The filters, limited to what the user may see; every one optional, all combine."""

    customer = forms.ModelChoiceField(
        queryset=None, required=False, to_field_name="slug", empty_label="any"
    )
    endpoint = forms.ModelChoiceField(queryset=None, required=False, empty_label="any")
    status = forms.ChoiceField(choices=STATUS_CHOICES, initial=DeliveryStatus.FAILED)
    error = forms.CharField(
        label="Error contains",
        required=False,
        max_length=200,
        help_text="In the last error or the receiver's rejection reason, ignoring case.",
    )
    since = forms.DateTimeField(label="Created from", required=False, widget=_when_input())
    until = forms.DateTimeField(label="Created before", required=False, widget=_when_input())
    batch = forms.CharField(label="Batch id", required=False, max_length=20)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        for name in ("since", "until"):
            self.fields[name].help_text = f"Local time ({timezone.get_current_timezone_name()})."
        self.fields["customer"].queryset = customers_visible_to(user).order_by("slug")
        self.fields["endpoint"].queryset = endpoints_visible_to(user).select_related("customer")

    def clean_batch(self) -> str:
        batch_id = self.cleaned_data["batch"].strip()
        if batch_id and not batches_visible(user=self.user).filter(batch_id=batch_id).exists():
            raise ValidationError(f"Unknown batch {batch_id!r}.")
        return batch_id

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            raise ValidationError("'Created from' must be before 'Created before'.")
        return cleaned

    def deliveries(self) -> QuerySet[Delivery]:
        """The deliveries these filters choose that may be re-sent, within the user's scope."""
        data = self.cleaned_data
        return deliveries_for_resend(
            deliveries=deliveries_visible(user=self.user),
            batch_id=data["batch"] or None,
            status=None if data["status"] == ANY_STATUS else data["status"],
            since=data["since"],
            until=data["until"],
            customer=data["customer"].slug if data["customer"] else None,
            endpoint_pk=data["endpoint"].pk if data["endpoint"] else None,
            error=data["error"] or None,
        )

    def described(self) -> str:
        """The filters given, as words for the history and the message."""
        parts = []
        for name in FILTERS:
            value = self.cleaned_data.get(name)
            if value:
                text = value.isoformat() if hasattr(value, "isoformat") else str(value)
                parts.append(f"{name} {text}")
        return ", ".join(parts)


def duration_text(seconds: float | None) -> str:
    """Seconds as the operator reads them: "unlimited" for None, else h/min/s."""
    if seconds is None:
        return "unlimited"
    whole = max(1, round(seconds)) if seconds > 0 else 0
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    parts.append(f"{secs} s" if secs or not (hours or minutes) else "")
    return " ".join(p for p in parts if p)


def resends_log(request, created: list[Delivery], *, how: str = "") -> None:
    """Record each re-send in the original delivery's history (in bulk: a re-drive may be big)."""
    if not created:
        return
    content_type = ContentType.objects.get_for_model(Delivery)
    old_ids = dict(
        Delivery.objects.filter(pk__in=[d.resend_of_id for d in created]).values_list(
            "pk", "msg_id"
        )
    )
    LogEntry.objects.bulk_create(
        [
            LogEntry(
                user_id=request.user.pk,
                content_type=content_type,
                object_id=str(d.resend_of_id),
                object_repr=old_ids.get(d.resend_of_id, "")[:200],
                action_flag=CHANGE,
                change_message=f"Re-sent as {d.msg_id}{how}.",
            )
            for d in created
        ],
        batch_size=LOG_BATCH,
    )


def redrive_view(modeladmin, request):
    """Step 1 (GET): the count and time per endpoint. Step 2 (POST): re-send them."""
    if not modeladmin.has_resend_permission(request):
        raise PermissionDenied
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = RedriveForm(data, user=request.user)
    if request.method == "POST" and form.is_valid():
        created = deliveries_resend(deliveries=form.deliveries())
        resends_log(request, created, how=f" (Re-drive deliveries: {form.described()})")
        message = ngettext(
            "%(n)d delivery queued to be re-sent.",
            "%(n)d deliveries queued to be re-sent.",
            len(created),
        ) % {"n": len(created)}
        counted = request.POST.get("counted", "")
        if counted.isdigit() and int(counted) != len(created):
            # Deliveries finished, or were re-sent by someone else, between count and confirm.
            message += f" The dry run had counted {int(counted)}: they changed meanwhile."
        modeladmin.message_user(request, message, messages.SUCCESS if created else messages.WARNING)
        changelist = reverse("admin:webhooks_delivery_changelist")
        return HttpResponseRedirect(f"{changelist}?resend=yes")
    estimate = resend_estimate(form.deliveries()) if form.is_bound and form.is_valid() else None
    for row in estimate or ():
        row["time"] = duration_text(row["seconds"])
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.opts,
        "title": "Re-drive deliveries",
        "form": form,
        "estimate": estimate,
        "total": sum(row["count"] for row in estimate or ()),
        # Endpoints send side by side: the slowest one sets how long the whole takes.
        "total_time": _total_time(estimate or []),
    }
    return TemplateResponse(request, "admin/webhooks/delivery/redrive.html", context)


def _total_time(estimate: list[dict]) -> str:
    """How long the slowest limited endpoint takes; "" when none is limited."""
    limited = [row["seconds"] for row in estimate if row["seconds"] is not None]
    return duration_text(max(limited)) if limited else ""
