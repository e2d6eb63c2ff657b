"""Cancels reach senders at once.

A sender must not send what was cancelled after it claimed it, and a query before every
request halved its rate. On PostgreSQL a cancel announces itself (NOTIFY, delivered when
it commits) and senders listen on their own connection: checking for news is a read of
the socket's buffer, no round trip. Where notifications cannot arrive (SQLite, or inside
a transaction, as in tests) the sender asks the database before each request instead.
"""

from __future__ import annotations

import weakref

from django.db import connection

from valify.bulk import is_postgresql

CANCEL_CHANNEL = "valify_deliveries_cancelled"


class _Listening:
    """A psycopg connection that LISTENs for cancels, and whether one arrived."""

    def __init__(self, raw) -> None:
        self.news = False
        raw.add_notify_handler(self._heard)  # notifications read along with other answers

    def _heard(self, notify) -> None:
        self.news = True


# Keyed by the connection object itself (weakly): a reconnect makes a new one, which must
# LISTEN again, and an id() could be reused by it.
_listening: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cancels_announce() -> None:
    """Tell listening senders that deliveries were cancelled, or a customer's secrets rotated
    (in that change's transaction): they look again before their next request."""
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CANCEL_CHANNEL])


def cancels_listen():
    """LISTEN for cancels on this thread's connection, once; return the raw connection, or
    None where notifications cannot arrive.

    A sender calls it before it claims: a cancel that commits between its claim and its
    first look is then announced to it too.
    """
    if not is_postgresql() or connection.in_atomic_block:
        return None
    connection.ensure_connection()
    raw = connection.connection
    if raw not in _listening:
        _listening[raw] = _Listening(raw)
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {CANCEL_CHANNEL}")
    return raw


class CancelWatch:
    """Whether a cancel may have touched what a sender holds since it last looked."""

    def __init__(self) -> None:
        self._raw = cancels_listen()

    @property
    def announced(self) -> bool:
        """Whether news comes by announcement (else every look is news)."""
        return self._raw is not None

    def maybe_cancelled(self) -> bool:
        """True when something may have been cancelled since the last call (or always)."""
        raw = self._raw
        if raw is None or raw is not connection.connection:
            return True  # no way to be told: ask the database every time
        state = _listening[raw]
        pgconn = raw.pgconn
        pgconn.consume_input()  # what the server sent while the connection sat idle
        while pgconn.notifies() is not None:
            state.news = True
        news, state.news = state.news, False
        return news
