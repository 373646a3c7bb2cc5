"""Booking, rebooking and cancelling (R-BOOK-*), booking bases, waitlist, inbox, web log.

Every change runs in one transaction that locks the resident first and the slot(s) second,
in id order (see ``accounts.services.resident_lock``). The partial unique constraint
``booking_one_active_per_slot`` and, on PostgreSQL, the exclusion constraint
``booking_resident_no_overlap`` are the last line of defence: if a code path ever forgot
a lock, the database would still say no, and the caller gets the same clean error.

One module per part: ``common`` (the locks, the guarded insert, the web log rows), ``booking`` (the
resident on the web; cancelling for everyone), ``web_booking`` (what a web booking reads and writes
beside the booking itself) with ``statements`` (its statements written out for PostgreSQL),
``staff`` (staff and proxy bookers book for a resident), ``bases`` (booking bases and open summons),
``waitlist`` (the waitlist, the staff pages' booking entry point, residents joining it),
``waitlist_offers`` (freed times offered to the waitlist first), ``inbox`` (messages and their
notifications), ``attorney`` (powers of attorney between residents), ``calendar_feed`` (the
resident's private calendar address), ``video`` (a video visit's meeting link set by hand),
``attendance`` (reception's marks, R-ATT-1) and ``web_log`` (retention). The public names are
re-exported here: callers import from ``bookings.services``."""

from .attendance import attendance_mark, attendance_undo
from .attorney import power_of_attorney_accept, power_of_attorney_end, power_of_attorney_grant
from .bases import BASIS_ISSUER_ROLES, booking_basis_issue, booking_basis_revoke, open_summons_send
from .booking import (
    booking_cancel,
    booking_create,
    booking_rebook,
    hold_create_for_booking,
    hold_create_for_rebook,
)
from .calendar_feed import calendar_feed_create, calendar_feed_revoke
from .comment import REASON_MAX_LENGTH
from .common import SCHEDULER_ROLES
from .inbox import clinic_message_send, inbox_mark_read, inbox_message_send
from .notify import NotificationKind, NotifiedBy, notification_record
from .staff import booking_create_by_proxy, booking_create_for_resident
from .video import booking_meeting_link_set
from .waitlist import (
    booking_book_for_resident,
    waitlist_add,
    waitlist_book,
    waitlist_entry_set_priority,
    waitlist_join,
    waitlist_leave,
)
from .waitlist_offers import (
    waitlist_offer_accept,
    waitlist_offer_decline,
    waitlist_offer_freed_slots,
    waitlist_offers_expire,
)
from .web_log import idempotency_purge, web_log_detached_drop, web_log_purge
from .web_log_partitions import web_log_partitions_ensure

__all__ = [
    "BASIS_ISSUER_ROLES",
    "REASON_MAX_LENGTH",
    "SCHEDULER_ROLES",
    "NotificationKind",
    "NotifiedBy",
    "attendance_mark",
    "attendance_undo",
    "booking_basis_issue",
    "booking_basis_revoke",
    "booking_book_for_resident",
    "booking_cancel",
    "booking_create",
    "booking_create_by_proxy",
    "booking_create_for_resident",
    "booking_meeting_link_set",
    "booking_rebook",
    "calendar_feed_create",
    "calendar_feed_revoke",
    "clinic_message_send",
    "hold_create_for_booking",
    "hold_create_for_rebook",
    "idempotency_purge",
    "inbox_mark_read",
    "inbox_message_send",
    "notification_record",
    "open_summons_send",
    "power_of_attorney_accept",
    "power_of_attorney_end",
    "power_of_attorney_grant",
    "waitlist_add",
    "waitlist_book",
    "waitlist_entry_set_priority",
    "waitlist_join",
    "waitlist_leave",
    "waitlist_offer_accept",
    "waitlist_offer_decline",
    "waitlist_offer_freed_slots",
    "waitlist_offers_expire",
    "web_log_detached_drop",
    "web_log_partitions_ensure",
    "web_log_purge",
]
