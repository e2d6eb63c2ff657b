"""Index deliveries by (batch, id) carrying their status, in place of batch alone, and by
when they were delivered or ended failed or rejected.

The new indexes are built first, with CREATE INDEX CONCURRENTLY on PostgreSQL, so senders go
on writing deliveries while they build on a big table; then the batch's old one is dropped.
"""

import django.db.models.deletion
from django.db import migrations, models

from valify.migration_operations import AddIndexConcurrentlyOnPostgreSQL


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
