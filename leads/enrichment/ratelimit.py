"""A request rate shared by every worker process, for outside services such as the provider.

With a Redis broker the webhooks' Redis limiter keeps the schedule (all machines share it);
without one (the embedded defaults, one machine) a small lock file under VAR_DIR does.
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

from django.conf import settings

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the per-process limiter is all there is
    fcntl = None

# A stored schedule further ahead than this is not ours (garbage, a clock step): start over.
_MAX_AHEAD_SECONDS = 3600.0


class FileRateLimiter:
    """``acquire(key, rate, timeout=...)`` like the webhooks' RateLimiter: each caller reserves
    the next free slot (one every 1/rate seconds) under an exclusive lock on the key's file,
    then sleeps until it; False at once when that slot lies beyond `timeout`."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def acquire(self, key: str, rate: float, *, timeout: float) -> bool:
        if rate <= 0:
            return True
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / (re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:100] + ".rate")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            now = time.time()
            try:
                slot = float(os.pread(fd, 64, 0) or b"0")
            except ValueError:
                slot = 0.0
            if not math.isfinite(slot) or slot > now + _MAX_AHEAD_SECONDS:
                slot = now
            slot = max(slot, now)
            wait = slot - now
            if wait > max(0.0, timeout):
                return False
            data = repr(slot + 1.0 / rate).encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        finally:
            os.close(fd)  # releases the lock
        if wait > 0:
            time.sleep(wait)
        return True


def shared_limiter():
    """The limiter every worker shares: Redis when the broker is Redis, else the lock file."""
    from webhooks.process import process_limiter

    limiter = process_limiter()
    if limiter.redis_url or fcntl is None:
        return limiter
    return FileRateLimiter(Path(settings.VAR_DIR) / "rate-limits")
