"""The Redis cache, failing open (R-OPS-1).

Everything Tidbok keeps in the cache can be lost without losing a change: rate-limit counters
(DRF's throttles, allauth's login limits), the shared free-times lists, a debounce key. So when
Redis is stopped, killed or frozen, a cache read answers "nothing cached" and a write is dropped,
and the request goes on: a committed booking is never answered 500 because of the cache, and
staff can still log in (sessions live in the database, not here).

Two things make that cheap and visible rather than slow and silent:

- a short circuit breaker: after a connection error or timeout the cache is treated as down for
  ``RETRY_SECONDS`` in this process, so a hung Redis costs one socket timeout, not one per lookup;
- one WARNING when the cache goes down and one when it answers again, not a traceback per call.

Rate limits count with :meth:`FailOpenRedisCache.rate_window`: one script on the Redis server
reads, trims and extends a client's window in one round trip, atomically, so every node counts
in the same place and two requests at once cannot both take the last place.

A write that must not be dropped silently (the free-times version bump, which the outbox retries
until it lands) uses :func:`counters_bump`, which raises the cache's errors.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# How long this process leaves Redis alone after it failed to answer.
RETRY_SECONDS = 5.0
# Errors that mean "Redis is not there right now"; anything else (a wrong type, a bug) still raises.
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)

# A sliding window of request times, newest first, as Django REST framework's throttles keep it
# (the same admissions, the same wait), in a Redis list: drop the times that left the window;
# full, refuse and say the oldest time; else add this one. Returns {admitted, count, oldest}.
_RATE_WINDOW = """
local now = tonumber(ARGV[1])
local oldest = redis.call('LINDEX', KEYS[1], -1)
while oldest and tonumber(oldest) <= now - tonumber(ARGV[2]) do
  redis.call('RPOP', KEYS[1])
  oldest = redis.call('LINDEX', KEYS[1], -1)
end
local count = redis.call('LLEN', KEYS[1])
if count >= tonumber(ARGV[3]) then
  return {0, count, oldest or ARGV[1]}
end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {1, count + 1, oldest or ARGV[1]}
"""

# Per process and location (Django makes one cache object per thread; the breaker is shared).
_down_until: dict[str, float] = {}
_lock = threading.Lock()


class _ReusingRedisCacheClient(RedisCacheClient):
    """Django's client makes a new redis.Redis for every operation, which costs about as much as
    a small GET itself; a redis.Redis is only a front to its connection pool and safe to share,
    so one per pool serves them all (the free-times read asks the cache on every request)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Both come from RedisCacheClient.__init__ (the pools, the redis.Redis class); django-stubs lack them.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class FailOpenRedisCache(RedisCache):
    """Django's RedisCache whose operations answer a harmless default while Redis is unavailable."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusingRedisCacheClient
        # The rate window's script object per redis client (it sends EVALSHA, and the script itself once).
        self._scripts: dict[int, Any] = {}

    def _is_down(self) -> bool:
        return time.monotonic() < _down_until.get(self._location_key, 0.0)

    @property
    def _location_key(self) -> str:
        # RedisCache.__init__ sets _servers (the LOCATION split into a list); django-stubs leaves it out.
        return ",".join(self._servers)  # type: ignore[attr-defined]

    def _failed(self, error: Exception) -> None:
        with _lock:
            was_down = self._location_key in _down_until
            _down_until[self._location_key] = time.monotonic() + RETRY_SECONDS
        if not was_down:
            logger.warning("cache unavailable, answering without it for now: %s", error)

    def _answered(self) -> None:
        if self._location_key in _down_until:
            with _lock:
                if _down_until.pop(self._location_key, None) is not None:
                    logger.warning("cache answers again")

    def _guard(self, default: Any, operation: str, *args: Any, **kwargs: Any) -> Any:
        if self._is_down():
            return default
        try:
            result = getattr(super(), operation)(*args, **kwargs)
        except UNAVAILABLE as error:
            self._failed(error)
            return default
        self._answered()
        return result

    def rate_window(self, key: str, *, limit: int, duration: int, now: float) -> tuple[bool, int, float]:
        """Count a request at ``now`` against ``limit`` per ``duration`` seconds under ``key``:
        whether it is admitted, how many requests the window holds (with this one, if admitted)
        and the oldest one's time. With Redis unavailable it is admitted (fail open) and the
        window is empty."""
        if self._is_down():
            return True, 0, now
        try:
            client = self._cache.get_client(key, write=True)
            script = self._scripts.get(id(client))
            if script is None:
                script = self._scripts[id(client)] = client.register_script(_RATE_WINDOW)
            admitted, count, oldest = script(keys=[self.make_and_validate_key(key)], args=[repr(now), duration, limit])
        except UNAVAILABLE as error:
            self._failed(error)
            return True, 0, now
        self._answered()
        return bool(admitted), int(count), float(oldest)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        # "Added" lets the caller go on, as it would with nothing cached (fail open).
        return self._guard(True, "add", key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._guard(default, "get", key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(None, "set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(False, "touch", key, timeout, version)

    def delete(self, key, version=None):
        return self._guard(False, "delete", key, version)

    def get_many(self, keys, version=None):
        return self._guard({}, "get_many", keys, version)

    def has_key(self, key, version=None):
        return self._guard(False, "has_key", key, version)

    def incr(self, key, delta=1, version=None):
        return self._guard(delta, "incr", key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard([], "set_many", data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._guard(None, "delete_many", keys, version)

    def clear(self):
        return self._guard(False, "clear")


def counters_bump(starts: dict[str, int], alias: str = DEFAULT_CACHE_ALIAS) -> None:
    """Each counter in ``starts`` one up, a missing one first set to its start (kept without a
    timeout), with the cache's errors raised: a bump whose loss must be noticed and retried. On Redis all of them in one
    round trip (a MULTI of SET NX and INCR per counter), not Django's ``add`` and ``incr``,
    which take three (``incr`` first asks whether the key exists)."""
    cache = caches[alias]
    if not isinstance(cache, FailOpenRedisCache):
        for key, start in starts.items():
            cache.add(key, start, timeout=None)
            cache.incr(key)
        return
    pipeline = cache._cache.get_client(None, write=True).pipeline()
    for key, start in starts.items():
        # A plain integer is what RedisCache stores for an int (its serializer passes ints
        # through), so a get of the counter reads it back as one.
        redis_key = cache.make_and_validate_key(key)
        pipeline.set(redis_key, start, nx=True)
        pipeline.incr(redis_key)
    pipeline.execute()
    cache._answered()
