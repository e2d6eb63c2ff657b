"""A fake company provider over real HTTP on loopback, answering per domain."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs, urlsplit

from tests.receiver import Drip, ReceivedRequest, Receiver

ACME = {"name": "Acme Ltd", "size": "51-200", "location": "London, GB", "industry": "Widgets"}


def domain_of(request: ReceivedRequest) -> str:
    return parse_qs(urlsplit(request.path).query).get("domain", [""])[0]


class FakeProvider(Receiver):
    """Answers `companies[domain]` (a dict as JSON), 404 for unknown domains, or, first, any
    scripted answers queued for the domain in `script` (a (status, headers, body) tuple, a
    Drip, or ("sleep", seconds) to answer 200 with the company after a pause)."""

    def __init__(self, companies: dict | None = None, **kwargs):
        super().__init__(path="/company", responder=self._answer, **kwargs)
        self.companies = dict(companies or {})
        self.script: dict[str, list] = {}

    def asked(self, domain: str | None = None) -> list[ReceivedRequest]:
        return [r for r in self.requests if domain is None or domain_of(r) == domain]

    def _answer(self, request: ReceivedRequest):
        domain = domain_of(request)
        queued = self.script.get(domain)
        if queued:
            answer = queued.pop(0)
            if isinstance(answer, Drip):
                return answer
            if answer[0] == "sleep":
                return self._later(answer[1], domain)
            return answer
        return self._company(domain)

    def _company(self, domain: str):
        if domain not in self.companies:
            return 404, {}, b'{"error": "not found"}'
        return 200, {"Content-Type": "application/json"}, json.dumps(self.companies[domain])

    async def _later(self, seconds: float, domain: str):
        await asyncio.sleep(seconds)
        return self._company(domain)
