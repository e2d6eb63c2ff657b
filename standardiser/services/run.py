"""Ask the model about a chunk's unread rows, before the chunk's transaction.

The network is never used inside a database transaction: this phase fills the answers (from
the cache or the model) that the chunk's transaction then puts through the rules.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from standardiser.client import OUT_OF_TIME, ModelConfig, ModelReply, ask_model
from standardiser.prompt import (
    PROMPT_VERSION,
    cache_key,
    cells_to_send,
    needs_reading,
    row_cells,
    worth_sending,
)
from standardiser.services.budget import ai_call_reserve, ai_usage_start
from standardiser.services.cache import ai_cache_get, ai_cache_purge_expired, ai_cache_put
from standardiser.services.slots import ai_slot_acquire, ai_slot_release, ai_slots_ensure
from valify.bulk import relax_commit_durability
from valify.outbound import watched_session

logger = logging.getLogger(__name__)

ANSWERED = "answered"
NO_BUDGET = "no_budget"  # past AI_MAX_CALLS_PER_BATCH or ENRICH_CHUNK_BUDGET_SECONDS
CALLS_USED_UP = "calls_used_up"  # NO_BUDGET's reason: AI_MAX_CALLS_PER_BATCH reached
FAILED = "failed"  # every attempt failed or answered nothing
PROGRESS_EVERY = 20.0  # seconds; the reconciler must see progress at least every 30 s
_IDLE_WAIT = 0.05


@dataclass
class AiAnswer:
    """What the model said about one row, and what it was shown."""

    outcome: str
    cells: dict[str, str]  # the row's name and date-of-birth cells
    sent: dict[str, str]  # those the model may see
    unread: tuple[bool, bool]  # (names, date) the rules could not read
    answer: dict[str, str] | None = None
    reason: str = ""  # why there is no answer (FAILED, NO_BUDGET)
    model: str = field(default_factory=lambda: settings.AI_MODEL)
    prompt_version: str = PROMPT_VERSION


def ai_enabled() -> bool:
    """Whether the standardiser is on (AI_BASE_URL and AI_MODEL set, AI_ENABLED not false)."""
    return bool(settings.AI_ENABLED and settings.AI_BASE_URL and settings.AI_MODEL)


def ai_answers(
    *,
    batch_pk: int,
    rows: Iterable[Mapping],
    on_progress: Callable[[], None] | None = None,
    deadline: float | None = None,
) -> dict[int, AiAnswer]:
    """Answers, by row pk, for the rows the rules could not read and the model could.

    `rows` hold pk, seq, first_name, last_name, dob_raw and raw. Cached answers are used
    as they are; the others are asked for, AI_CONCURRENCY at a time across workers, each
    row's call reserved against the batch's AI_MAX_CALLS_PER_BATCH, until
    `deadline` (monotonic; default ENRICH_CHUNK_BUDGET_SECONDS from now). A failing service
    never raises here.
    """
    if not ai_enabled():
        return {}
    ai_usage_start(batch_pk=batch_pk)
    answers: dict[int, AiAnswer] = {}
    groups: dict[str, list[tuple[int, int]]] = {}  # cache key -> [(pk, seq)], asked once
    for row in rows:
        unread = needs_reading(
            first_name=row["first_name"], last_name=row["last_name"], dob_raw=row["dob_raw"]
        )
        if not any(unread):
            continue
        cells = row_cells(row["raw"] or {})
        sent = cells_to_send(cells)
        if not worth_sending(cells=cells, sent=sent, unread=unread):
            continue
        answers[row["pk"]] = AiAnswer(outcome=NO_BUDGET, cells=cells, sent=sent, unread=unread)
        key = cache_key(model=settings.AI_MODEL, prompt_version=PROMPT_VERSION, sent=sent)
        groups.setdefault(key, []).append((row["pk"], row["seq"]))
    if not groups:
        return answers
    ai_cache_purge_expired()
    for key, answer in ai_cache_get(keys=groups).items():
        for pk, _ in groups.pop(key):
            answers[pk].outcome, answers[pk].answer = ANSWERED, answer
    if groups:
        asked = _ask(batch_pk, groups, answers, on_progress, deadline)
        logger.info("ai.asked", extra={"batch_pk": batch_pk, "calls": asked})
    return answers


def _ask(batch_pk, groups, answers, on_progress, deadline) -> int:
    """Ask for each group's answer; return how many calls were made."""
    if deadline is None:
        deadline = time.monotonic() + settings.ENRICH_CHUNK_BUDGET_SECONDS
    config = ModelConfig(
        base_url=settings.AI_BASE_URL,
        model=settings.AI_MODEL,
        api_key=settings.AI_API_KEY,
        timeout=settings.AI_TIMEOUT,
        deadline=deadline,
    )
    last_progress = time.monotonic()
    ai_slots_ensure()
    waiting = deque(groups.items())
    running: dict[Future, tuple[str, list, str]] = {}
    calls = 0
    session = watched_session(connections=settings.AI_CONCURRENCY)
    with session, ThreadPoolExecutor(settings.AI_CONCURRENCY) as pool:
        while waiting or running:
            if on_progress is not None and time.monotonic() - last_progress > PROGRESS_EVERY:
                on_progress()
                last_progress = time.monotonic()
            started = False
            if waiting and time.monotonic() < deadline and len(running) < settings.AI_CONCURRENCY:
                started, called = _start(batch_pk, waiting, running, pool, config, session, answers)
                calls += called
            elif waiting and time.monotonic() >= deadline:
                _leave(waiting, answers, OUT_OF_TIME)  # NO_BUDGET: they keep their rule errors
            if started:
                continue
            done, _ = wait(list(running), timeout=_IDLE_WAIT, return_when=FIRST_COMPLETED)
            if not running and waiting:
                time.sleep(_IDLE_WAIT)  # every place taken by other workers
            for future in done:
                key, members, token = running.pop(future)
                try:
                    reply = future.result()
                except Exception:  # a failing service never fails the chunk
                    logger.exception("ai.call_crashed", extra={"batch_pk": batch_pk})
                    reply = ModelReply(None, "crashed")
                answer = reply.answer
                ai_call_finish(token=token, key=key, answer=answer)
                for pk, _ in members:
                    answers[pk].outcome = ANSWERED if answer is not None else FAILED
                    answers[pk].answer, answers[pk].reason = answer, reply.reason
    return calls


def _leave(waiting: deque, answers: dict[int, AiAnswer], reason: str) -> None:
    """Leave the groups not asked for (NO_BUDGET), saying why."""
    for _, members in waiting:
        for pk, _ in members:
            answers[pk].reason = reason
    waiting.clear()


def ai_call_finish(*, token: str, key: str, answer: dict | None) -> None:
    """Give the call's place back and keep a good answer, in one commit."""
    with transaction.atomic():
        # Lost in a server crash, a place expires and an answer is asked again: no harm.
        relax_commit_durability()
        ai_slot_release(token=token)
        if answer is not None:
            ai_cache_put(key=key, answer=answer)


def _start(batch_pk, waiting, running, pool, config, session, answers) -> tuple[bool, bool]:
    """Send the next group if a place is free: (went on to the next group, made a call).

    The place and the row's call are taken in one commit. A group whose call cannot be
    reserved (the batch's calls used up) keeps its rule errors.
    """
    with transaction.atomic():
        # Lost in a server crash, the reservation and its count go together.
        relax_commit_durability()
        token = ai_slot_acquire()
        if token is None:
            return False, False
        key, members = waiting.popleft()
        pk, seq = members[0]
        if not ai_call_reserve(batch_pk=batch_pk, seq=seq):
            transaction.set_rollback(True)  # the place stays free
            waiting.appendleft((key, members))
            # The batch's calls are used up: the rest keep their rule errors.
            _leave(waiting, answers, CALLS_USED_UP)
            return True, False
    future = pool.submit(ask_model, config=config, sent=answers[pk].sent, session=session)
    running[future] = (key, members, token)
    return True, True
