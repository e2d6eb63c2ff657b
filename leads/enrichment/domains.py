"""What is known about an e-mail domain offline: disposable, free mail, the popular ones."""

from __future__ import annotations

import functools

from disposable_email_domains import blocklist as _DISPOSABLE

# Free-mail providers: an address there says nothing about the person's company.
FREE_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "outlook.co.uk",
        "hotmail.com",
        "hotmail.co.uk",
        "live.com",
        "live.co.uk",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "ymail.com",
        "rocketmail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "btinternet.com",
        "btopenworld.com",
        "aol.com",
        "aol.co.uk",
        "sky.com",
        "virginmedia.com",
        "ntlworld.com",
        "blueyonder.co.uk",
        "talktalk.net",
        "tiscali.co.uk",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "gmx.com",
        "gmx.co.uk",
        "gmx.net",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "fastmail.com",
        "hushmail.com",
        "tutanota.com",
        # Leads from Ireland and the rest of Europe, and further afield, reach UK businesses too.
        "eircom.net",
        "hotmail.fr",
        "hotmail.de",
        "hotmail.it",
        "hotmail.es",
        "live.fr",
        "live.ie",
        "outlook.fr",
        "outlook.de",
        "outlook.ie",
        "yahoo.fr",
        "yahoo.de",
        "yahoo.es",
        "yahoo.it",
        "yahoo.ie",
        "gmx.de",
        "gmx.fr",
        "web.de",
        "t-online.de",
        "freenet.de",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "laposte.net",
        "sfr.fr",
        "libero.it",
        "virgilio.it",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "sina.com",
        "rediffmail.com",
    }
)

# Domains common enough that a near miss is more likely a typo than a real domain.
POPULAR_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.co.uk",
    "yahoo.com",
    "yahoo.co.uk",
    "icloud.com",
    "btinternet.com",
    "virginmedia.com",
    "talktalk.net",
    "protonmail.com",
    "ntlworld.com",
    "blueyonder.co.uk",
)

# Local parts that name a function, not a person.
ROLE_LOCAL_PARTS: frozenset[str] = frozenset(
    {
        "accounts",
        "admin",
        "administrator",
        "billing",
        "careers",
        "contact",
        "enquiries",
        "enquiry",
        "feedback",
        "finance",
        "hello",
        "help",
        "hr",
        "info",
        "jobs",
        "marketing",
        "media",
        "no-reply",
        "noreply",
        "office",
        "orders",
        "postmaster",
        "press",
        "reception",
        "sales",
        "support",
        "team",
        "webmaster",
    }
)


@functools.lru_cache(maxsize=4096)
def is_disposable(domain: str) -> bool:
    """Whether the domain, or a domain it is under, is on the disposable-address list."""
    labels = domain.split(".")
    return any(".".join(labels[i:]) in _DISPOSABLE for i in range(len(labels) - 1))


def is_free(domain: str) -> bool:
    return domain in FREE_DOMAINS


def is_role(local_part: str) -> bool:
    """Whether the local part (any +tag dropped) names a function: info@, sales@ ..."""
    return local_part.split("+", 1)[0] in ROLE_LOCAL_PARTS
