"""Which of a file's own (supplier) columns a customer's payloads carry: `send_extra`."""

SEND_EXTRA_ALL = "all"
SEND_EXTRA_NONE = "none"


def send_extra_headers(text: str) -> frozenset[str] | None:
    """The headers `text` lets through, case-folded; None for all of them.

    `text` is "all" (or empty), "none" or headers one per line, as in the file (a repeated
    one with ` (2)`, an empty one `column_<letter>`).
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or [line.casefold() for line in lines] == [SEND_EXTRA_ALL]:
        return None
    if [line.casefold() for line in lines] == [SEND_EXTRA_NONE]:
        return frozenset()
    return frozenset(line.casefold() for line in lines)


def extra_sent(extra: dict | None, headers: frozenset[str] | None) -> dict | None:
    """`extra` with only the supplier columns in `headers` (None: all of them)."""
    if not extra or headers is None:
        return extra
    return {name: value for name, value in extra.items() if name.casefold() in headers}
