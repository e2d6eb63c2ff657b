"""A lead's enrichment as results values: typed (bool, str), absent when the step did not run."""

from __future__ import annotations

from leads.enrichment.base import OK


def enrichment_values(enrichment: dict | None) -> dict[str, object]:
    """{results column: value} for the columns the built-in steps fill; the CSV writes
    booleans as `true`/`false` and None as empty."""
    if not enrichment:
        return {}
    cells = {}
    email = enrichment.get("email") or {}
    if email.get("status") == OK:
        cells["email_disposable"] = email.get("disposable")
        cells["email_role"] = email.get("role")
        cells["email_free"] = email.get("free")
        cells["email_suggestion"] = email.get("suggestion") or None
    company = enrichment.get("company") or {}
    if company.get("status") == OK:
        cells["company_domain"] = company.get("domain") or None
    provider = enrichment.get("company_provider") or {}
    if provider.get("status") == OK:
        for name in ("name", "size", "location", "industry"):
            cells[f"company_{name}"] = provider.get(name) or None
    phone = enrichment.get("phone") or {}
    if phone.get("status") == OK:
        cells["phone_type"] = phone.get("type") or None
    return cells
