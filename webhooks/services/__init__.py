"""Webhook outbox writes: schedule, claim, send, record outcomes, re-send."""

from webhooks.services.schedule import LeadNotice, build_payload, deliveries_schedule

__all__ = ["LeadNotice", "build_payload", "deliveries_schedule"]
