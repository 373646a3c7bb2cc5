"""The SMART Scheduling Links files behind ``/fhir/r4/$bulk-publish`` (R-PUB).

The ``bulk_publish_refresh`` task writes one NDJSON file per resource type, in parts of at most
``TIDBOK_BULK_PART_LINES`` lines (:class:`~fhir.models.BulkPublishPart`, each its own output in
the manifest), streaming the slots part by part; the endpoints only serve what is stored. Each line's
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
import hashlib
import itertools
import json
import logging
import math
import sys
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from clinics.models import Clinic
from core.outbox.services import outbox_add, outbox_step
from core.public_url import public_base_url

from . import builders, selectors
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


def _resources(now: dt.datetime, base_url: str) -> dict[str, Iterator[dict[str, Any]]]:
    slots = selectors.public_slots(now)
    pairs = selectors.public_schedules(slots)
    clinic_ids = {t.clinic_id for _r, t in pairs}
    clinics = Clinic.objects.select_related("region").filter(pk__in=clinic_ids).order_by("pk")
    phones = selectors.clinic_phones(clinic_ids)
    return {
        "Location": (builders.location_resource(c, base_url) for c in clinics),
        "Schedule": (builders.schedule_resource(r, t) for r, t in pairs),
        "Slot": (
            builders.slot_resource(s, base_url, phones.get(s.clinic_id, ""))
            for s in slots.only(*builders.SLOT_FIELDS).order_by("start", "pk").iterator(chunk_size=2000)
        ),
    }


def _digest(resource: dict[str, Any]) -> str:
    canonical = json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def _kept_until(kind: str, start: str, removed_at: dt.datetime) -> str:
    """How long a removal is reported: a Slot until its start (an aggregator drops past times
    itself), anything else for TIDBOK_BULK_DELETED_DAYS."""
    if kind == "Slot" and start:
        return start
    return builders.utc_instant(removed_at + dt.timedelta(days=settings.TIDBOK_BULK_DELETED_DAYS))


def _previous(stored: BulkPublishFile) -> dict[str, tuple[str, str, str]]:
    """The last refresh's index as ``id: (lastUpdated, digest, start)``, read one part at a time.
    The instants are interned: a refresh stamps many lines alike and many slots share a start,
    and this is the one thing a refresh holds for every line at once."""
    before: dict[str, tuple[str, str, str]] = {}
    for index in stored.parts.order_by("number").values_list("index", flat=True).iterator(chunk_size=1):
        for entry in index:
            start = sys.intern(entry[3]) if len(entry) > 3 else ""
            before[entry[0]] = (sys.intern(entry[1]), entry[2], start)
    return before


def _write(stored: BulkPublishFile, resources: Iterator[dict[str, Any]], now: dt.datetime) -> int:
    """Write the lines part by part as they stream in (never the whole file in memory or in one
    value), drop the parts left over from a longer file, and keep the tombstones."""
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
            line = {"resourceType": resource["resourceType"], "id": rid, "meta": {"lastUpdated": updated}}
            line.update({k: v for k, v in resource.items() if k not in line})
            lines.append(json.dumps(line, separators=(",", ":"), ensure_ascii=False))
            start = builders.utc_instant(dt.datetime.fromisoformat(resource["start"])) if "start" in resource else ""
            index.append([rid, updated, digest, start])
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


def refresh(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Rewrite the three files from the authoritative state. Idempotent; concurrent runs queue on
    the files' row locks, so each writes a consistent set. Returns the line count per type."""
    try:
        cache.delete(PENDING_KEY)  # changes from here on ask for another run
    except Exception:
        logger.warning("bulk publish debounce unavailable", exc_info=True)
    with transaction.atomic():
        for kind in builders.BULK_RESOURCE_TYPES:
            BulkPublishFile.objects.get_or_create(resource_type=kind, defaults={"generated_at": timezone.now()})
        files = {
            f.resource_type: f
            for f in BulkPublishFile.objects.select_for_update()
            .filter(resource_type__in=builders.BULK_RESOURCE_TYPES)
            .order_by("resource_type")
        }
        now = now or timezone.now()
        resources = _resources(now, public_base_url())
        return {kind: _write(files[kind], resources[kind], now) for kind in builders.BULK_RESOURCE_TYPES}
