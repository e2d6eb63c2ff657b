"""Looking up whether an e-mail domain has MX records (the one network part of the e-mail step)."""

from __future__ import annotations

import dns.exception
import dns.resolver

MX_TIMEOUT_SECONDS = 2.0


def default_resolver() -> dns.resolver.Resolver:
    """The system's resolver (its nameservers from /etc/resolv.conf)."""
    return dns.resolver.Resolver()


def lookup_mx(domain: str, *, resolver: dns.resolver.Resolver) -> bool | None:
    """True/False when the DNS answered; None when it did not (timeout, no server): not cached.

    A domain with no MX but an A record still takes mail (RFC 5321), yet a lead list wants the
    explicit MX: False then.
    """
    try:
        answer = resolver.resolve(domain, "MX", lifetime=MX_TIMEOUT_SECONDS, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return False
    except (
        dns.exception.Timeout,
        dns.resolver.NoNameservers,
        dns.resolver.NoResolverConfiguration,
    ):
        return None
    except dns.exception.DNSException:
        return None
    # A "null MX" (RFC 7505: one record, preference 0, exchange ".") says no mail is taken.
    return any(str(record.exchange) != "." for record in answer)
