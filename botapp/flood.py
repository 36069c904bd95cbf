"""Per-user flood control: one user sending dozens of updates a second is slowed down without
delaying anyone else (a token bucket per user; what is over the limit is answered once and dropped).

Payment updates are never dropped. Where the buckets live follows the cache (CACHE_URL): with
Django's Redis cache every process and host of the shop shares each user's bucket (SharedFloodGate,
one atomic script per update); otherwise they live in the process (FloodGate), which is right for
one `runbot` and, with several webhook workers, still bounds a flooder to a few times the rate.

Messages to support have a budget of their own (support_gate): each one reaches every staff member.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger(__name__)

IDLE_FORGET = 120.0  # seconds after which an idle user's bucket is dropped
# Messages to support: a few at once, then one a minute.
SUPPORT_BURST = 5
SUPPORT_RATE = 1 / 60


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


# The same token bucket as FloodGate.allow, atomically in Redis. KEYS[1]: the user's bucket;
# ARGV: rate, burst, now (seconds; empty: the Redis server's clock), seconds to keep an idle bucket.
# Returns {allowed, warn}.
TOKEN_BUCKET = """
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated', 'warned')
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if not now then  -- the Redis server's clock: one clock for every host
  local time = redis.call('TIME')
  now = tonumber(time[1]) + tonumber(time[2]) / 1000000
end
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
local warned = tonumber(state[3]) or 0
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local allowed, warn = 0, 0
if tokens >= 1 then
  tokens, allowed = tokens - 1, 1
elseif now - warned > 10 then
  warned, warn = now, 1
end
local function exact(x) return string.format('%.17g', x) end
redis.call('HSET', KEYS[1], 'tokens', exact(tokens), 'updated', exact(now), 'warned', exact(warned))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return {allowed, warn}
"""


class SharedFloodGate:
    """Buckets kept in Django's Redis cache: every process and host of the shop shares a user's budget.

    If Redis cannot be reached, updates are let through (and it is logged): flood control must never
    stop the shop.
    """

    def __init__(
        self, rate: float, burst: int, cache: RedisCache, *, clock: Callable[[], float] | None = None, name: str = "flood"
    ):
        self.rate, self.burst, self.cache, self.name = rate, burst, cache, name
        self.clock = clock  # None: Redis's own clock, the same for every host (tests pass one)
        self._script = None
        self._last_error_logged = 0.0

    def allow(self, user_id: int) -> tuple[bool, bool]:
        if self.rate <= 0:
            return True, False
        key = self.cache.make_and_validate_key(f"{self.name}:{user_id}")
        try:
            client = self.cache._cache.get_client(key, write=True)
            if self._script is None:
                self._script = client.register_script(TOKEN_BUCKET)
            now = "" if self.clock is None else self.clock()
            allowed, warn = self._script(keys=[key], args=[self.rate, self.burst, now, int(IDLE_FORGET)], client=client)
        except Exception as exc:
            now = time.monotonic()
            if now - self._last_error_logged > 60:
                self._last_error_logged = now
                log.warning("flood control could not reach the cache (%s); letting updates through", type(exc).__name__)
            return True, False
        return bool(allowed), bool(warn)


_gates: dict[str, tuple[tuple, FloodGate | SharedFloodGate]] = {}


def _gate(name: str, rate: float, burst: int) -> FloodGate | SharedFloodGate:
    """The process's gate called `name`, rebuilt when the settings change (as tests do)."""
    configured = settings.CACHES["default"]
    wanted = (rate, burst, configured["BACKEND"], configured.get("LOCATION"))
    built = _gates.get(name)
    if built is None or built[0] != wanted:
        cache = caches["default"]
        gate = SharedFloodGate(rate, burst, cache, name=name) if isinstance(cache, RedisCache) else FloodGate(rate, burst)
        built = _gates[name] = (wanted, gate)
    return built[1]


def flood_gate() -> FloodGate | SharedFloodGate:
    """Every update of a user (FLOOD_RATE, FLOOD_BURST)."""
    return _gate("flood", settings.FLOOD_RATE, settings.FLOOD_BURST)


def support_gate() -> FloodGate | SharedFloodGate:
    """A user's messages to support; off when flood control is (FLOOD_RATE=0)."""
    return _gate("support", SUPPORT_RATE if settings.FLOOD_RATE > 0 else 0, SUPPORT_BURST)
