"""Build, before the first chunk, what the rules and enrichment would build during it."""

from django.conf import settings
from django.utils import timezone

from batches.services.chunks import configured_rules
from leads.enrichment import EnrichContext, EnrichLead, enrich_leads, load_enrichers
from leads.rules import validate_lead

# A valid lead with every field the rules and the offline enrichment steps read.
_SAMPLE = {
    "first_name": "Ann",
    "last_name": "Smith",
    "dob": "01/02/1980",
    "email": "ann.smith@example.co.uk",
    "phone": "07400 123456",
    "company": "Example Ltd",
    "website": "https://www.example.co.uk/contact",
    "postcode": "M1 1AE",
    "consent_at": "2025-01-01T09:00:00Z",
    "consent_source": "https://example.co.uk/form",
    "consent_text": "I agree to be contacted.",
}


def rules_warm_up() -> None:
    """Validate and enrich one made-up lead, with no query and no network.

    The first lead a process validates builds tables the libraries load lazily (the public
    suffix trie, phone number patterns and metadata): about 0.15 s. A worker calls this in
    its main process before its pool forks, so every pool process starts with them built,
    in memory they share, instead of each paying for them in its first chunk.
    """
    ctx, validators = configured_rules(today=timezone.now().date())
    lead = validate_lead(_SAMPLE, ctx=ctx, validators=validators).lead
    enrich_leads(
        [EnrichLead(email=lead.email, phone=lead.phone, website=_SAMPLE["website"])],
        enrichers=load_enrichers(settings.LEAD_ENRICHERS),
        # No MX answers and no provider cache: the steps that need them answer skipped.
        ctx=EnrichContext(phone_region=settings.PHONE_DEFAULT_REGION, mx=None, company=None),
        batch_size=1,
    )
