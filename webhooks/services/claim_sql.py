"""The claim's SQL on PostgreSQL: one statement picks due deliveries and leases them."""

from customers.models import DEFAULT_SLUG
from webhooks.models import OPEN_STATUSES

# The attempts column is a smallint: a claim never counts past it, so even a delivery
# that kills its sender every lease cannot make the claim (and so every sweep) fail.
# Senders fail a delivery for good long before, at retry.MAX_ATTEMPTS.
ATTEMPTS_COLUMN_MAX = 32_767

# Literal, not a parameter: PostgreSQL then proves the claim uses the partial due index.
_OPEN_SQL = ", ".join(f"'{status}'" for status in OPEN_STATUSES)

# The database's clock throughout; statement_timestamp(), not now(), which is frozen at the
# start of an enclosing transaction. No row stays locked: the claim commits before sending.
CLAIM_SQL = f"""
WITH due AS (
    SELECT d.id FROM webhooks_delivery d
    WHERE d.status IN ({_OPEN_SQL})
      AND d.next_attempt_at <= statement_timestamp()
      AND NOT EXISTS (SELECT 1 FROM webhooks_webhookcontrol c WHERE c.paused)
      AND NOT EXISTS (
        SELECT 1 FROM customers_endpoint e WHERE e.id = d.customer_endpoint_id AND NOT e.is_enabled
      )
      {{endpoint_filter}}
      {{customer_filter}}
      {{skip_filter}}
    ORDER BY d.next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhooks_delivery d
SET status = 'sending',
    attempts = LEAST(d.attempts + 1, {ATTEMPTS_COLUMN_MAX}),
    lease_token = %(token)s,
    lease_expires_at = statement_timestamp() + %(lease)s * interval '1 second',
    next_attempt_at = statement_timestamp() + %(lease)s * interval '1 second',
    endpoint = COALESCE(
        NULLIF((SELECT b.webhook_url FROM batches_batchjob b WHERE b.id = d.batch_id), ''),
        (SELECT e.url FROM customers_endpoint e WHERE e.id = d.customer_endpoint_id),
        %(default_url)s
    ),
    updated_at = statement_timestamp()
FROM due
WHERE d.id = due.id
RETURNING d.id, d.msg_id, d.payload::text, d.endpoint, d.attempts, d.batch_id,
    d.customer_endpoint_id,
    statement_timestamp()
"""
SIGNABLE_SQL = """AND EXISTS (
        SELECT 1 FROM batches_batchjob b JOIN customers_customer c ON c.id = b.customer_id
        WHERE b.id = d.batch_id AND c.secret <> '' AND c.is_active
      )"""
NOT_HELD_SQL = """AND NOT EXISTS (
        SELECT 1 FROM batches_batchjob b WHERE b.id = d.batch_id AND b.customer_id = ANY(%(held)s)
      )"""
HAS_OWN_ENDPOINT_SQL = (
    "AND (d.customer_endpoint_id IS NOT NULL OR EXISTS "
    "(SELECT 1 FROM batches_batchjob b WHERE b.id = d.batch_id AND b.webhook_url <> ''))"
)
# With WEBHOOK_URL: it is the default customer's route only. Another customer's deliveries
# with no endpoint wait for one; sent there, they reached the default customer's receiver.
HAS_ROUTE_SQL = f"""AND (d.customer_endpoint_id IS NOT NULL OR EXISTS (
        SELECT 1 FROM batches_batchjob b JOIN customers_customer c ON c.id = b.customer_id
        WHERE b.id = d.batch_id AND (b.webhook_url <> '' OR c.slug = '{DEFAULT_SLUG}')
      ))"""
SKIP_ENDPOINTS_SQL = """AND (d.customer_endpoint_id IS NULL
        OR NOT d.customer_endpoint_id = ANY(%(skip)s))"""
SKIP_DEFAULT_ROUTE_SQL = "AND d.customer_endpoint_id IS NOT NULL"
