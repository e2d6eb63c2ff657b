"""Webhook outbox writes: schedule, claim, send, record outcomes, re-send, erase."""

from webhooks.payloads import LeadNotice, build_payload
from webhooks.services.claims import (
    Claim,
    ClaimedDelivery,
    claim_holds,
    claim_release,
    claim_renew,
    deliveries_claim_due,
)
from webhooks.services.erasure import (
    ErasedDeliveries,
    deliveries_erase_person,
    deliveries_erasure_counts,
    deliveries_of_person,
)
from webhooks.services.operator import (
    batch_deliveries_cancel,
    batch_deliveries_resend,
    deliveries_cancel,
    deliveries_forget_leads,
    deliveries_resend,
    delivery_resend,
)
from webhooks.services.outcomes import Outcome, deliveries_record_outcomes
from webhooks.services.page import deliveries_send_page
from webhooks.services.schedule import deliveries_schedule
from webhooks.services.sending import (
    deliveries_drain,
    deliveries_sweep,
    sending_config,
    sweep_heartbeat_record,
)

__all__ = [
    "Claim",
    "ClaimedDelivery",
    "ErasedDeliveries",
    "LeadNotice",
    "Outcome",
    "batch_deliveries_cancel",
    "batch_deliveries_resend",
    "build_payload",
    "claim_holds",
    "claim_release",
    "claim_renew",
    "deliveries_cancel",
    "deliveries_claim_due",
    "deliveries_drain",
    "deliveries_erase_person",
    "deliveries_erasure_counts",
    "deliveries_forget_leads",
    "deliveries_of_person",
    "deliveries_record_outcomes",
    "deliveries_resend",
    "deliveries_schedule",
    "deliveries_send_page",
    "deliveries_sweep",
    "delivery_resend",
    "sending_config",
    "sweep_heartbeat_record",
]
