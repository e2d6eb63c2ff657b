"""Every batch belongs to a customer; those uploaded before customers existed go to `default`."""

import django.db.models.deletion
from django.db import migrations, models

import batches.models


def batches_to_default(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    BatchJob = apps.get_model("batches", "BatchJob")
    default, _ = Customer.objects.get_or_create(slug="default", defaults={"name": "Default"})
    BatchJob.objects.filter(customer__isnull=True).update(customer=default)


class Migration(migrations.Migration):
    dependencies = [
        ("batches", "0005_seed_lead_data_aliases"),
        ("customers", "0002_default_customer"),
    ]

    operations = [
        migrations.AddField(
            model_name="batchjob",
            name="customer",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="batches",
                to="customers.customer",
            ),
        ),
        migrations.RunPython(batches_to_default, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="batchjob",
            name="customer",
            field=models.ForeignKey(
                default=batches.models.default_customer_pk,
                help_text="Whose leads these are: they go to this customer's endpoints.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="batches",
                to="customers.customer",
            ),
        ),
        migrations.AlterField(
            model_name="batchjob",
            name="webhook_url",
            field=models.URLField(
                blank=True,
                help_text="Endpoint for this batch's webhooks; empty uses the customer's endpoints.",
                max_length=500,
                verbose_name="webhook URL",
            ),
        ),
        migrations.AddField(
            model_name="pendingupload",
            name="customer",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="customers.customer",
            ),
        ),
    ]
