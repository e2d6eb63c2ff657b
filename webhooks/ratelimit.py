"""Per-endpoint rate limiting shared by worker processes (Redis) or within one (in-process)."""

from __future__ import annotations

import threading
import time

# Slot reservation (GCRA virtual scheduling): each caller reserves the next free slot,
# ``interval`` after the previous one, then sleeps until it. Reserving rather than
# polling means a late wake-up never loses a slot, so the achieved rate stays at `rate`
# under load, and callers are served first come, first served. A schedule less than one
# interval behind is kept (the next slot is due at once): a sender that took its slot
# late, say descheduled on a busy machine, loses none of the rate. One further behind
# starts again from now, so a pause never lets out a burst. The key outlives its schedule
# by an interval (and a second), for the same reason.
_RESERVE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now - interval then tat = now end
local wait = math.max(0, tat - now)
if wait > max_wait then
  return {0, wait}
end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat),
           'PX', math.floor((next_tat + interval - now) / 1000) + 1000)
return {1, wait}
"""

KEY_PREFIX = "valify:webhooks:rate:"


class RateLimiter:
    """``acquire(key, rate, timeout=...)`` blocks until the caller's slot for ``key`` comes.

    With a Redis URL the schedule lives in Redis (one atomic script, Redis' clock), so all
    worker processes share it; without one it is per process. Redis errors propagate:
    silently falling back to per-process limits would multiply the rate by the worker count.
    """

    def __init__(self, *, redis_url: str | None):
        self.redis_url = redis_url
        self._lock = threading.Lock()
        self._local: dict[str, float] = {}  # key -> next free slot (time.monotonic())
        self._script = None
        if redis_url:
            import redis  # only needed when a Redis URL is configured

            client = redis.Redis.from_url(
                redis_url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
            )
            self._script = client.register_script(_RESERVE_SCRIPT)

    def acquire(self, key: str, rate: float, *, timeout: float) -> bool:
        """Wait for a slot; True once allowed, False if none is free within ``timeout``.

        Returns False at once (not after sleeping out the timeout) when the next free slot
        is already known to lie beyond it; no slot is used up in that case.
        """
        wait = self.reserve(key, rate, timeout=timeout)
        if wait is None:
            return False
        if wait > 0:
            time.sleep(wait)
        return True

    def reserve(self, key: str, rate: float, *, timeout: float) -> float | None:
        """Reserve the caller's slot for ``key`` without waiting for it: the seconds until it
        comes (0: now), or None, reserving nothing, when it lies beyond ``timeout``.

        The caller must make its request when the slot comes, not before; it may do other
        work meanwhile (a slot kept and used late still counts at its own time).
        """
        if rate <= 0:
            return 0.0
        timeout = max(0.0, float(timeout))
        if self._script is not None:
            allowed, wait = self._reserve_redis(key, rate, timeout)
        else:
            allowed, wait = self._reserve_local(key, rate, timeout)
        return wait if allowed else None

    def _reserve_redis(self, key: str, rate: float, timeout: float) -> tuple[bool, float]:
        interval_us = max(1, round(1_000_000 / rate))
        allowed, wait_us = self._script(
            keys=[KEY_PREFIX + key], args=[interval_us, int(timeout * 1_000_000)]
        )
        return bool(allowed), int(wait_us) / 1_000_000

    def _reserve_local(self, key: str, rate: float, timeout: float) -> tuple[bool, float]:
        interval = 1.0 / rate
        now = time.monotonic()
        with self._lock:
            slot = self._local.get(key, now)
            if slot < now - interval:
                slot = now
            wait = max(0.0, slot - now)
            if wait > timeout:
                return False, wait
            self._local[key] = slot + interval
            if len(self._local) > 10_000:
                # Forget keys whose schedule is in the past: they carry no state.
                self._local = {k: v for k, v in self._local.items() if v > now}
        return True, wait
