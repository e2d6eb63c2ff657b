"""Mapping profiles are keyed by their header row up to its last named column.

A profile remembered from a file with trailing separators was keyed with its empty headers
too, so the same export without them (or with more) matched no profile. Re-key those
profiles; one whose new key another profile of the same owner already holds stays as it was.
"""

import hashlib
import json

from django.db import migrations


def rekey(apps, schema_editor):
    MappingProfile = apps.get_model("batches", "MappingProfile")
    for profile in MappingProfile.objects.all().iterator():
        row = list(profile.header_row)
        if not row or row[-1]:
            continue
        while row and not row[-1]:
            row.pop()
        # As batches.reading.choices.header_key, kept here as it was when written.
        key = hashlib.sha256(json.dumps(row).encode()).hexdigest()
        owner = MappingProfile.objects.filter(customer_id=profile.customer_id, header_key=key)
        if owner.exclude(pk=profile.pk).exists():
            continue
        MappingProfile.objects.filter(pk=profile.pk).update(
            header_key=key,
            header_row=row,
            headers=list(profile.headers)[: len(row)],
            columns=list(profile.columns)[: len(row)],
        )


class Migration(migrations.Migration):
    dependencies = [("batches", "0007_mapping_profile_customer")]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
