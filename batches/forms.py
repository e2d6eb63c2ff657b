"""The upload form of the admin (one or several lead files and the batch options)."""

from django import forms

from customers.models import Customer
from customers.selectors import customer_default_for, customers_visible_to
from webhooks.validators import WEBHOOK_URL_MAX_LENGTH, validate_webhook_url


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx,.xls,.ods"})
        )
        # An empty file goes on to the upload's checks, whose refusal names it (Django's own
        # "The submitted file is empty." does not say which of several files it was).
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class WebhookURLField(forms.URLField):
    """A URL field held to the webhook URL rule alone (one message per refusal)."""

    default_validators = [validate_webhook_url]


class BatchUploadForm(forms.Form):
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.none(),
        required=False,
        to_field_name="slug",
        help_text="Whose leads these are: they go to this customer's endpoints.",
    )
    files = MultipleFileField(
        label="Lead files",
        help_text="One or more CSV, Excel (.xlsx, .xls) or OpenDocument (.ods) files; "
        "together they make one batch. "
        "Required columns: first_name, last_name, dob (dd/mm/yyyy), under these or other "
        "common names (see Header aliases). The next page shows how the columns were read; "
        "nothing is validated before you confirm.",
    )
    webhook_url = WebhookURLField(
        label="Webhook URL",
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"maxlength": WEBHOOK_URL_MAX_LENGTH}),
        help_text="Optional: where this batch's webhooks go instead of the default endpoint.",
    )
    revalidate_existing = forms.BooleanField(
        label="Re-validate existing leads",
        required=False,
        help_text="Validate and notify leads already seen in earlier batches instead of "
        "marking them duplicate.",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        field = self.fields["customer"]
        field.queryset = customers_visible_to(user).filter(is_active=True)
        field.initial = customer_default_for(user).slug

    def clean_customer(self):
        # Left empty: the user's only customer, else `default` (as the API does), and only
        # when the user may see it (fail closed for staff scoped to several customers).
        chosen = self.cleaned_data["customer"] or customer_default_for(self.user)
        if not customers_visible_to(self.user).filter(pk=chosen.pk).exists():
            raise forms.ValidationError("Choose the customer these leads belong to.")
        return chosen


class BatchConfirmForm(forms.Form):
    """The preview's form: which pending upload to confirm or cancel."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
