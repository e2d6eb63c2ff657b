"""Seed the default aliases of the lead's new fields, and more for company, phone, dob, website."""

import unicodedata

from django.db import migrations, models

# A frozen copy of the aliases batches.reading.DEFAULT_ALIASES gained with this migration.
ALIASES = {
    "dob": ("Birthdate",),
    "phone": ("MobilePhone", "Mobile Phone", "Mobile Phone Number"),
    "company": ("Account Name", "Account"),
    "website": ("Website URL", "Company Domain Name"),
    "reference": ("Lead ID", "Reference", "Ref", "External ID", "Record ID", "Customer Reference"),
    "full_name": ("Full Name", "Name", "Contact Name", "Person Name"),
    "postcode": ("Postcode", "Post Code", "Postal Code", "Zip", "ZIP Code"),
    "consent_at": ("Consent Date", "Opt-in Date"),
    "consent_source": ("Consent Source", "Opt-in URL"),
    "consent_text": ("Consent Text", "Consent Wording"),
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
    for field, aliases in ALIASES.items():
        HeaderAlias.objects.filter(field=field, key__in=[_key(a) for a in aliases]).delete()


class Migration(migrations.Migration):
    dependencies = [("batches", "0004_mapping_profile")]

    operations = [
        migrations.AlterField(
            model_name="headeralias",
            name="field",
            field=models.CharField(
                choices=[
                    (name, name)
                    for name in (
                        "first_name",
                        "last_name",
                        "dob",
                        "email",
                        "phone",
                        "company",
                        "website",
                        "reference",
                        "full_name",
                        "postcode",
                        "consent_at",
                        "consent_source",
                        "consent_text",
                    )
                ],
                help_text="The lead field this header stands for.",
                max_length=16,
            ),
        ),
        migrations.RunPython(seed, unseed),
    ]
