"""Per-user flood control: one user sending dozens of updates a second is slowed down without
delaying anyone else (a token bucket per user; what is over the limit is answered once and dropped).

Payment updates are never dropped. Buckets live in the process: with several webhook workers
each worker limits on its own, which still bounds a flooder to a few times the rate.
"""

import threading
import time
from dataclasses import dataclass

from django.conf import settings

IDLE_FORGET = 120.0  # seconds after which an idle user's bucket is dropped


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: float = 0.0


class FloodGate:
    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, burst
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()
        self._last_prune = time.monotonic()

    def allow(self, user_id: int) -> tuple[bool, bool]:
        """(allowed, warn): `warn` is True the first time in a while a user is slowed down."""
        if self.rate <= 0:
            return True, False
        now = time.monotonic()
        with self._lock:
            self._prune(now)
            bucket = self._buckets.get(user_id)
            if bucket is None:
                bucket = self._buckets[user_id] = _Bucket(tokens=self.burst, updated=now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return True, False
            warn = now - bucket.warned > 10
            if warn:
                bucket.warned = now
            return False, warn

    def _prune(self, now: float) -> None:
        if now - self._last_prune < IDLE_FORGET:
            return
        self._last_prune = now
        idle = [uid for uid, b in self._buckets.items() if now - b.updated > IDLE_FORGET]
        for uid in idle:
            del self._buckets[uid]


_gate: FloodGate | None = None
_gate_settings: tuple | None = None


def flood_gate() -> FloodGate:
    """The process's gate, rebuilt when the settings change (as tests do)."""
    global _gate, _gate_settings
    wanted = (settings.FLOOD_RATE, settings.FLOOD_BURST)
    if _gate is None or _gate_settings != wanted:
        _gate, _gate_settings = FloodGate(*wanted), wanted
    return _gate
