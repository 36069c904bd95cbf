"""Hints that a customer may have a wait open (for a support message, a review's text), kept in the
cache the shop's processes share (CACHE_URL), so that ending waits — which every command and button
press does — costs no query when none is open, the usual case.

The database stays the truth: a message is taken for a wait only if the wait's row is there. Only the
ending trusts the hint; a hint lost (a process that does not share the cache) leaves a wait to run out
on its own, as before hints existed.
"""

from datetime import timedelta

from django.core.cache import cache

MARGIN = timedelta(minutes=1)


def _key(kind: str, telegram_id: int) -> str:
    return f"wait-hint:{kind}:{telegram_id}"


def wait_hint_set(kind: str, telegram_id: int, lasts: timedelta) -> None:
    cache.set(_key(kind, telegram_id), 1, (lasts + MARGIN).total_seconds())


def wait_hint_take(kind: str, telegram_id: int) -> bool:
    """Whether a wait of `kind` may be open (the hint is removed); never for what is not a Telegram id (a
    forged update's sender)."""
    if type(telegram_id) is not int:
        return False
    return bool(cache.delete(_key(kind, telegram_id)))
