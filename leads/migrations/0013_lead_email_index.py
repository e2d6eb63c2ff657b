"""Index lead rows by e-mail without case (rows with one), for erasure by e-mail.

Built with CREATE INDEX CONCURRENTLY on PostgreSQL: uploads and validation go on writing
lead rows while it builds on a big table.
"""

from django.db import migrations, models
from django.db.models.functions import Upper

from valify.migration_operations import AddIndexConcurrentlyOnPostgreSQL


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("batches", "0007_mapping_profile_customer"),
        ("leads", "0012_raw_extra_json_text"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="leadvalidation",
            index=models.Index(Upper("email"), condition=~models.Q(email=""), name="lead_email_idx"),
        ),
    ]
