"""A database that has grown: months of completed batches, their leads, lead-id claims and
deliveries, written in SQL into the current Django database (bench/console_scale.py,
bench/pipeline.py --grown)."""

import time

LEAD_COLUMNS = (
    "batch_id, seq, source_file, worksheet, row_number, lead_id, first_name, last_name, "
    "dob_raw, dob, email, phone, company, website, postcode, reference, consent_source, "
    "consent_text, extra, raw, malformed, status, errors, failure_reason, validated_at, "
    "created_at, enrichment, ai"
)
DELIVERY_COLUMNS = (
    "msg_id, batch_id, lead_id, lead_key, payload, status, endpoint, due_at, next_attempt_at, "
    "attempts, last_error, created_at, updated_at, delivered_at"
)


def fill_grown(*, batches: int, leads: int) -> None:
    """Write `batches` completed batches of the default customer, one a day up to an hour
    ago, of `leads` leads each (1 in 12 invalid), each valid one holding its lead-id claim
    and every lead with a delivery due a day after validation: delivered, 1 in 50 failed,
    the newest batch's still scheduled. Prints what it wrote."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from batches.models import BatchJob, BatchStatus
    from customers.models import Customer
    from leads.scopes import claim_scope

    customer = Customer.objects.get(slug="default")
    scope = claim_scope(customer_pk=customer.pk)
    now = timezone.now()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for day in range(batches, 0, -1):
            at = now - timedelta(days=day - 1, hours=1)
            batch = BatchJob.objects.create(
                customer=customer,
                status=BatchStatus.COMPLETED,
                total_leads=leads,
                processed_leads=leads,
            )
            BatchJob.objects.filter(pk=batch.pk).update(
                created_at=at, started_at=at, completed_at=at, progress_at=at
            )
            params = {"batch": batch.pk, "at": at, "leads": leads, "scope": scope}
            cursor.execute(
                f"INSERT INTO leads_leadvalidation ({LEAD_COLUMNS}) "
                "SELECT %(batch)s, g, 'leads.csv', '', g + 1, "
                "'john' || g || '.smith' || %(batch)s || '.01011980', 'John', 'Smith', "
                "'01/01/1980', '1980-01-01', '', '', '', '', '', '', '', '', '{}', "
                "'{\"first_name\": \"John\"}', '', "
                "CASE WHEN g %% 12 = 0 THEN 'invalid' ELSE 'valid' END, "
                "CASE WHEN g %% 12 = 0 THEN '[\"dob_unparseable\"]' ELSE '[]' END::jsonb, '', "
                "%(at)s + g * interval '1 ms', %(at)s, '{}', '{}' "
                "FROM generate_series(1, %(leads)s) g",
                params,
            )
            cursor.execute(
                "INSERT INTO leads_leadowner (lead_id, scope, owner_id, batch_id, claimed_at) "
                "SELECT lead_id, %(scope)s, id, batch_id, validated_at FROM leads_leadvalidation "
                "WHERE batch_id = %(batch)s AND status = 'valid'",
                params,
            )
            cursor.execute(
                f"INSERT INTO webhooks_delivery ({DELIVERY_COLUMNS}) "
                "SELECT 'msg_' || md5(l.id::text), l.batch_id, l.id, l.lead_id, "
                '\'{"event":"lead.validated"}\', '
                "CASE WHEN l.validated_at + interval '1 day' > now() THEN 'scheduled' "
                "WHEN l.seq %% 50 = 0 THEN 'failed' ELSE 'delivered' END, "
                "'https://receiver.example/hook', l.validated_at + interval '1 day', "
                "l.validated_at + interval '1 day', 1, '', l.validated_at, "
                "LEAST(l.validated_at + interval '1 day', now()), "
                "CASE WHEN l.validated_at + interval '1 day' > now() OR l.seq %% 50 = 0 "
                "THEN NULL ELSE l.validated_at + interval '1 day' END "
                "FROM leads_leadvalidation l WHERE l.batch_id = %(batch)s ORDER BY l.seq",
                params,
            )
        cursor.execute("VACUUM ANALYZE")
    print(
        f"grown                 {batches} batches, {batches * leads:,} leads, their claims and "
        f"deliveries ({time.perf_counter() - started:.0f} s)"
    )
