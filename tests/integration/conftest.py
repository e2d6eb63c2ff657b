"""Integration fixtures live in tests/integration_support.py (shared with the browser tests)."""

from tests.integration_support import WorkerProcess, wait_for

__all__ = ["WorkerProcess", "wait_for"]
