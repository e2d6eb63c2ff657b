"""UK postcodes: the normal form ("SW1A 1AA") and whether a value has a postcode's shape."""

from __future__ import annotations

import functools
import re

# After upper-casing and removing spaces: Girobank's GIR0AA, a forces postcode (BFPO and
# digits), or outward code + inward code (digit and two letters).
_POSTCODE_RE = re.compile(r"GIR0AA|BFPO[0-9]{1,4}|[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}")


# Checked at the split and again by the rule: cached, the second costs a look-up.
@functools.lru_cache(maxsize=16384)
def normalise_postcode(value: str) -> str | None:
    """``"sw1a1aa"`` -> ``"SW1A 1AA"``, ``"bfpo1234"`` -> ``"BFPO 1234"``; None if not a UK
    postcode's format."""
    compact = "".join(value.split()).upper()
    if not _POSTCODE_RE.fullmatch(compact):
        return None
    if compact.startswith("BFPO"):
        return f"BFPO {compact[4:]}"
    return f"{compact[:-3]} {compact[-3:]}"


def postcode_text(value: str) -> str:
    """A postcode as stored and sent: normalised when it is one, else trimmed as given."""
    return normalise_postcode(value) or value.strip()
