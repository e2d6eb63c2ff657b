"""What a sender did with its pages: counts per outcome, and why it stopped."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

from webhooks.models import DeliveryStatus

if TYPE_CHECKING:
    from webhooks.services.outcomes import Outcome


@dataclass
class SendStats:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    rejected: int = 0
    released: int = 0
    lost: int = 0  # leases taken over by another sender before the outcome was recorded
    stopped: str = ""  # why sending stopped before the page was done

    def add(self, other: SendStats) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.stopped = other.stopped or self.stopped

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)

    def count(self, outcome: Outcome) -> None:
        """Count one outcome under its status."""
        if outcome.status == DeliveryStatus.DELIVERED:
            self.delivered += 1
        elif outcome.status == DeliveryStatus.RETRYING:
            self.retrying += 1
        elif outcome.status == DeliveryStatus.REJECTED:
            self.rejected += 1
        elif outcome.status == DeliveryStatus.SCHEDULED:
            self.released += 1
        else:
            self.failed += 1


_COUNTS = tuple(f.name for f in fields(SendStats) if f.name != "stopped")  # the counters
