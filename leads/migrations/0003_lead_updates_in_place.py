from django.db import migrations

# Over half of each page is left free when rows are first written (by the split's COPY), so the
# outcome a chunk writes fits beside the pending row in the same page: with no index on the
# changed columns, PostgreSQL updates such a row without new index entries (HOT).
LEAD_TABLE_FILLFACTOR = 45


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE leads_leadvalidation SET (fillfactor = {LEAD_TABLE_FILLFACTOR})"
        )


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE leads_leadvalidation RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0002_lead_batch_link_without_constraint"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="leadvalidation",
            name="lead_batch_status_idx",
        ),
        migrations.RunPython(set_fillfactor, reset_fillfactor),
    ]
