"""Writes for schedules, slots, blocks and holds (R-SCHED, R-PUB, R-BOOK-3).

Making times disappear happens here, synchronously, in the caller's transaction. Making them
appear is left to the ``slots_publish`` task (R-PUB-3), enqueued when the transaction commits.

One module per part, along the sections of the rules: ``common`` (the scheduler check, asking for
publishing later), ``web_publishing`` (R-PUB-1, R-PUB-3), ``patterns`` (a schedule's pattern,
R-SCHED-1), ``overlap`` (no overlapping times, R-OPS-6), ``slot_insert`` (a schedule's times
made as slots in one statement), ``schedule_publishing`` (publishing a schedule, at once or in a
worker, R-OPS-3; taking a type off it, R-SCHED-2), ``slots`` (single slots, type changes, blocks,
R-SCHED-2, R-PUB-2) and ``holds`` (R-BOOK-3). The public names are re-exported here: callers
import from ``schedules.services``."""

from .common import BULK_REFRESH_ASK, SCHEDULER_ROLES, bulk_refresh_later, times_changed_later
from .holds import hold_cancel, hold_create, hold_release, holds_release_expired
from .overlap import Collisions, Times, schedule_collisions
from .patterns import (
    COLLISIONS_SHOWN,
    MAX_SCHEDULE_DAYS,
    SchedulePattern,
    SchedulePreview,
    schedule_create,
    schedule_preview,
    schedule_preview_detail,
    schedule_slot_times,
)
from .schedule_publishing import (
    PUBLISH_IN_BACKGROUND_OVER,
    schedule_create_and_publish,
    schedule_publish,
    schedule_publish_resume,
    schedule_publish_resume_stale,
    schedule_publish_run,
    schedule_publish_start,
    schedule_remove_type,
)
from .slots import BlockCreated, TypeChange, block_create, block_delete, slot_add, slots_change_type
from .web_publishing import slot_free, slots_publish, slots_publish_pending, slots_republish_for_type

__all__ = [
    "BULK_REFRESH_ASK",
    "COLLISIONS_SHOWN",
    "MAX_SCHEDULE_DAYS",
    "PUBLISH_IN_BACKGROUND_OVER",
    "SCHEDULER_ROLES",
    "BlockCreated",
    "Collisions",
    "SchedulePattern",
    "SchedulePreview",
    "Times",
    "TypeChange",
    "block_create",
    "block_delete",
    "bulk_refresh_later",
    "hold_cancel",
    "hold_create",
    "hold_release",
    "holds_release_expired",
    "schedule_collisions",
    "schedule_create",
    "schedule_create_and_publish",
    "schedule_preview",
    "schedule_preview_detail",
    "schedule_publish",
    "schedule_publish_resume",
    "schedule_publish_resume_stale",
    "schedule_publish_run",
    "schedule_publish_start",
    "schedule_remove_type",
    "schedule_slot_times",
    "slot_add",
    "slot_free",
    "slots_change_type",
    "slots_publish",
    "slots_publish_pending",
    "slots_republish_for_type",
    "times_changed_later",
]
