from django.db import migrations

import webhooks.fields

OPEN = ("scheduled", "sending", "retrying")
BLOCK = 1000


def canonical_open_payloads(apps, schema_editor):
    """Rewrite the bodies still to be sent in the stored form (compact, keys sorted).

    The type change keeps jsonb's own text (spaces, its key order); bodies are now sent
    as stored, so open deliveries get the form they were signed in before. Finished ones
    are re-encoded whenever they are copied (a re-send), so they can stay as they are.
    """
    Delivery = apps.get_model("webhooks", "Delivery")
    open_pks = Delivery.objects.filter(status__in=OPEN).order_by("pk").values_list("pk", flat=True)
    pks = list(open_pks)
    for start in range(0, len(pks), BLOCK):
        block = list(Delivery.objects.filter(pk__in=pks[start : start + BLOCK]).only("payload"))
        Delivery.objects.bulk_update(block, ["payload"])


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0004_delivery_customer_endpoint"),
    ]

    operations = [
        migrations.AlterField(
            model_name="delivery",
            name="payload",
            field=webhooks.fields.PayloadField(
                help_text="The body, frozen when the delivery was created."
            ),
        ),
        migrations.RunPython(canonical_open_payloads, migrations.RunPython.noop),
    ]
