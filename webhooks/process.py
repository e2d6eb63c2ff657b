"""One webhook Transport and one rate limiter per worker process, rebuilt when settings change."""

from __future__ import annotations

import os
import threading

from django.conf import settings

from webhooks.ratelimit import RateLimiter
from webhooks.transport import Transport

_process_lock = threading.Lock()
_process_state: dict[str, object] = {}


def _forget_process_state() -> None:
    # A forked child must not share its parent's sockets.
    _process_state.clear()


os.register_at_fork(after_in_child=_forget_process_state)


def process_transport() -> Transport:
    """This process's Transport (keep-alive pools), rebuilt only when its settings change."""
    key = (float(settings.WEBHOOK_TIMEOUT), bool(settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS))
    with _process_lock:
        current = _process_state.get("transport")
        if current is not None and _process_state.get("transport_key") == key:
            return current
        transport = Transport(timeout=key[0], allow_private_networks=key[1])
        _process_state["transport"], _process_state["transport_key"] = transport, key
    if current is not None:
        current.close()
    return transport


def process_limiter() -> RateLimiter:
    """The rate limiter: shared through Redis when the broker is Redis, else this process's."""
    broker = str(settings.CELERY_BROKER_URL)
    redis_url = broker if broker.startswith(("redis://", "rediss://")) else None
    with _process_lock:
        current = _process_state.get("limiter")
        if current is not None and _process_state.get("limiter_key") == redis_url:
            return current
        limiter = RateLimiter(redis_url=redis_url)
        _process_state["limiter"], _process_state["limiter_key"] = limiter, redis_url
    return limiter
