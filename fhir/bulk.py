"""The SMART Scheduling Links files behind ``/fhir/r4/$bulk-publish`` (R-PUB).

The ``bulk_publish_refresh`` task keeps one NDJSON file per resource type, in parts of at most
``TIDBOK_BULK_PART_LINES`` lines (:class:`~fhir.models.BulkPublishPart`, each its own output in
the manifest); the endpoints only serve what is stored. A refresh is incremental: the Slot parts
are id ranges, and a walk of short steps (one task per part, :mod:`fhir.bulk_slots`) rewrites
only those whose slots changed, then the small Location and Schedule files. No step builds more
than a part's lines: a range holding more (the whole file, the first time) is cut first, and the
rest is the next step's. Each line's
``meta.lastUpdated`` is the time its content last changed, kept in the file's index beside a
digest of the content, so ``_since`` needs neither parsing nor a slot query.

Publishing times (the publishing tasks, which also bring back cancelled and released times), a
booking, a block or removing a type from a schedule ask for a refresh after the commit: they
write an outbox row named :data:`REFRESH_ASK` (``schedules.services.bulk_refresh_later``), which
the outbox relay runs here, so the lower apps never import this package. The asks
are folded together: one refresh is queued until it starts, and a beat entry refreshes
every minute as the safety net (and to let times enter the visibility window, R-VIS-1).
A refresh starts at most once every ``TIDBOK_BULK_REFRESH_SECONDS`` (a minute), across all
workers: one asked for sooner is put off until then (:func:`refresh_wait`), so a booking rush
costs one rewrite a minute, not one per change.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
import math
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from clinics.models import Clinic
from core.outbox.services import outbox_add, outbox_step
from core.public_url import public_base_url

from . import builders, bulk_slots, selectors
from .models import BulkPublishFile, BulkPublishPart

PENDING_KEY = "fhir:bulk-publish:pending"
# When the latest refresh started (kept TIDBOK_BULK_REFRESH_SECONDS), and a refresh put off
# until then (one is enough, however many ask meanwhile).
STARTED_KEY = "fhir:bulk-publish:started"
POSTPONED_KEY = "fhir:bulk-publish:postponed"
# A queued refresh that never ran (a lost task, a rolled-back transaction) stops folding
# further asks after this long; the beat entry covers the gap meanwhile.
PENDING_SECONDS = 60
# The outbox row's name: schedules.services.BULK_REFRESH_ASK spells the same string (a test
# keeps them equal). The name it had before the move still runs the step, for rows queued then.
REFRESH_ASK = "fhir.bulk.refresh_ask"
_REFRESH_ASK_BEFORE_MOVE = "schedules.bulk.refresh_ask"
logger = logging.getLogger(__name__)


def _first_ask() -> bool:
    try:
        return bool(cache.add(PENDING_KEY, "1", timeout=PENDING_SECONDS))
    except Exception:  # the cache is down: queue anyway, the task is idempotent
        logger.warning("bulk publish debounce unavailable", exc_info=True)
        return True


def refresh_later() -> None:
    """Queue a refresh of the bulk files once the current transaction commits, unless one is
    already queued and has not started yet. The ask is a row of the transaction's outbox
    (R-OPS-1): the debounce key is only set when the relay handles it after the commit, so a
    rolled-back change never holds back the next refresh, and a broker outage delays the
    refresh instead of failing the change."""
    outbox_add(name=REFRESH_ASK)


@outbox_step(_REFRESH_ASK_BEFORE_MOVE)
@outbox_step(REFRESH_ASK)
def _refresh_ask() -> None:
    """The outbox's step: send the refresh task unless one is queued and has not started."""
    from .tasks import bulk_publish_refresh  # the task module is built on this one

    if not _first_ask():
        return
    try:
        bulk_publish_refresh.delay()
    except Exception:
        # Not queued after all: the outbox retries this ask, which must not find the key set.
        with contextlib.suppress(Exception):
            cache.delete(PENDING_KEY)
        raise


def refresh_wait() -> float:
    """0 when a refresh may start now, which this claims; else the seconds until one may.
    The claim is an add to the cache that expires after TIDBOK_BULK_REFRESH_SECONDS, so two
    workers never both start within that time. With the cache down it answers 0 (fail open):
    refreshing too often is only slower."""
    interval = settings.TIDBOK_BULK_REFRESH_SECONDS
    now = time.time()
    if interval <= 0 or cache.add(STARTED_KEY, now, timeout=interval):
        return 0.0
    started = cache.get(STARTED_KEY)
    # Never 0 here: the claim was refused, so the interval has not passed on the cache's clock.
    return max(started + interval - now, 1.0) if isinstance(started, float) else 1.0


def postpone_first(wait: float) -> bool:
    """Whether the caller is the first to put a refresh off for ``wait`` seconds (and so
    queues it); a later one finds it queued."""
    return bool(cache.add(POSTPONED_KEY, "1", timeout=math.ceil(wait) + 1))


def _places(pairs: set[tuple[int, int]], base_url: str) -> dict[str, Iterator[dict[str, Any]]]:
    """The Location and Schedule resources of the Schedules ``pairs`` (resource id, type id)."""
    schedules = selectors.schedules_of(pairs)
    clinic_ids = {t.clinic_id for _r, t in schedules}
    clinics = Clinic.objects.select_related("region").filter(pk__in=clinic_ids).order_by("pk")
    return {
        "Location": (builders.location_resource(c, base_url) for c in clinics),
        "Schedule": (builders.schedule_resource(r, t) for r, t in schedules),
    }


def _digest(resource: dict[str, Any]) -> str:
    return bulk_slots.digest(resource)


def _kept_until(kind: str, start: str, removed_at: dt.datetime) -> str:
    """How long a removal is reported: a Slot until its start (an aggregator drops past times
    itself), anything else for TIDBOK_BULK_DELETED_DAYS."""
    if kind == "Slot" and start:
        return start
    return builders.utc_instant(removed_at + dt.timedelta(days=settings.TIDBOK_BULK_DELETED_DAYS))


def _previous(stored: BulkPublishFile) -> dict[str, tuple[str, str, str]]:
    """The last refresh's index as ``id: (lastUpdated, digest, start)``, read one part at a time."""
    before: dict[str, tuple[str, str, str]] = {}
    for index in stored.parts.order_by("number").values_list("index", flat=True).iterator(chunk_size=1):
        for entry in index:
            start = sys.intern(entry[3]) if len(entry) > 3 else ""
            before[entry[0]] = (sys.intern(entry[1]), entry[2], start)
    return before


def _write(stored: BulkPublishFile, resources: Iterator[dict[str, Any]], now: dt.datetime) -> int:
    """Rewrite a Location or Schedule file whole, part by part as the lines stream in (never the
    whole file in memory or in one value), drop the parts left over from a longer file, and keep
    the tombstones."""
    before = _previous(stored)
    tombstones = {t[0]: t for t in stored.deleted}
    stamp = builders.utc_instant(now)
    size = max(settings.TIDBOK_BULK_PART_LINES, 1)
    number = total = 0
    while True:
        lines: list[str] = []
        index: list[list[str]] = []
        for resource in itertools.islice(resources, size):
            rid, digest = resource["id"], _digest(resource)
            previous = before.pop(rid, None)
            tombstones.pop(rid, None)  # back in the file: its line is new since the removal
            updated = previous[0] if previous and previous[1] == digest else stamp
            lines.append(bulk_slots.line_text(resource, updated))
            index.append([rid, updated, digest, ""])
        if number and not lines:
            break
        number += 1
        total += len(lines)
        BulkPublishPart.objects.update_or_create(
            file=stored, number=number, defaults={"ndjson": "".join(f"{line}\n" for line in lines), "index": index}
        )
        if len(lines) < size:
            break
    stored.parts.filter(number__gt=number).delete()
    # What is left of the old index has left the file: a tombstone each, dated now (replacing an
    # older one of the same resource); spent ones are dropped.
    kept = [t for rid, t in tombstones.items() if rid not in before and t[2] > stamp]
    kept += [[rid, stamp, _kept_until(stored.resource_type, e[2], now)] for rid, e in before.items()]
    stored.deleted = [t for t in kept if t[2] > stamp]
    stored.generated_at = now
    stored.save(update_fields=["deleted", "generated_at"])
    return total


# --- The refresh: a walk over the Slot parts, one short step each ---------------------------------
#
# A refresh is a walk: it starts (:func:`walk_start`), then brings the Slot parts up to date one
# at a time in id order (:func:`walk_step`, a task each when run by the worker, so no worker is
# held for long and other tasks go in between), and its last step writes the Location and
# Schedule files of the Schedules the Slot lines name and dates the files. Every step runs in one
# transaction holding the Slot file's row, which records the walk's token and the part it does
# next: a step delivered again after it committed (its worker died before the acknowledgement)
# finds that part done and does nothing, a step that did not commit is done again from the
# authoritative state, and the next step is queued through the outbox in the same transaction,
# so a killed worker neither loses nor repeats a part. A refresh asked for while a walk is under
# way waits for it; one whose walk stopped beating for WALK_STALE_SECONDS takes over.
#
# The walk publishes the state at its start (``walk_at``): its lines and removals are dated then,
# and the files' ``generated_at`` (the manifest's ``transactionTime``) becomes that instant only
# once every part is done, so a ``_since`` client that used the previous transactionTime gets
# every line the walk changed. While a walk is under way each part is whole and each slot is in
# exactly one part (its id's), and every Schedule a Slot line names is in the Schedule file.
WALK_STALE_SECONDS = 300
STEP_TASK = "fhir.tasks.bulk_publish_step"


def _files() -> None:
    for kind in builders.BULK_RESOURCE_TYPES:
        stored, _made = BulkPublishFile.objects.get_or_create(
            resource_type=kind, defaults={"generated_at": timezone.now()}
        )
        if not stored.parts.exists():
            BulkPublishPart.objects.get_or_create(file=stored, number=1, defaults={"first_id": 0})


def _slot_file() -> BulkPublishFile:
    return BulkPublishFile.objects.select_for_update().get(resource_type="Slot")


def walk_start(*, now: dt.datetime | None = None, take_over: bool = False, queue: bool = True) -> str | None:
    """Start a refresh: returns its token, or None when a walk is under way and beating (it
    reaches the parts it has not done yet; a refresh after it, the others). ``take_over`` starts
    one anyway. ``queue`` sends the first step to the worker through the outbox."""
    try:
        cache.delete(PENDING_KEY)  # changes from here on ask for another run
    except Exception:
        logger.warning("bulk publish debounce unavailable", exc_info=True)
    _files()
    with transaction.atomic():
        stored = _slot_file()
        beat_since = timezone.now() - dt.timedelta(seconds=WALK_STALE_SECONDS)
        if stored.walk and stored.walk_beat and stored.walk_beat > beat_since and not take_over:
            return None
        stored.walk = uuid.uuid4().hex
        stored.walk_at = now or timezone.now()
        stored.walk_next = 0
        stored.walk_beat = timezone.now()
        stored.save(update_fields=["walk", "walk_at", "walk_next", "walk_beat"])
        if queue:
            outbox_add(name=STEP_TASK, args=[stored.walk, 0])
        return stored.walk


def walk_step(token: str, low: int, *, queue: bool = True) -> bulk_slots.StepResult | None:
    """One step of the walk ``token``: the Slot part holding id ``low`` (see the notes above).
    Returns what it did (``next_id`` None: it ended the walk), or None when the step is not
    this one's to do (another walk took over, or it was done already)."""
    base_url = public_base_url()
    with transaction.atomic():
        stored = _slot_file()
        if stored.walk != token or stored.walk_next != low or stored.walk_at is None:
            return None
        result = bulk_slots.part_step(stored, low, now=stored.walk_at, base_url=base_url)
        if result.written:
            _places_cover(result.refs, stored.walk_at, base_url)
        stored.walk_next = result.next_id
        stored.walk_beat = timezone.now()
        if result.next_id is None:
            _walk_end(stored, base_url)
        elif queue:
            outbox_add(name=STEP_TASK, args=[token, result.next_id])
        stored.save(update_fields=["deleted", "numbered", "walk", "walk_next", "walk_beat", "generated_at"])
        return result


def _places_cover(refs: set[tuple[int, int]], now: dt.datetime, base_url: str) -> None:
    """Before a Slot line names a Schedule the files do not have yet, the Location and Schedule
    files gain it (and keep the ones they have until the walk's end)."""
    ids = BulkPublishPart.objects.filter(file__resource_type="Schedule").values_list("index", flat=True)
    known = {tuple(int(n) for n in entry[0].split("-")) for index in ids for entry in index}
    if not refs <= known:
        _write_places(known | refs, now, base_url)  # type: ignore[arg-type]


def _write_places(pairs: set[tuple[int, int]], now: dt.datetime, base_url: str) -> dict[str, int]:
    files = {
        f.resource_type: f
        for f in BulkPublishFile.objects.select_for_update()
        .filter(resource_type__in=("Location", "Schedule"))
        .order_by("resource_type")
    }
    return {kind: _write(files[kind], resources, now) for kind, resources in _places(pairs, base_url).items()}


def _walk_end(stored: BulkPublishFile, base_url: str) -> None:
    """The last step: the Location and Schedule files are exactly those the Slot lines name,
    spent tombstones go, and the files are dated with the walk's instant."""
    assert stored.walk_at is not None
    refs = BulkPublishPart.objects.filter(file=stored).values_list("refs", flat=True)
    _write_places({(r, t) for part in refs for r, t in part}, stored.walk_at, base_url)
    stamp = builders.utc_instant(stored.walk_at)
    stored.deleted = [t for t in stored.deleted if t[2] > stamp]
    stored.generated_at = stored.walk_at
    stored.walk = ""


def refresh(*, now: dt.datetime | None = None) -> dict[str, int]:
    """A whole refresh in this process (the worker runs it step by step instead): the files
    from the authoritative state as at ``now``. Idempotent. Returns the line count per type."""
    token = walk_start(now=now, take_over=True, queue=False)
    assert token is not None
    counts = {kind: 0 for kind in builders.BULK_RESOURCE_TYPES}
    low: int | None = 0
    while low is not None:
        step = walk_step(token, low, queue=False)
        low = step.next_id if step else None
        counts["Slot"] += step.lines if step else 0
    for kind in ("Location", "Schedule"):
        indexes = BulkPublishPart.objects.filter(file__resource_type=kind).values_list("index", flat=True)
        counts[kind] = sum(map(len, indexes))
    return counts


def refresh_start() -> bool:
    """The worker's refresh: start a walk and do its first step, in one transaction (so a
    redelivered task finds either both or neither); the other steps follow as tasks. False
    when a walk is under way, to be asked again shortly."""
    with transaction.atomic():
        token = walk_start(queue=False)
        if token is None:
            return False
        walk_step(token, 0)
        return True
