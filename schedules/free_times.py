"""A short-lived cache of the free times residents are offered, per clinic, type and window.

Under a booking rush thousands of residents ask for the same clinic's free times; the answer
only changes when a time is published, booked, held, blocked or taken off the web. Each clinic
has a version in the cache that those changes bump after their commit; a cached list made
under another version is never served. The version is a Redis counter (INCR), never a server's
clock: app servers whose clocks disagree, or a clock that stands still, still give every bump a
version no list was ever cached under. The TTL is only a backstop for a change made outside
the services.

Beside the rows the cache keeps the clinic's side of the gate (R-VIS-2): the appointment type
with its clinic and region, and the clinic's BOOK case type. A change to any of them bumps the
version too (schedules/receivers.py), so a hidden type or a closed case type is never offered
from the cache. The resident's side — home region, relation to the clinic, booking bases,
whom they act for — is still decided per resident on every request and never stored.
"""

from __future__ import annotations

import bisect
import datetime as dt
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar, cast

from django.core.cache import cache

from core.cache import counters_bump
from core.outbox.services import outbox_add_many, outbox_step

TTL_SECONDS = 300
INVALIDATE = "schedules.free_times.invalidate"

T = TypeVar("T")


def _version_key(clinic_id: int) -> str:
    return f"free-times:version:{clinic_id}"


@outbox_step(INVALIDATE)
def invalidate(clinic_ids: Iterable[int]) -> None:
    """Bump the clinics' versions. Raises if the cache does not answer, so the outbox tries again
    until the bump lands (R-OPS-1): a list cached before the change is never served after
    Redis is back, whatever it kept."""
    # A counter that was lost (evicted, Redis restarted empty) starts again at a random point,
    # not at 0, so it does not walk back through versions lists were cached under. Every booking
    # bumps its clinic: one round trip to Redis for all of them.
    counters_bump({_version_key(clinic_id): secrets.randbits(62) for clinic_id in sorted(set(clinic_ids))})


def invalidate_on_commit(clinic_ids: Iterable[int]) -> None:
    """After the current transaction commits, so a reader never caches the state before it; as a
    row of the transaction's outbox, so a cache outage delays the bump but never loses it or
    fails the change (R-OPS-1)."""
    outbox_add_many(messages=invalidation(clinic_ids))


def invalidation(clinic_ids: Iterable[int]) -> list[tuple[str, list[object]]]:
    """The outbox row that bumps these clinics' versions (none for no clinic), for a caller that
    adds it together with rows of its own."""
    ids = sorted(set(clinic_ids))
    return [(INVALIDATE, [ids])] if ids else []


# This process keeps its own copy of the entries it served, each with the version it was made
# under, so a reader whose copy is current asks the cache only for the version (a few bytes), not
# for a clinic's rows again (a hundred kilobytes). At most this many bytes of rows are kept.
LOCAL_MAX_BYTES = 32 * 1024 * 1024
_GATE_BYTES = 4096  # about what a cached gate (two model instances) costs, for the bound


class _Missing:
    pass


MISSING = _Missing()


class _LocalEntries:
    """Least recently used first out; safe for threads. Only ever served under the version the
    cache gives the request, as the shared entries are."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[int, float, object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str, version: int) -> object:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != version or found[1] < time.monotonic():
                return MISSING
            self._entries.move_to_end(key)
            return found[2]

    def put(self, key: str, version: int, value: object) -> None:
        size = len(value.joined) + 16 * len(value.starts) if isinstance(value, JsonRows) else _GATE_BYTES
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[3]
            self._entries[key] = (version, time.monotonic() + TTL_SECONDS, value, size)
            self._bytes += size
            while self._bytes > self.max_bytes and self._entries:
                self._bytes -= self._entries.popitem(last=False)[1][3]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


local_entries = _LocalEntries(LOCAL_MAX_BYTES)


def current_version(clinic_id: int) -> int | None:
    """The clinic's version; None when there is none to rely on (the cache keeps nothing then)."""
    key = _version_key(clinic_id)
    version = cache.get(key)
    if version is None:
        # None yet, or lost, or the cache is not answering: start one at a random point, as
        # invalidate() would. A fail-open "added" while Redis is down gives a version no later
        # request reads again, so nothing stored under it is ever served.
        candidate = secrets.randbits(62)
        version = candidate if cache.add(key, candidate, timeout=None) else cache.get(key)
    return cast(int | None, version)


class ClinicEntries:
    """The clinic's version and the entries one request needs: from this process's copies when
    they were made under the current version, else from the cache in one round trip, else
    loaded. The version is read before anything is loaded, and what is loaded is stored under
    it: a change that lands in between leaves the entry marked with the old version, so the
    next reader loads afresh."""

    def __init__(self, clinic_id: int, *names: str) -> None:
        self.clinic_id = clinic_id
        self.version = current_version(clinic_id)
        self._found: dict[str, object] = {}
        if self.version is not None:
            keys = [self._key(name) for name in names]
            wanted = [key for key in keys if local_entries.get(key, self.version) is MISSING]
            if wanted:
                self._found = cache.get_many(wanted)

    def _key(self, name: str) -> str:
        return f"free-times:{self.clinic_id}:{name}"

    def get(self, name: str, load: Callable[[], T], *, keep: Callable[[T], bool] = lambda _value: True) -> T:
        """The entry ``name``; ``load`` makes it when no current one is stored, and it is stored
        when ``keep`` says so."""
        if self.version is None:
            return load()
        key = self._key(name)
        value = local_entries.get(key, self.version)
        if value is not MISSING:
            return cast(T, value)
        entry = self._found[key] if key in self._found else cache.get(key)
        if isinstance(entry, tuple) and entry[0] == self.version:
            value = entry[1]
        else:
            loaded = load()
            if not keep(loaded):
                return loaded
            cache.set(key, (self.version, loaded), TTL_SECONDS)
            value = loaded
        local_entries.put(key, self.version, value)
        return cast(T, value)


@dataclass(frozen=True)
class JsonRows:
    """Rendered JSON objects in start order, stored as one byte string with each row's start
    (a timestamp) and offset, so a cache hit unpickles no row objects and cuts the list to a
    window with two bisections."""

    starts: list[float]
    offsets: list[int]
    joined: bytes

    @classmethod
    def of(cls, rows: list[tuple[dt.datetime, bytes]]) -> JsonRows:
        starts, offsets, position = [], [], 0
        for start, rendered in rows:
            starts.append(start.timestamp())
            offsets.append(position)
            position += len(rendered) + 1
        return cls(starts, offsets, b",".join(rendered for _start, rendered in rows))

    def array(self, *, after: dt.datetime, before: dt.datetime | None = None) -> bytes:
        """A JSON array of the rows that start after ``after`` and before ``before``."""
        first = bisect.bisect_right(self.starts, after.timestamp())
        last = len(self.starts) if before is None else bisect.bisect_left(self.starts, before.timestamp())
        if first >= last:
            return b"[]"
        end = len(self.joined) if last == len(self.starts) else self.offsets[last] - 1
        # One copy of the window (a clinic's two weeks are a few hundred kilobytes), not three: a
        # slice and two concatenations would each copy it.
        return b"".join((b"[", memoryview(self.joined)[self.offsets[first] : end], b"]"))


def cached_json_list(
    *,
    clinic_id: int,
    key: str,
    now: dt.datetime,
    load: Callable[[], list[tuple[dt.datetime, bytes]]],
) -> bytes:
    """A JSON array of the rows ``load`` returns — (start, rendered JSON object) pairs in start
    order — that start after ``now``; from the cache when it was made under the clinic's current
    version."""
    name = f"rows:{key}"
    rows = ClinicEntries(clinic_id, name).get(name, lambda: JsonRows.of(load()))
    return rows.array(after=now)
