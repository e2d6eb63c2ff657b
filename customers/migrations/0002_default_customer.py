"""Create the customer `default`, with no secret: WEBHOOK_SECRET or rotate_secret gives it one."""

from django.db import migrations


def default_create(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    Customer.objects.get_or_create(slug="default", defaults={"name": "Default"})


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(default_create, migrations.RunPython.noop)]
