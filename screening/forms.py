"""The suppression upload form of the admin: a file, and a customer within the user's scope."""

from django import forms
from django.conf import settings

from customers.selectors import customers_visible_to, user_sees_all_customers


class SuppressionUploadForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with columns email, phone, lead_id, postcode; or one value per line "
        "(its kind is recognised)."
    )
    customer = forms.ModelChoiceField(
        queryset=None,
        required=False,
        help_text="Empty: suppressed for every customer.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers_visible_to(user)
        if not user_sees_all_customers(user):
            # Staff scoped to customers suppress for one of theirs, never for everyone.
            self.fields["customer"].required = True
            self.fields["customer"].help_text = "One of your customers."

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(f"The file is over {settings.MAX_UPLOAD_MB} MB.")
        return upload
