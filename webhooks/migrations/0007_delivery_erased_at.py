"""Mark deliveries whose person was erased or whose lead was purged, so none is re-sent.

Before this, a re-send of such a delivery sent its blanked payload (nulls for the person)
as a new "valid" lead. Deliveries blanked earlier are found by their lead: deleted by
retention (the link emptied) or erased (the row's raw row and lead id blanked).
"""

from django.db import migrations, models
from django.db.models import Q, TextField
from django.db.models.functions import Cast, Now


def mark_erased(apps, schema_editor):
    Delivery = apps.get_model("webhooks", "Delivery")
    LeadValidation = apps.get_model("leads", "LeadValidation")
    erased_leads = (
        LeadValidation.objects.annotate(raw_text=Cast("raw", TextField()))
        .filter(raw_text="{}", lead_id="", first_name="", last_name="", dob_raw="")
        .values("pk")
    )
    Delivery.objects.filter(Q(lead__isnull=True) | Q(lead__in=erased_leads)).update(
        erased_at=Now()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0013_lead_email_index"),
        ("webhooks", "0006_delivery_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="erased_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the person's values were blanked (erasure or retention): never re-sent.",
                null=True,
            ),
        ),
        migrations.RunPython(mark_erased, migrations.RunPython.noop, elidable=True),
    ]
