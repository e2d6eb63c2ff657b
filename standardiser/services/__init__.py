"""AI standardiser writes: cached answers, call budgets, call places; asking the model."""

from standardiser.services.budget import ai_call_reserve, ai_usage_start
from standardiser.services.cache import (
    ai_cache_forget,
    ai_cache_get,
    ai_cache_purge_expired,
    ai_cache_put,
)
from standardiser.services.run import (
    ANSWERED,
    FAILED,
    NO_BUDGET,
    AiAnswer,
    ai_answers,
    ai_enabled,
)
from standardiser.services.slots import ai_slot_acquire, ai_slot_release, ai_slots_ensure

__all__ = [
    "ANSWERED",
    "FAILED",
    "NO_BUDGET",
    "AiAnswer",
    "ai_answers",
    "ai_cache_forget",
    "ai_cache_get",
    "ai_cache_purge_expired",
    "ai_cache_put",
    "ai_call_reserve",
    "ai_enabled",
    "ai_slot_acquire",
    "ai_slot_release",
    "ai_slots_ensure",
    "ai_usage_start",
]
