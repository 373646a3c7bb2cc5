"""The Slot file of the SMART bulk publication, one part at a time (R-PUB).

A Slot part holds the published slots whose ids run from its ``first_id`` up to the next part's,
in id order. A slot's id never changes, so a change to a slot (booked, blocked, freed, gone)
lands in its own part and nowhere else, and new slots land in the last part. :func:`part_step`
brings one part up to date from the authoritative state: it reads the part's slots as plain rows
(cheap, through the primary key) only when the part's fingerprint (one aggregate query over
them) differs from the one stored, keeps every line whose row is as it was when the line was
built (the row's digest is in the index), and builds only the others. A part whose range holds
more than ``TIDBOK_BULK_PART_LINES`` published slots (the whole file, the first time; the last
part after a large publishing) is cut before its rows are read: the step builds the first part's
worth, and the lines past the cut move as they are into a new part (a new number), which the
walk's next step examines like any changed part. So no step builds more than a part's lines, and
a slot is in exactly one part all along. A part that with the next one fits in that many lines
absorbs it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, Max

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


# Made once: json.dumps with options makes an encoder per call, a good part of a short line's cost.
_canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_line_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def digest(resource: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical_json(resource).encode()).hexdigest()[:24]


def line_text(resource: dict[str, Any], updated: str) -> str:
    line = {"resourceType": resource["resourceType"], "id": resource["id"], "meta": {"lastUpdated": updated}}
    line.update({k: v for k, v in resource.items() if k not in line})
    return _line_json(line)


# A lastUpdated no line has (JSON escapes it), to cut a line around its lastUpdated.
_UPDATED_MARK = "\x00"
_UPDATED_MARK_JSON = json.dumps(_UPDATED_MARK)[1:-1]


def line_frame(resource: dict[str, Any]) -> tuple[str, str]:
    """:func:`line_text` of ``resource`` around its lastUpdated, with one json.dumps:
    ``f"{head}{updated}{tail}"`` is the line (a lastUpdated is an instant, which JSON writes as
    it is). With the old line's lastUpdated it shows whether the content changed, by comparing
    the lines themselves."""
    head, tail = line_text(resource, _UPDATED_MARK).split(_UPDATED_MARK_JSON, 1)
    return head, tail


_utc_instant = functools.lru_cache(maxsize=1 << 14)(builders.utc_instant)  # slots share their starts


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


def _sources(now: dt.datetime, low: int, high: int | None, base_url: str) -> list[tuple[int, str, int, int]]:
    """``(id, digest of its row, resource id, type id)`` of each published slot with an id in
    [low, high), in id order: on PostgreSQL the digests are made there, so an unchanged slot
    costs two short values in Python instead of its row."""
    slots = selectors.public_slots(now).filter(pk__gte=low)
    if high is not None:
        slots = slots.filter(pk__lt=high)
    rows = slots.annotate(phone=F("clinic__phone")).values_list(*ROW_FIELDS, "phone")
    if connection.vendor != "postgresql":
        return [(r[0], row_source(r[:-1], r[-1], base_url), r[2], r[3]) for r in rows.order_by("pk")]
    try:
        sql, params = rows.order_by().query.sql_with_params()
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id, md5(%s || t::text), t.resource_id, t.appointment_type_id FROM ({sql}) t ORDER BY t.id",
            (f"{LINE_FORMAT}\x1f{base_url}\x1f", *params),
        )
        return cursor.fetchall()


def _source_of(line: tuple[str, list[str]] | None) -> str:
    return line[1][4] if line is not None and len(line[1]) > 4 else ""


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
    # The last part (the whole file, the first time) may hold any number of slots: it is cut
    # before its rows are read, so a step never builds more than a part's lines.
    split = _split_at(now, part.first_id, high, size) if high is None else None
    marker, count = fingerprint(now, part.first_id, split or high, base_url)
    if split is None and count > size:  # a part grown by slots that came back
        split = _split_at(now, part.first_id, high, size)
        if split is not None:
            marker, count = fingerprint(now, part.first_id, split, base_url)
    if split is not None:
        following, high = _split(stored, part, split), split
    absorbed = [part]
    # A part takes in the next one while both fit in a part: parts emptied by times that passed
    # do not pile up.
    while split is None and following is not None and count <= size:
        after = _next_part(stored, following.first_id)
        after_high = after.first_id if after else None
        if count + _count(now, following.first_id, after_high) > size:
            break
        absorbed.append(parts.get(pk=following.pk))
        following, high = after, after_high
        marker, count = fingerprint(now, part.first_id, high, base_url)
    next_id = following.first_id if following else None
    if split is None and len(absorbed) == 1 and count <= size and part.fingerprint == marker:
        return StepResult(next_id=next_id, written=False, lines=count, refs={tuple(r) for r in part.refs})
    sources = _sources(now, part.first_id, high, base_url)
    old: dict[str, tuple[str, list[str]]] = {}
    for each in absorbed:
        for text, entry in zip(each.ndjson.splitlines(), each.index, strict=True):
            old[entry[0]] = (text, entry)
    # Only the rows whose digest differs from their line's are read whole and built again.
    stale = [sid for sid, source, _r, _t in sources if _source_of(old.get(str(sid))) != source]
    if len(stale) > len(sources) // 4:
        rows = {row[0]: row for row in _rows(now, part.first_id, high)}
    else:
        rows = {row[0]: row for row in selectors.public_slots(now).filter(pk__in=stale).values_list(*ROW_FIELDS)}
    phones = selectors.clinic_phones({row[1] for row in rows.values()})
    links = builders.booking_links(base_url)
    stamp = builders.utc_instant(now)
    lines: list[str] = []
    index: list[list[str]] = []
    kept: list[tuple[int, int]] = []
    returned: set[str] = set()
    built = 0
    for sid, source, resource_id, type_id in sources:
        rid = str(sid)
        previous = old.get(rid)
        if _source_of(previous) == source:
            assert previous is not None
        elif sid in rows:
            built += 1
            if previous is None:
                returned.add(rid)
            slot = selectors.SlotRow(*rows[sid])
            head, tail = line_frame(builders.slot_resource(slot, base_url, phones.get(slot.clinic_id, ""), links))
            # A line whose content is as it was (held, then booked: busy both times) keeps its
            # lastUpdated.
            same = previous is not None and previous[0] == f"{head}{previous[1][1]}{tail}"
            updated = previous[1][1] if same and previous is not None else stamp
            previous = (f"{head}{updated}{tail}", [rid, updated, "", _utc_instant(slot.start), source])
        else:
            continue  # it left the file between the two reads: a tombstone below
        old.pop(rid, None)
        lines.append(previous[0])
        index.append(previous[1])
        kept.append((resource_id, type_id))
    del rows, sources  # a part's worth of rows each: not held while the part is sent
    refs = set(kept)
    if split is None and not built and not old and len(absorbed) == 1 and len(lines) <= size:
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
    count = len(lines)
    chunks = [range(first, min(first + size, count)) for first in range(0, max(count, 1), size)]
    # The lines as texts of the parts, and the list of them let go before the parts are sent.
    texts = ["".join(f"{lines[i]}\n" for i in chunk) for chunk in chunks]
    del lines
    for number, chunk in enumerate(chunks):
        target = part if number == 0 else BulkPublishPart(file=stored, number=_free_number(stored))
        if number:
            target.first_id = int(index[chunk.start][0])
        target.ndjson = texts[number]
        target.index = [index[i] for i in chunk]
        target.refs = sorted({kept[i] for i in chunk})
        # Split, a part's range is no longer the one fingerprinted: the next refresh reads it
        # again (and keeps its lines).
        target.fingerprint = marker if len(chunks) == 1 else ""
        target.save()
    return StepResult(next_id=next_id, written=True, lines=count, refs=refs)


def _split_at(now: dt.datetime, low: int, high: int | None, size: int) -> int | None:
    """The id of the first published slot past the first ``size`` of [low, high), or None when
    they all fit in one part: one query along the primary key, reading at most ``size + 1`` ids."""
    slots = selectors.public_slots(now).filter(pk__gte=low)
    if high is not None:
        slots = slots.filter(pk__lt=high)
    beyond = list(slots.order_by("pk").values_list("pk", flat=True)[size : size + 1])
    return beyond[0] if beyond else None


def _split(stored: BulkPublishFile, part: BulkPublishPart, at: int) -> BulkPublishPart:
    """Cut ``part`` at id ``at``: a new part (a new number) from there takes the part's lines of
    those ids as they are, their lastUpdated kept, and an empty fingerprint, so the walk's next
    step examines it like any changed part (and cuts it again if it is still too long). Its refs
    are the old part's, a superset of what its lines name until that step makes them exact."""
    kept_text: list[str] = []
    kept_index: list[list[str]] = []
    moved_text: list[str] = []
    moved_index: list[list[str]] = []
    for text, entry in zip(part.ndjson.splitlines(), part.index, strict=True):
        below = int(entry[0]) < at
        (kept_text if below else moved_text).append(text)
        (kept_index if below else moved_index).append(entry)
    part.ndjson = "".join(f"{line}\n" for line in kept_text)
    part.index = kept_index
    return BulkPublishPart.objects.create(
        file=stored,
        number=_free_number(stored),
        first_id=at,
        ndjson="".join(f"{line}\n" for line in moved_text),
        index=moved_index,
        refs=part.refs,
        fingerprint="",
    )


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
