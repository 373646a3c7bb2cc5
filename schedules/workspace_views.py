"""The scheduler's pages in the clinic workspace (R-SCHED, R-PUB, R-BOOK-4/6/9, R-REL-1, R-LOG-4).

Each view checks the role at the clinic in the URL (R-ACL-1), parses the request with a form,
calls a service or selector and turns a DomainError into field errors or a message. Objects
named in the URL must belong to that clinic, else 404.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Role
from accounts.personnummer import format_personnummer, normalise_personnummer
from accounts.workspace import WorkspaceClinic, clinic_for, staff_required, workspace_clinic
from bookings.models import Booking, WaitlistEntry
from bookings.selectors import booking_for_staff, resident_for_staff_booking, waitlist_for_clinic, waitlist_for_staff
from bookings.services import booking_book_for_resident, waitlist_add
from bookings.services import booking_cancel as booking_cancel_service
from clinics.models import AppointmentType, Clinic
from core import params
from core.errors import DomainError, ValidationFailed
from core.search_token import SEARCH_TOKEN_PARAM, search_token_load, search_token_store

from . import services
from .forms import (
    BlockForm,
    ChangeTypeForm,
    FreeTimesFilterForm,
    RemoveTypeForm,
    ResidentLookupForm,
    ScheduleForm,
    SlotForm,
    TimebookFilterForm,
    WaitlistForm,
)
from .models import WEEKDAY_NAMES, Block, PublishState, Schedule, Slot
from .selectors import (
    LOCAL_TZ,
    free_slots_for_staff,
    iso_week,
    schedule_slot_counts,
    schedules_for_clinic,
    timebook_week,
)

SCHEDULER = (Role.SCHEDULER,)
FREE_TIMES_SHOWN = 60


def _scheduler(request: HttpRequest, clinic_id: int) -> tuple[Clinic, WorkspaceClinic]:
    clinic = clinic_for(request, clinic_id, SCHEDULER)
    return clinic, workspace_clinic(user=request.user, clinic=clinic)


def _not_post(request: HttpRequest) -> HttpResponse | None:
    """Actions take POST only; checked after the role, so nobody learns more from a GET (R-ACL-1)."""
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


def _timebook_url(clinic: Clinic, *, resource_id: int | str | None = None, day: dt.date | None = None) -> str:
    params = {}
    if resource_id:
        params["resurs"] = resource_id
    if day is not None:
        params["vecka"] = iso_week(day)
    query = f"?{urlencode(params)}" if params else ""
    return reverse("workspace:timebook", args=[clinic.pk]) + query


def _local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, LOCAL_TZ).date()


# --- Timebook ------------------------------------------------------------------------------------


def _render_timebook(
    request: HttpRequest,
    clinic: Clinic,
    ws: WorkspaceClinic,
    *,
    params,
    change_form: ChangeTypeForm | None = None,
) -> HttpResponse:
    today = timezone.localdate()
    params = params.copy()
    if not params.get("vecka"):
        params["vecka"] = iso_week(today)
    filter_form = TimebookFilterForm(params, clinic=clinic)
    filter_form.is_valid()
    cleaned = filter_form.cleaned_data
    resource = cleaned.get("resurs")
    monday = cleaned.get("vecka") or today - dt.timedelta(days=today.weekday())
    week = timebook_week(actor=request.user, clinic=clinic, monday=monday, resource=resource)
    change_form = change_form or ChangeTypeForm(clinic=clinic)
    status = 400 if filter_form.errors or change_form.errors else 200
    return render(
        request,
        "workspace/scheduler/timebook.html",
        {
            "ws": ws,
            "week": week,
            "resource": resource,
            "filter_form": filter_form,
            "change_form": change_form,
            "types": AppointmentType.objects.filter(clinic=clinic).order_by("internal_name"),
            "selected": set(params.getlist("slot")),
            "this_week": iso_week(today),
        },
        status=status,
    )


@staff_required
def timebook(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic, ws = _scheduler(request, clinic_id)
    return _render_timebook(request, clinic, ws, params=request.GET)


@staff_required
def slots_change_type(request: HttpRequest, clinic_id: int) -> HttpResponse:
    """Change the type of the chosen times; booked ones keep theirs (R-SCHED-2, R-PUB-1)."""
    clinic, ws = _scheduler(request, clinic_id)
    if refused := _not_post(request):
        return refused
    form = ChangeTypeForm(request.POST, clinic=clinic)
    if form.is_valid():
        chosen = form.cleaned_data["slot"]
        try:
            change = services.slots_change_type(
                actor=request.user,
                slots=Slot.objects.filter(pk__in=[slot.pk for slot in chosen]),
                appointment_type=form.cleaned_data["appointment_type"],
            )
        except DomainError as exc:
            form.add_domain_errors(exc)
        else:
            changed, booked = change.changed, change.booked_kept
            messages.success(
                request,
                ngettext("%(count)d time now has the new type.", "%(count)d times now have the new type.", changed)
                % {"count": changed},
            )
            if booked:
                messages.info(
                    request,
                    ngettext(
                        "%(count)d booked time keeps the type it was booked as.",
                        "%(count)d booked times keep the type they were booked as.",
                        booked,
                    )
                    % {"count": booked},
                )
            return redirect(
                _timebook_url(clinic, resource_id=request.POST.get("resurs", ""), day=_local_date(chosen.first().start))
            )
    return _render_timebook(request, clinic, ws, params=request.POST, change_form=form)


# --- Bookings in the timebook (R-BOOK-4, R-BOOK-9, R-LOG-4) ---------------------------------------


def _clinic_booking_or_404(clinic: Clinic, booking_id: int) -> None:
    if not Booking.objects.filter(pk=booking_id, clinic=clinic).exists():
        raise Http404


@staff_required
def booking_detail(request: HttpRequest, clinic_id: int, booking_id: int) -> HttpResponse:
    clinic, ws = _scheduler(request, clinic_id)
    _clinic_booking_or_404(clinic, booking_id)
    try:
        booking = booking_for_staff(actor=request.user, booking_id=booking_id)  # audited (R-LOG-4)
    except DomainError:
        raise Http404 from None
    return render(
        request,
        "workspace/scheduler/booking_detail.html",
        {"ws": ws, "booking": booking, "timebook_url": _timebook_url(clinic, day=_local_date(booking.start))},
    )


@staff_required
def booking_cancel(request: HttpRequest, clinic_id: int, booking_id: int) -> HttpResponse:
    """Cancel for the resident; they get a message in their inbox (R-BOOK-9)."""
    clinic, _ws = _scheduler(request, clinic_id)
    _clinic_booking_or_404(clinic, booking_id)
    if refused := _not_post(request):
        return refused
    try:
        booking = booking_cancel_service(actor=request.user, booking_id=booking_id)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("workspace:booking_detail", clinic_id=clinic.pk, booking_id=booking_id)
    if booking.appointment_type.hidden_for_patient:
        messages.success(request, _("The time is cancelled."))
    else:
        messages.success(request, _("The time is cancelled. The resident has been sent a message."))
    return redirect("workspace:booking_detail", clinic_id=clinic.pk, booking_id=booking_id)


# --- Schedules (R-SCHED-1, R-SCHED-2) -------------------------------------------------------------


@staff_required
def schedules(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic, ws = _scheduler(request, clinic_id)
    rows = [(schedule, _weekday_names(schedule)) for schedule in schedules_for_clinic(clinic=clinic)]
    return render(request, "workspace/scheduler/schedules.html", {"ws": ws, "schedules": rows})


def _weekday_names(schedule: Schedule) -> str:
    return ", ".join(str(WEEKDAY_NAMES[day - 1]) for day in schedule.weekdays if 1 <= day <= 7)


@staff_required
def schedule_new(request: HttpRequest, clinic_id: int) -> HttpResponse:
    """Fill in the pattern, preview how many slots it makes, publish it. A large publish runs in
    a worker and its progress shows on the schedule's page."""
    clinic, ws = _scheduler(request, clinic_id)
    preview = None
    if request.method == "POST":
        form = ScheduleForm(request.POST, clinic=clinic)
        if form.is_valid():
            try:
                if request.POST.get("action") == "publish":
                    schedule, created = services.schedule_create_and_publish(actor=request.user, pattern=form.pattern())
                    if created is None:
                        messages.success(
                            request,
                            ngettext(
                                "The schedule is being published: %(count)d time. Follow the progress here.",
                                "The schedule is being published: %(count)d times. Follow the progress here.",
                                schedule.publish_total,
                            )
                            % {"count": schedule.publish_total},
                        )
                    else:
                        _published_messages(request, created, schedule.publish_skipped)
                    return redirect("workspace:schedule_detail", clinic_id=clinic.pk, schedule_id=schedule.pk)
                preview = services.schedule_preview_detail(actor=request.user, pattern=form.pattern())
            except DomainError as exc:
                form.add_domain_errors(exc)
    else:
        start = timezone.localdate() + dt.timedelta(days=1)
        form = ScheduleForm(
            clinic=clinic,
            initial={
                "weekdays": ["1", "2", "3", "4", "5"],
                "start_date": start,
                "end_date": start + dt.timedelta(days=27),
                "day_start": dt.time(8),
                "day_end": dt.time(12),
                "slot_minutes": 20,
            },
        )
    return render(
        request,
        "workspace/scheduler/schedule_new.html",
        {
            "ws": ws,
            "form": form,
            "preview": preview.count if preview else None,
            # R-OPS-6: the existing times the pattern runs into, shown before anything is made.
            "collisions": preview,
            "in_background": preview is not None
            and preview.count + preview.skipped > services.PUBLISH_IN_BACKGROUND_OVER,
        },
        status=400 if form.errors else 200,
    )


def _published(created: int) -> str:
    return ngettext(
        "The schedule is published: %(count)d new time.", "The schedule is published: %(count)d new times.", created
    ) % {"count": created}


def _published_messages(request: HttpRequest, created: int, skipped: int) -> None:
    messages.success(request, _published(created))
    if skipped:
        messages.warning(request, _skipped(skipped))


def _skipped(skipped: int) -> str:
    return ngettext(
        "%(count)d time was not made because it overlaps a time already on the resource.",
        "%(count)d times were not made because they overlap times already on the resource.",
        skipped,
    ) % {"count": skipped}


def _clinic_schedule(clinic: Clinic, schedule_id: int) -> Schedule:
    schedule = (
        Schedule.objects.filter(pk=schedule_id, clinic=clinic).select_related("resource", "appointment_type").first()
    )
    if schedule is None:
        raise Http404
    return schedule


def _render_schedule(
    request: HttpRequest, clinic: Clinic, ws: WorkspaceClinic, schedule: Schedule, remove_form: RemoveTypeForm
) -> HttpResponse:
    in_progress = schedule.publish_in_progress
    return render(
        request,
        "workspace/scheduler/schedule_detail.html",
        {
            "ws": ws,
            "schedule": schedule,
            "days": _weekday_names(schedule),
            "counts": schedule_slot_counts(schedule=schedule),
            "remove_form": remove_form,
            "in_progress": in_progress,
            # R-OPS-3: a run without a heartbeat lost its worker; the scheduler may resume it.
            "stalled": schedule.publish_stalled,
            "skipped_message": _skipped(schedule.publish_skipped) if schedule.publish_skipped else "",
            "can_publish": schedule.removed_at is None
            and not in_progress
            and schedule.publish_state in (PublishState.NOT_STARTED, PublishState.FAILED),
            "first_week_url": _timebook_url(clinic, resource_id=schedule.resource_id, day=schedule.start_date),
        },
        status=400 if remove_form.errors else 200,
    )


@staff_required
def schedule_detail(request: HttpRequest, clinic_id: int, schedule_id: int) -> HttpResponse:
    """The schedule, its slot counts and publishing progress. POST publishes it again, e.g.
    after a failed background run (safe to repeat: existing slots are kept), or with
    ``action=resume`` resumes a stalled background run from where it stopped (R-OPS-3)."""
    clinic, ws = _scheduler(request, clinic_id)
    schedule = _clinic_schedule(clinic, schedule_id)
    if request.method == "POST":
        if request.POST.get("action") == "resume":
            return _schedule_publish_resume(request, clinic, schedule)
        return _schedule_publish_again(request, clinic, schedule)
    return _render_schedule(request, clinic, ws, schedule, RemoveTypeForm(clinic=clinic))


def _domain_error_messages(request: HttpRequest, exc: DomainError) -> None:
    for errors in exc.field_errors.values():
        for error in errors:
            messages.error(request, str(error))
    if not exc.field_errors:
        messages.error(request, str(exc.message))


def _schedule_publish_again(request: HttpRequest, clinic: Clinic, schedule: Schedule) -> HttpResponse:
    try:
        created = services.schedule_publish_start(actor=request.user, schedule=schedule)
    except DomainError as exc:
        _domain_error_messages(request, exc)
    else:
        if created is None:
            messages.success(request, _("The schedule is being published."))
        else:
            _published_messages(request, created, schedule.publish_skipped)
    return redirect("workspace:schedule_detail", clinic_id=clinic.pk, schedule_id=schedule.pk)


def _schedule_publish_resume(request: HttpRequest, clinic: Clinic, schedule: Schedule) -> HttpResponse:
    try:
        services.schedule_publish_resume(actor=request.user, schedule=schedule)  # audited
    except DomainError as exc:
        _domain_error_messages(request, exc)
    else:
        messages.success(request, _("Publishing resumes where it stopped."))
    return redirect("workspace:schedule_detail", clinic_id=clinic.pk, schedule_id=schedule.pk)


@staff_required
def schedule_remove_type(request: HttpRequest, clinic_id: int, schedule_id: int) -> HttpResponse:
    """Take the type off the schedule: its free times go at once, booked ones stay (R-SCHED-2)."""
    clinic, ws = _scheduler(request, clinic_id)
    schedule = _clinic_schedule(clinic, schedule_id)
    if refused := _not_post(request):
        return refused
    form = RemoveTypeForm(request.POST, clinic=clinic)
    if form.is_valid():
        try:
            removed = services.schedule_remove_type(actor=request.user, schedule=schedule)
        except DomainError as exc:
            form.add_domain_errors(exc)
        else:
            if removed is None:
                messages.info(request, _("The type was already removed from this schedule."))
                return redirect("workspace:schedule_detail", clinic_id=clinic.pk, schedule_id=schedule.pk)
            messages.success(
                request,
                ngettext(
                    "The type is removed from the schedule: %(count)d free time is gone; booked times are kept.",
                    "The type is removed from the schedule: %(count)d free times are gone; booked times are kept.",
                    removed,
                )
                % {"count": removed},
            )
            return redirect("workspace:schedule_detail", clinic_id=clinic.pk, schedule_id=schedule.pk)
    return _render_schedule(request, clinic, ws, schedule, form)


# --- Single slots and blocks (R-SCHED-2, R-PUB-1, R-PUB-2) ----------------------------------------


@staff_required
def slot_new(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic, ws = _scheduler(request, clinic_id)
    if request.method == "POST":
        form = SlotForm(request.POST, clinic=clinic)
        if form.is_valid():
            values = form.service_values()
            try:
                slot = services.slot_add(actor=request.user, **values)
            except DomainError as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(
                    request,
                    _("The time %(when)s is added. It appears on the web shortly.")
                    % {"when": timezone.localtime(slot.start, LOCAL_TZ).strftime("%Y-%m-%d %H:%M")},
                )
                return redirect(_timebook_url(clinic, resource_id=slot.resource_id, day=_local_date(slot.start)))
    else:
        form = SlotForm(clinic=clinic, initial={"resource": request.GET.get("resurs") or None})
    return render(
        request, "workspace/scheduler/slot_new.html", {"ws": ws, "form": form}, status=400 if form.errors else 200
    )


@staff_required
def block_new(request: HttpRequest, clinic_id: int) -> HttpResponse:
    """Block a period on a resource: its free times leave the web at once (R-PUB-2)."""
    clinic, ws = _scheduler(request, clinic_id)
    if request.method == "POST":
        form = BlockForm(request.POST, clinic=clinic)
        if form.is_valid():
            try:
                created = services.block_create(actor=request.user, **form.service_values())
            except DomainError as exc:
                form.add_domain_errors(exc)
            else:
                block, booked = created.block, created.booked_kept
                messages.success(request, _("The period is blocked. Its free times are no longer bookable."))
                if booked:
                    messages.warning(
                        request,
                        ngettext(
                            "%(count)d booked time in the period is still booked. Cancel it if needed.",
                            "%(count)d booked times in the period are still booked. Cancel them if needed.",
                            booked,
                        )
                        % {"count": booked},
                    )
                return redirect(_timebook_url(clinic, resource_id=block.resource_id, day=_local_date(block.start)))
    else:
        form = BlockForm(clinic=clinic, initial={"resource": request.GET.get("resurs") or None})
    upcoming = (
        Block.objects.filter(clinic=clinic, end__gt=timezone.now()).select_related("resource").order_by("start")[:50]
    )
    return render(
        request,
        "workspace/scheduler/block_new.html",
        {"ws": ws, "form": form, "blocks": upcoming},
        status=400 if form.errors else 200,
    )


@staff_required
def block_delete(request: HttpRequest, clinic_id: int, block_id: int) -> HttpResponse:
    clinic, _ws = _scheduler(request, clinic_id)
    block = Block.objects.filter(pk=block_id, clinic=clinic).first()
    if block is None:
        raise Http404
    if refused := _not_post(request):
        return refused
    try:
        services.block_delete(actor=request.user, block=block)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The block is removed. Its free times return to the web shortly."))
    return redirect(_timebook_url(clinic, resource_id=request.POST.get("resurs", ""), day=_local_date(block.start)))


# --- Booking for a resident and the waitlist (R-BOOK-6, R-BOOK-9, R-REL-1, R-LOG-4) ---------------


def _waiting_entry(clinic: Clinic, raw: str) -> WaitlistEntry | None:
    """The waitlist entry named in the request: this clinic's, still waiting, else 404."""
    if not raw:
        return None
    entry_id = params.optional_id(raw)  # R-SEC-6: "²" is a digit to str.isdigit(), not to int()
    entry = waitlist_for_clinic(clinic=clinic).filter(pk=entry_id).first() if entry_id is not None else None
    if entry is None:
        raise Http404
    return entry


def _book_chosen_time(
    request: HttpRequest, clinic: Clinic, personnummer: str, entry: WaitlistEntry | None
) -> HttpResponse | str:
    """Book the posted slot: a redirect to the booking, or the field error to show. A resident
    who has never logged in is created here, with the booking, never by a read (R-SEC-3)."""
    slot_id = request.POST.get("slot", "")
    if not (slot_id.isascii() and slot_id.isdigit() and Slot.objects.filter(pk=slot_id, clinic=clinic).exists()):
        return _("Choose a free time.")
    try:
        booking = booking_book_for_resident(
            actor=request.user,
            slot_id=int(slot_id),
            personnummer=personnummer,
            waitlist_entry_id=entry.pk if entry is not None else None,
        )
    except DomainError as exc:
        # "Just taken", overlapping bookings and the like: the free times are shown again.
        messages.error(request, str(exc.message))
        return ""
    if booking.appointment_type.hidden_for_patient:
        messages.success(request, _("The time is booked. The type is hidden for patients: no summons."))
    else:
        messages.success(request, _("The time is booked. The resident has a summons in their inbox."))
    return redirect("workspace:booking_detail", clinic_id=clinic.pk, booking_id=booking.pk)


def _book_for_resident_scope(clinic: Clinic) -> str:
    return f"book_for_resident:{clinic.pk}"


@staff_required
def book_for_resident(request: HttpRequest, clinic_id: int) -> HttpResponse:
    """Find the resident by personnummer, choose a free time, book: the resident gets a summons
    and a clinic relation (R-BOOK-9, R-REL-1). From the waitlist, the entry goes with the booking
    so a web cancellation puts the resident back on the list (R-BOOK-6).

    R-SEC-3: the personnummer is posted and kept in the session under an opaque token; the
    page's URL names only the token. Finding a resident reads; the POST that books creates a
    resident who has never logged in, in the booking's transaction."""
    clinic, ws = _scheduler(request, clinic_id)
    posted = request.method == "POST"
    data = request.POST if posted else request.GET
    entry = _waiting_entry(clinic, data.get("waitlist", ""))
    token = "" if entry else data.get(SEARCH_TOKEN_PARAM, "") or request.GET.get(SEARCH_TOKEN_PARAM, "")
    lookup = ResidentLookupForm(request.POST if posted and not (entry or token) else None, clinic=clinic)
    personnummer = ""
    if token:
        stored = search_token_load(request=request, scope=_book_for_resident_scope(clinic), token=token)
        if stored is None:
            messages.info(request, _("The search has expired. Search again."))
            return redirect("workspace:book_for_resident", clinic_id=clinic.pk)
        personnummer = stored["personnummer"]
    elif lookup.is_valid():
        try:
            personnummer = normalise_personnummer(lookup.cleaned_data["personnummer"])
        except ValidationFailed as exc:
            lookup.add_domain_errors(exc)
        if personnummer and "slot" not in request.POST:
            token = search_token_store(
                request=request, scope=_book_for_resident_scope(clinic), data={"personnummer": personnummer}
            )
            url = reverse("workspace:book_for_resident", args=[clinic.pk])
            return redirect(f"{url}?{urlencode({SEARCH_TOKEN_PARAM: token})}")
    if entry is not None:
        personnummer = entry.resident.personnummer
    slot_error = ""
    if personnummer and posted:
        outcome = _book_chosen_time(request, clinic, personnummer, entry)
        if isinstance(outcome, HttpResponse):
            return outcome
        slot_error = outcome
    resident = entry.resident if entry else None
    if resident is None and personnummer:
        resident = resident_for_staff_booking(actor=request.user, clinic=clinic, personnummer=personnummer)  # audited
    free_times = None
    filter_form = FreeTimesFilterForm(
        request.GET if "typ" in request.GET or "datum" in request.GET else None,
        clinic=clinic,
        initial={"typ": entry.appointment_type_id if entry else None},
    )
    if personnummer:
        filters = filter_form.cleaned_data if filter_form.is_valid() else {}
        appointment_type = filters.get("typ") if filter_form.is_bound else (entry.appointment_type if entry else None)
        free_times = list(
            free_slots_for_staff(clinic=clinic, appointment_type=appointment_type, day=filters.get("datum"))[
                :FREE_TIMES_SHOWN
            ]
        )
    failed = bool(lookup.errors or filter_form.errors or slot_error) or posted
    return render(
        request,
        "workspace/scheduler/book_for_resident.html",
        {
            "ws": ws,
            "entry": entry,
            "lookup": lookup,
            "found": bool(personnummer),
            "resident": resident,
            "personnummer": format_personnummer(personnummer) if personnummer else "",
            "search_token": token,
            "filter_form": filter_form,
            "free_times": free_times,
            "slot_error": slot_error,
            "shown_max": FREE_TIMES_SHOWN,
        },
        status=400 if failed else 200,
    )


@staff_required
def waitlist(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic, ws = _scheduler(request, clinic_id)
    if request.method == "POST":
        form = WaitlistForm(request.POST, clinic=clinic)
        if form.is_valid():
            try:
                entry = waitlist_add(  # audited in the same transaction (R-LOG-4)
                    actor=request.user,
                    clinic=clinic,
                    personnummer=form.cleaned_data["personnummer"],
                    appointment_type=form.cleaned_data["appointment_type"],
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(request, _("%(who)s is on the waitlist.") % {"who": entry.resident})
                return redirect("workspace:waitlist", clinic_id=clinic.pk)
    else:
        form = WaitlistForm(clinic=clinic)
    entries = waitlist_for_staff(actor=request.user, clinic=clinic)  # R-LOG-4: each one shown is audited
    return render(
        request,
        "workspace/scheduler/waitlist.html",
        {"ws": ws, "form": form, "entries": entries},
        status=400 if form.errors else 200,
    )
