"""Index deliveries by (batch, id) carrying their status, in place of batch alone, and by
when they were delivered or ended failed or rejected.

The new indexes are built first, with CREATE INDEX CONCURRENTLY on PostgreSQL, so senders go
on writing deliveries while they build on a big table; then the batch's old one is dropped.
"""

import django.db.models.deletion
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgreSQL(AddIndexConcurrently):
    """CONCURRENTLY where the database has it (PostgreSQL), a plain CREATE INDEX elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            _drop_if_invalid(schema_editor, self.index.name)
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(
            self, app_label, schema_editor, from_state, to_state
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(
            self, app_label, schema_editor, from_state, to_state
        )


def _drop_if_invalid(schema_editor, name: str) -> None:
    """Drop what a failed or interrupted build of this index left: CREATE INDEX CONCURRENTLY
    leaves an INVALID index behind, which makes the next try fail as already existing."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace "
            "AND NOT i.indisvalid",
            [name],
        )
        if cursor.fetchone():
            schema_editor.execute(
                f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}"
            )


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("batches", "0007_mapping_profile_customer"),
        ("webhooks", "0005_payload_json_text"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="delivery",
            index=models.Index(
                fields=["batch", "id"], include=["status"], name="delivery_batch_idx"
            ),
        ),
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(delivered_at__isnull=False),
                fields=["delivered_at"],
                name="delivery_delivered_at_idx",
            ),
        ),
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(status__in=["failed", "rejected"]),
                fields=["status", "updated_at"],
                name="delivery_ended_idx",
            ),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="batch",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="batches.batchjob",
            ),
        ),
    ]
