"""A short-lived cache of the free times residents are offered, per clinic, type and window.

Under a booking rush thousands of residents ask for the same clinic's free times; the answer
only changes when a time is published, booked, held, blocked or taken off the web. Each clinic
has a version in the cache that those changes bump after their commit; a cached list made
under another version is never served. The version is a Redis counter (INCR), never a server's
clock: app servers whose clocks disagree, or a clock that stands still, still give every bump a
version no list was ever cached under. The TTL is only a backstop for a change made outside
the services. Who may see the list (R-VIS-2's type and relation rules) is still decided per
resident on every request; only the slot rows are shared.
"""

from __future__ import annotations

import bisect
import datetime as dt
import secrets
from collections.abc import Callable, Iterable

from django.core.cache import cache

from core.cache import raising
from core.outbox.services import outbox_add_many, outbox_step

TTL_SECONDS = 300
INVALIDATE = "schedules.free_times.invalidate"


def _version_key(clinic_id: int) -> str:
    return f"free-times:version:{clinic_id}"


@outbox_step(INVALIDATE)
def invalidate(clinic_ids: Iterable[int]) -> None:
    """Bump the clinics' versions. Raises if the cache does not answer, so the outbox tries again
    until the bump lands (R-OPS-1): a list cached before the change is never served after
    Redis is back, whatever it kept."""
    counters = raising()
    for clinic_id in sorted(set(clinic_ids)):
        key = _version_key(clinic_id)
        # A counter that was lost (evicted, Redis restarted empty) starts again at a random
        # point, not at 0, so it does not walk back through versions lists were cached under.
        counters.add(key, secrets.randbits(62), timeout=None)
        counters.incr(key)


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


def cached_json_list(
    *,
    clinic_id: int,
    key: str,
    now: dt.datetime,
    load: Callable[[], list[tuple[dt.datetime, bytes]]],
) -> bytes:
    """A JSON array of the rows ``load`` returns — (start, rendered JSON object) pairs in start
    order — that start after ``now``; from the cache when it was made under the clinic's current
    version. Stored as one byte string with each row's start and offset, so a hit unpickles no
    row objects and drops the started times with one bisection."""
    version_key, rows_key = _version_key(clinic_id), f"free-times:{clinic_id}:{key}"
    found = cache.get_many([version_key, rows_key])
    version = found.get(version_key, 0)
    entry = found.get(rows_key)
    if entry is None or entry[0] != version:
        rows = load()
        starts, offsets, position = [], [], 0
        for start, rendered in rows:
            starts.append(start.timestamp())
            offsets.append(position)
            position += len(rendered) + 1
        entry = (version, starts, offsets, b",".join(rendered for _start, rendered in rows))
        cache.set(rows_key, entry, TTL_SECONDS)
    _version, starts, offsets, joined = entry
    first = bisect.bisect_right(starts, now.timestamp())
    return b"[" + (joined[offsets[first] :] if first < len(starts) else b"") + b"]"
