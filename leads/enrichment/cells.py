"""A lead's enrichment as results-CSV cells: booleans `true`/`false`, empty when not run."""

from __future__ import annotations

from leads.enrichment.base import OK


def _flag(value: object) -> str:
    return "" if value is None else ("true" if value else "false")


def enrichment_cells(enrichment: dict | None) -> dict[str, str]:
    """{CSV column: cell} for the columns the built-in steps fill; absent ones stay empty."""
    if not enrichment:
        return {}
    cells = {}
    email = enrichment.get("email") or {}
    if email.get("status") == OK:
        cells["email_disposable"] = _flag(email.get("disposable"))
        cells["email_role"] = _flag(email.get("role"))
        cells["email_free"] = _flag(email.get("free"))
        cells["email_suggestion"] = email.get("suggestion") or ""
    company = enrichment.get("company") or {}
    if company.get("status") == OK:
        cells["company_domain"] = company.get("domain") or ""
    phone = enrichment.get("phone") or {}
    if phone.get("status") == OK:
        cells["phone_type"] = phone.get("type") or ""
    return cells
