"""A scratch PostgreSQL database for the in-process benchmarks: made, migrated, dropped."""

import contextlib
import os
import uuid


@contextlib.contextmanager
def scratch_django(pg: str, name: str):
    """Set Django up on a new database `valify_bench_<name>_<hex>` on the server of `pg`
    (migrated), yield, then drop it. DEBUG is off as deployed: no query log."""
    import psycopg

    db_name = f"valify_bench_{name}_{uuid.uuid4().hex[:8]}"
    os.environ.update(
        {
            "DATABASE_URL": f"{pg}/{db_name}",
            "LOG_LEVEL": "WARNING",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
            "DJANGO_SECURE_SSL_REDIRECT": "false",
        }
    )
    admin_url = f"{pg.replace('postgres://', 'postgresql://')}/postgres"
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{db_name}"')
    try:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valify.settings")
        django.setup()
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)
        yield
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
