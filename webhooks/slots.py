"""Sender slots: a worker that also validates never gives all of its slots to sending."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no reservation
    fcntl = None

# Set in a worker's main process when it starts, before its pool forks; empty elsewhere
# (an inline sweep, a test), where sending takes no slot.
_worker: dict[str, object] = {}


def sender_slots_for(*, concurrency: int, queues: Iterable[str]) -> int:
    """How many of a worker's slots may send at once.

    A worker that consumes `batches` too keeps one slot for validation (so two slots give
    one sender): slow receivers may hold back sending, never a split. A worker that
    consumes `webhooks` and not `batches` sends in every slot.
    """
    if "batches" in set(queues):
        return max(1, concurrency - 1)
    return max(1, concurrency)


def worker_sender_slots_configure(*, name: str, concurrency: int, queues: Iterable[str]) -> int:
    """Note this worker's sender slots; its pool processes inherit them. Return the count."""
    slots = sender_slots_for(concurrency=concurrency, queues=queues)
    _worker.update(name=re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:100], slots=slots)
    return slots


def worker_sender_slots_forget() -> None:
    _worker.clear()


@contextlib.contextmanager
def sender_slot() -> Iterator[bool]:
    """Hold one of this worker's sender slots while sending; yield False when none is free.

    A slot is an exclusive lock on a small file (one per slot and worker): the pool's
    processes (or threads) share them, and one that dies gives its lock back with it.
    """
    slots = _worker.get("slots")
    if not slots or fcntl is None:
        yield True
        return
    folder = Path(settings.VAR_DIR) / "sender-slots"
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(int(slots)):
        fd = os.open(folder / f"{_worker['name']}-{number}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        try:
            yield True
        finally:
            os.close(fd)  # releases the lock
        return
    yield False
