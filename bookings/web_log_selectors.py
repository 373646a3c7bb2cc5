"""The web booking log as support staff read it, on the page, in the export and through the
staff API (R-LOG-2, R-LOG-4)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext

from accounts.models import Role, User
from accounts.selectors import resident_for_personnummer, user_has_clinic_role
from accounts.services import audit_record
from core import dates
from core.errors import PermissionDeniedError
from core.spreadsheet import csv_cell
from schedules.selectors import local_midnight

from .audit import audit_residents_shown
from .models import WebBookingLogEntry


def web_log_for_clinic(
    *,
    actor: User,
    clinic,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    status: str | None = None,
    resident: User | None = None,
) -> QuerySet[WebBookingLogEntry]:
    """The clinic's web booking log for support staff (R-LOG-2). Reading it is access to
    residents' data and is written to the audit log (R-LOG-4)."""
    if not user_has_clinic_role(user=actor, clinic=clinic, roles=(Role.SUPPORT,)):
        raise PermissionDeniedError()
    rows = WebBookingLogEntry.objects.filter(clinic=clinic).select_related("resident", "booking_basis", "actor")
    if date_from:
        rows = rows.filter(changed_at__gte=local_midnight(date_from))
    if date_to and date_to < dt.date.max:  # the last day the calendar has bounds nothing
        rows = rows.filter(changed_at__lt=local_midnight(date_to + dt.timedelta(days=1)))
    if status:
        rows = rows.filter(status=status)
    if resident is not None:
        rows = rows.filter(resident=resident)
    audit_record(
        actor=actor,
        action="web_log.read",
        clinic=clinic,
        resident=resident,
        detail=f"from={date_from or ''} to={date_to or ''} status={status or ''}",
    )
    return rows.order_by("-changed_at")


@dataclass(frozen=True)
class WebLogRead:
    """One read of the web booking log: the rows read, from which offset, how many match in all,
    and the resident searched for (None when no personnummer was given or it matched nobody)."""

    entries: list[WebBookingLogEntry]
    offset: int
    count: int
    resident: User | None


def web_log_read(
    *,
    actor: User,
    clinic,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    status: str | None = None,
    personnummer: str | None = None,
    offset: int = 0,
    limit: int | None = None,
    past_end_reads_last: bool = False,
    shown_action: str = "web_log.resident_shown",
) -> WebLogRead:
    """The web booking log as the support page, its export and the staff API read it (R-LOG-2),
    newest first: ``limit`` rows from ``offset`` (all when ``limit`` is None). An offset past
    the end reads nothing, or the last ``limit`` rows' window with ``past_end_reads_last`` (a
    page number past the last page). ``personnummer`` is normalised; one that matches nobody
    matches no rows.

    R-LOG-4: the read with its filters is one audit event naming the resident searched for, and
    each other resident on the rows read is one ``shown_action`` event (``web_log.exported`` for
    the export)."""
    resident = resident_for_personnummer(personnummer=personnummer) if personnummer else None
    rows = web_log_for_clinic(
        actor=actor, clinic=clinic, date_from=date_from, date_to=date_to, status=status, resident=resident
    )
    if personnummer and resident is None:
        rows = rows.none()
    count = rows.count()
    if past_end_reads_last and limit and count and offset >= count:
        offset = (count - 1) // limit * limit
    entries = [] if offset >= count else list(rows[offset:] if limit is None else rows[offset : offset + limit])
    audit_residents_shown(
        actor=actor,
        clinic=clinic,
        residents=(entry.resident for entry in entries),
        action=shown_action,
        already_recorded=resident,
    )
    return WebLogRead(entries=entries, offset=offset, count=count, resident=resident)


@dataclass(frozen=True)
class LogValueChange:
    """One of the four values a log row compares (date, start time, resource, type), as text.

    R-LOG-2: only a value that changed is marked — the previous one red, the new one green;
    a value that stayed the same is shown plain on both sides."""

    name: str
    previous: str
    new: str

    @property
    def changed(self) -> bool:
        return self.previous != self.new

    @property
    def mark_previous(self) -> bool:
        return self.changed and bool(self.previous)

    @property
    def mark_new(self) -> bool:
        return self.changed and bool(self.new)


def _log_text(value: dt.date | dt.time | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def web_log_changes(*, entry: WebBookingLogEntry) -> list[LogValueChange]:
    """The previous and new values of a log row, side by side (R-LOG-1, R-LOG-2). A new booking
    has only new values, a cancellation only previous ones."""
    return [
        LogValueChange(
            name=name,
            previous=_log_text(getattr(entry, f"previous_{name}")),
            new=_log_text(getattr(entry, f"new_{name}")),
        )
        for name in ("date", "start", "resource", "type")
    ]


def web_log_csv_header() -> list[str]:
    return [
        gettext("Status"),
        gettext("Changed"),
        gettext("Resident"),
        gettext("Personal identity number"),
        gettext("Previous date"),
        gettext("Previous start time"),
        gettext("Previous resource"),
        gettext("Previous appointment type"),
        gettext("New date"),
        gettext("New start time"),
        gettext("New resource"),
        gettext("New appointment type"),
        gettext("Channel"),
        gettext("Changed by"),
        gettext("Late (billable)"),
        gettext("Booking basis"),
    ]


def web_log_csv_row(*, entry: WebBookingLogEntry) -> list[str]:
    """One log row for the spreadsheet export, in the columns of :func:`web_log_csv_header`;
    the time of the change in Swedish local time as Excel reads a date and time, "2026-12-04 09:00"."""
    changes = web_log_changes(entry=entry)
    cells = [
        entry.get_status_display(),
        dates.when(entry.changed_at, "spreadsheet"),
        entry.resident.get_full_name(),
        entry.resident.personnummer_display,
        *(change.previous for change in changes),
        *(change.new for change in changes),
        entry.get_channel_display(),
        # R-GUARD-4, R-POA-1: who acted for the resident, by name.
        " – ".join(filter(None, [entry.changed_by, entry.acting_display])),
        gettext("Yes") if entry.is_late else gettext("No"),
        str(entry.booking_basis_id or ""),
    ]
    return [csv_cell(str(cell)) for cell in cells]
