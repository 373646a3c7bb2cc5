"""The Slot file of the SMART bulk publication, one part at a time (R-PUB).

A Slot part holds the published slots whose ids run from its ``first_id`` up to the next part's,
in id order. A slot's id never changes, so a change to a slot (booked, blocked, freed, gone)
lands in its own part and nowhere else, and new slots land in the last part. :func:`part_step`
brings one part up to date from the authoritative state: it reads the part's slots as plain rows
(cheap, through the primary key) only when the part's fingerprint (one aggregate query over
them) differs from the one stored, keeps every line whose row is as it was when the line was
built (the row's digest is in the index), and builds only the others. A part that grows past
``TIDBOK_BULK_PART_LINES`` lines is split (the new parts get new numbers), and a part that with
the next one fits in that many lines absorbs it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, Max

from schedules.models import Slot

from . import builders, selectors
from .models import BulkPublishFile, BulkPublishPart

# The Slot columns a line is built from, in this order in the rows read.
ROW_FIELDS = builders.SLOT_FIELDS
# Part of every row's digest: a change in how lines are built (a new field, another URL) makes
# every line be built again at the next refresh.
LINE_FORMAT = "1"

Row = tuple[Any, ...]


@dataclass
class StepResult:
    """What one part's step did: the first slot id of the part after it (None: it was the
    last), whether it wrote anything, and the Schedules its lines now name."""

    next_id: int | None
    written: bool
    lines: int
    refs: set[tuple[int, int]] = field(default_factory=set)


def _rows(now: dt.datetime, low: int, high: int | None) -> list[Row]:
    """The published slots with ids in [low, high), in id order, as plain rows."""
    slots = selectors.public_slots(now).filter(pk__gte=low)
    if high is not None:
        slots = slots.filter(pk__lt=high)
    return list(slots.order_by("pk").values_list(*ROW_FIELDS))


def _count(now: dt.datetime, low: int, high: int | None) -> int:
    slots = selectors.public_slots(now).filter(pk__gte=low)
    return (slots.filter(pk__lt=high) if high is not None else slots).count()


def row_source(row: Row, phone: str, base_url: str) -> str:
    """A digest of everything a slot's line is built from; equal digests, equal lines."""
    text = "\x1f".join([LINE_FORMAT, *map(str, row), phone, base_url])
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def digest(resource: dict[str, Any]) -> str:
    canonical = json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def line_text(resource: dict[str, Any], updated: str) -> str:
    line = {"resourceType": resource["resourceType"], "id": resource["id"], "meta": {"lastUpdated": updated}}
    line.update({k: v for k, v in resource.items() if k not in line})
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False)


def _next_part(stored: BulkPublishFile, first_id: int) -> BulkPublishPart | None:
    return (
        BulkPublishPart.objects.filter(file=stored, first_id__gt=first_id)
        .order_by("first_id")
        .only("pk", "first_id", "number")
        .first()
    )


def fingerprint(now: dt.datetime, low: int, high: int | None, base_url: str) -> tuple[str, int]:
    """A digest of the rows (and the clinics' phones) the lines of the published slots with ids
    in [low, high) are built from, and how many there are. On PostgreSQL one aggregate query, so
    an unchanged part costs no row in Python."""
    slots = selectors.public_slots(now).filter(pk__gte=low)
    if high is not None:
        slots = slots.filter(pk__lt=high)
    rows = slots.annotate(phone=F("clinic__phone")).values_list(*ROW_FIELDS, "phone")
    salt = f"{LINE_FORMAT}\x1f{base_url}\x1f"
    if connection.vendor != "postgresql":
        listed = list(rows.order_by("pk"))
        return hashlib.md5(f"{salt}{listed!r}".encode()).hexdigest(), len(listed)
    try:
        sql, params = rows.order_by().query.sql_with_params()
    except EmptyResultSet:  # nothing is published at all (no type with a window)
        return hashlib.md5(salt.encode()).hexdigest(), 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), md5(%s || coalesce(string_agg(t::text, ',' ORDER BY t.id), '')) FROM ({sql}) t",
            (salt, *params),
        )
        count, digest = cursor.fetchone()
    return digest, count


def part_step(stored: BulkPublishFile, low: int, *, now: dt.datetime, base_url: str) -> StepResult:
    """Bring the Slot part that holds id ``low`` up to date, in the caller's transaction, which
    holds the Slot file's row lock (so parts change shape one step at a time). Removed lines
    become tombstones on ``stored`` (saved by the caller).

    The part's fingerprint is taken before its rows are read: a change committed in between is
    then in the lines but not in the fingerprint, and the next refresh looks at the part again
    (the other way round, it would be missed)."""
    size = max(settings.TIDBOK_BULK_PART_LINES, 1)
    parts = BulkPublishPart.objects.filter(file=stored)
    part = parts.filter(first_id__lte=low).order_by("-first_id").first()
    if part is None:  # the walk's start makes the part from id 0; this is a file without it
        part = BulkPublishPart.objects.create(file=stored, number=_free_number(stored), first_id=0)
    following = _next_part(stored, part.first_id)
    high = following.first_id if following else None
    marker, count = fingerprint(now, part.first_id, high, base_url)
    absorbed = [part]
    # A part takes in the next one while both fit in a part: parts emptied by times that passed
    # do not pile up.
    while following is not None and count <= size:
        after = _next_part(stored, following.first_id)
        after_high = after.first_id if after else None
        if count + _count(now, following.first_id, after_high) > size:
            break
        absorbed.append(parts.get(pk=following.pk))
        following, high = after, after_high
        marker, count = fingerprint(now, part.first_id, high, base_url)
    next_id = following.first_id if following else None
    if len(absorbed) == 1 and count <= size and part.fingerprint == marker:
        return StepResult(next_id=next_id, written=False, lines=count, refs={tuple(r) for r in part.refs})
    rows = _rows(now, part.first_id, high)

    phones = selectors.clinic_phones({row[1] for row in rows})
    old: dict[str, tuple[str, list[str]]] = {}
    for each in absorbed:
        for text, entry in zip(each.ndjson.splitlines(), each.index, strict=True):
            old[entry[0]] = (text, entry)
    stamp = builders.utc_instant(now)
    lines: list[str] = []
    index: list[list[str]] = []
    returned: set[str] = set()
    built = 0
    for row in rows:
        rid = str(row[0])
        source = row_source(row, phones.get(row[1], ""), base_url)
        previous = old.pop(rid, None)
        if previous is not None and len(previous[1]) > 4 and previous[1][4] == source:
            lines.append(previous[0])
            index.append(previous[1])
            continue
        built += 1
        if previous is None:
            returned.add(rid)
        slot = Slot(**dict(zip(ROW_FIELDS, row, strict=True)))
        resource = builders.slot_resource(slot, base_url, phones.get(row[1], ""))
        sha = digest(resource)
        updated = previous[1][1] if previous is not None and previous[1][2] == sha else stamp
        lines.append(line_text(resource, updated))
        index.append([rid, updated, sha, builders.utc_instant(slot.start), source])
    refs = {(row[2], row[3]) for row in rows}
    if not built and not old and len(absorbed) == 1 and len(lines) <= size:
        # Every line as it was (the part was split last time, or a change came and went): only
        # the fingerprint is new.
        parts.filter(pk=part.pk).update(fingerprint=marker)
        return StepResult(next_id=next_id, written=False, lines=len(lines), refs=refs)
    # What is left of the old lines has left the file: a tombstone each, kept until its start
    # (replacing an older one of the same slot). A slot back in the file is no longer removed:
    # its line is new since the removal.
    gone = {rid: [rid, stamp, _kept_until(entry, now)] for rid, (_text, entry) in old.items()}
    if gone or returned:
        stored.deleted = [t for t in stored.deleted if t[0] not in gone and t[0] not in returned]
        stored.deleted += list(gone.values())
    for merged in absorbed[1:]:
        merged.delete()
    chunks = [range(first, min(first + size, len(lines))) for first in range(0, max(len(lines), 1), size)]
    for number, chunk in enumerate(chunks):
        target = part if number == 0 else BulkPublishPart(file=stored, number=_free_number(stored))
        if number:
            target.first_id = int(index[chunk.start][0])
        target.ndjson = "".join(f"{lines[i]}\n" for i in chunk)
        target.index = [index[i] for i in chunk]
        target.refs = sorted({(row[2], row[3]) for row in (rows[i] for i in chunk)})
        # Split, a part's range is no longer the one fingerprinted: the next refresh reads it
        # again (and keeps its lines).
        target.fingerprint = marker if len(chunks) == 1 else ""
        target.save()
    return StepResult(next_id=next_id, written=True, lines=len(lines), refs=refs)


def _free_number(stored: BulkPublishFile) -> int:
    """A number no part of the file has ever had (saved with ``stored`` by the caller): a new
    part never takes the URL of one a client may still be reading."""
    highest = BulkPublishPart.objects.filter(file=stored).aggregate(n=Max("number"))["n"] or 0
    stored.numbered = max(stored.numbered, highest) + 1
    return stored.numbered


def _kept_until(entry: list[str], removed_at: dt.datetime) -> str:
    """A removed Slot is reported until its start (an aggregator drops past times itself)."""
    if len(entry) > 3 and entry[3]:
        return entry[3]
    return builders.utc_instant(removed_at + dt.timedelta(days=settings.TIDBOK_BULK_DELETED_DAYS))
