"""What the lead rules' tests share: a validation day and a lead to vary."""

import datetime

from leads.rules import RuleContext, validate_lead

TODAY = datetime.date(2026, 3, 15)
CTX = RuleContext(today=TODAY)


def lead_fields(**overrides):
    fields = {"first_name": "John", "last_name": "Smith", "dob": "15/03/1990"}
    fields.update(overrides)
    return fields


def errors_for(ctx=CTX, **overrides):
    return validate_lead(lead_fields(**overrides), ctx=ctx).errors
