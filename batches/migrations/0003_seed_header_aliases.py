"""Seed the header aliases from the reader's defaults; operators edit them in the admin."""

import unicodedata

from django.db import migrations

# A frozen copy of batches.reading.DEFAULT_ALIASES as of this migration.
ALIASES = {
    "first_name": ("First Name", "Firstname", "Forename", "Forenames", "Given Name", "fname"),
    "last_name": ("Last Name", "Surname", "Family Name", "lname"),
    "dob": ("Date of Birth", "DOB", "Birth Date", "Birthday"),
    "email": ("E-mail", "Email Address", "E-mail Address"),
    "phone": ("Phone Number", "Mobile", "Mobile Number", "Telephone", "Tel"),
    "company": ("Company Name", "Organisation", "Organization"),
    "website": ("Website", "Web", "URL", "Domain", "Web Site"),
}


def _key(text):
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def seed(apps, schema_editor):
    HeaderAlias = apps.get_model("batches", "HeaderAlias")
    for field, aliases in ALIASES.items():
        for alias in aliases:
            HeaderAlias.objects.get_or_create(
                key=_key(alias), defaults={"field": field, "alias": alias}
            )


def unseed(apps, schema_editor):
    HeaderAlias = apps.get_model("batches", "HeaderAlias")
    keys = [_key(alias) for aliases in ALIASES.values() for alias in aliases]
    HeaderAlias.objects.filter(key__in=keys).delete()


class Migration(migrations.Migration):
    dependencies = [("batches", "0002_header_aliases_pending_uploads")]

    operations = [migrations.RunPython(seed, unseed)]
