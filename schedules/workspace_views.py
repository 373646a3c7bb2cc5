"""The scheduler's pages in the clinic workspace (R-SCHED, R-PUB, R-BOOK-4/6/9, R-REL-1, R-LOG-4).

Each view checks the role at the clinic in the URL (R-ACL-1), parses the request with a form,
calls a service or selector and turns a DomainError into field errors or a message. Objects
named in the URL must belong to that clinic, else 404.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.http import AuthenticatedHttpRequest
from accounts.models import Role
from clinics.models import AppointmentType, Clinic
from clinics.workspace import WorkspaceClinic, clinic_for, staff_required, workspace_clinic
from core import dates
from core.errors import DomainError

from . import services
from .forms import (
    TIMEBOOK_DAY,
    TIMEBOOK_WEEK,
    BlockForm,
    ChangeTypeForm,
    RemoveTypeForm,
    ScheduleForm,
    SlotForm,
    TimebookFilterForm,
)
from .models import WEEKDAY_NAMES, Block, PublishState, Schedule, Slot
from .selectors import (
    LOCAL_TZ,
    iso_week,
    schedule_slot_counts,
    schedules_for_clinic,
    timebook_grid,
    timebook_week,
)

SCHEDULER = (Role.SCHEDULER,)


def scheduler_clinic(request: AuthenticatedHttpRequest, clinic_id: int) -> tuple[Clinic, WorkspaceClinic]:
    clinic = clinic_for(request, clinic_id, SCHEDULER)
    return clinic, workspace_clinic(user=request.user, clinic=clinic)


def refuse_unless_post(request: AuthenticatedHttpRequest) -> HttpResponse | None:
    """Actions take POST only; checked after the role, so nobody learns more from a GET (R-ACL-1)."""
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


def timebook_url(
    clinic: Clinic, *, resource_id: int | str | None = None, day: dt.date | None = None, day_view: bool = False
) -> str:
    """The timebook at ``day``'s week, or at ``day`` itself in the day view."""
    params: dict[str, int | str] = {}
    if resource_id:
        params["resurs"] = resource_id
    if day is not None and day_view:
        params.update({"visa": TIMEBOOK_DAY, "datum": day.isoformat()})
    elif day is not None:
        params["vecka"] = iso_week(day)
    query = f"?{urlencode(params)}" if params else ""
    return reverse("workspace:timebook", args=[clinic.pk]) + query


def local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, LOCAL_TZ).date()


# --- Timebook ------------------------------------------------------------------------------------


def _render_timebook(
    request: AuthenticatedHttpRequest,
    clinic: Clinic,
    ws: WorkspaceClinic,
    *,
    params,
    change_form: ChangeTypeForm | None = None,
) -> HttpResponse:
    today = timezone.localdate()
    filter_form = TimebookFilterForm(params, clinic=clinic)
    filter_form.is_valid()
    cleaned = filter_form.cleaned_data
    resource = cleaned.get("resurs")
    # A chosen date wins over the older week parameter; neither means today.
    day = cleaned.get("datum") or cleaned.get("vecka") or today
    monday = day - dt.timedelta(days=day.weekday())
    day_view = cleaned.get("visa") == TIMEBOOK_DAY
    week = timebook_week(
        actor=request.user, clinic=clinic, monday=monday, resource=resource, only_day=day if day_view else None
    )
    change_form = change_form or ChangeTypeForm(clinic=clinic)
    status = 400 if filter_form.errors or change_form.errors else 200
    if not filter_form.errors:
        # Show the date the page is at, also when it was reached by a week or by default.
        filter_form = TimebookFilterForm(
            clinic=clinic,
            initial={"resurs": resource, "datum": day, "visa": TIMEBOOK_DAY if day_view else TIMEBOOK_WEEK},
        )
    return render(
        request,
        "workspace/scheduler/timebook.html",
        {
            "ws": ws,
            "week": week,
            "grid": timebook_grid(week.days),
            "day": day,
            "day_view": day_view,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "today": today,
            # Reception marks "did not come" only once a time has started (R-ATT-1).
            "now": timezone.now(),
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
def timebook(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic, ws = scheduler_clinic(request, clinic_id)
    return _render_timebook(request, clinic, ws, params=request.GET)


@staff_required
def slots_change_type(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    """Change the type of the chosen times; booked ones keep theirs (R-SCHED-2, R-PUB-1)."""
    clinic, ws = scheduler_clinic(request, clinic_id)
    if refused := refuse_unless_post(request):
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
            # Back to the view the change was made in: the day shown, or the week of the times.
            shown = TimebookFilterForm(request.POST, clinic=clinic)
            shown_day = shown.cleaned_data.get("datum") if shown.is_valid() else None
            day_view = bool(shown_day) and shown.cleaned_data.get("visa") == TIMEBOOK_DAY
            return redirect(
                timebook_url(
                    clinic,
                    resource_id=request.POST.get("resurs", ""),
                    day=shown_day if day_view else local_date(chosen.first().start),
                    day_view=day_view,
                )
            )
    return _render_timebook(request, clinic, ws, params=request.POST, change_form=form)


# --- Schedules (R-SCHED-1, R-SCHED-2) -------------------------------------------------------------


@staff_required
def schedules(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic, ws = scheduler_clinic(request, clinic_id)
    rows = [(schedule, _weekday_names(schedule)) for schedule in schedules_for_clinic(clinic=clinic)]
    return render(request, "workspace/scheduler/schedules.html", {"ws": ws, "schedules": rows})


def _weekday_names(schedule: Schedule) -> str:
    return ", ".join(str(WEEKDAY_NAMES[day - 1]) for day in schedule.weekdays if 1 <= day <= 7)


@staff_required
def schedule_new(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    """Fill in the pattern, preview how many slots it makes, publish it. A large publish runs in
    a worker and its progress shows on the schedule's page."""
    clinic, ws = scheduler_clinic(request, clinic_id)
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


def _published_messages(request: AuthenticatedHttpRequest, created: int, skipped: int) -> None:
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
    request: AuthenticatedHttpRequest,
    clinic: Clinic,
    ws: WorkspaceClinic,
    schedule: Schedule,
    remove_form: RemoveTypeForm,
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
            "first_week_url": timebook_url(clinic, resource_id=schedule.resource_id, day=schedule.start_date),
        },
        status=400 if remove_form.errors else 200,
    )


@staff_required
def schedule_detail(request: AuthenticatedHttpRequest, clinic_id: int, schedule_id: int) -> HttpResponse:
    """The schedule, its slot counts and publishing progress. POST publishes it again, e.g.
    after a failed background run (safe to repeat: existing slots are kept), or with
    ``action=resume`` resumes a stalled background run from where it stopped (R-OPS-3)."""
    clinic, ws = scheduler_clinic(request, clinic_id)
    schedule = _clinic_schedule(clinic, schedule_id)
    if request.method == "POST":
        if request.POST.get("action") == "resume":
            return _schedule_publish_resume(request, clinic, schedule)
        return _schedule_publish_again(request, clinic, schedule)
    return _render_schedule(request, clinic, ws, schedule, RemoveTypeForm(clinic=clinic))


def _domain_error_messages(request: AuthenticatedHttpRequest, exc: DomainError) -> None:
    for errors in exc.field_errors.values():
        for error in errors:
            messages.error(request, str(error))
    if not exc.field_errors:
        messages.error(request, str(exc.message))


def _schedule_publish_again(request: AuthenticatedHttpRequest, clinic: Clinic, schedule: Schedule) -> HttpResponse:
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


def _schedule_publish_resume(request: AuthenticatedHttpRequest, clinic: Clinic, schedule: Schedule) -> HttpResponse:
    try:
        services.schedule_publish_resume(actor=request.user, schedule=schedule)  # audited
    except DomainError as exc:
        _domain_error_messages(request, exc)
    else:
        messages.success(request, _("Publishing resumes where it stopped."))
    return redirect("workspace:schedule_detail", clinic_id=clinic.pk, schedule_id=schedule.pk)


@staff_required
def schedule_remove_type(request: AuthenticatedHttpRequest, clinic_id: int, schedule_id: int) -> HttpResponse:
    """Take the type off the schedule: its free times go at once, booked ones stay (R-SCHED-2)."""
    clinic, ws = scheduler_clinic(request, clinic_id)
    schedule = _clinic_schedule(clinic, schedule_id)
    if refused := refuse_unless_post(request):
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
def slot_new(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic, ws = scheduler_clinic(request, clinic_id)
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
                    _("The time %(when)s is added. It appears on the web shortly.") % {"when": dates.when(slot.start)},
                )
                return redirect(timebook_url(clinic, resource_id=slot.resource_id, day=local_date(slot.start)))
    else:
        form = SlotForm(clinic=clinic, initial={"resource": request.GET.get("resurs") or None})
    return render(
        request, "workspace/scheduler/slot_new.html", {"ws": ws, "form": form}, status=400 if form.errors else 200
    )


@staff_required
def block_new(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    """Block a period on a resource: its free times leave the web at once (R-PUB-2)."""
    clinic, ws = scheduler_clinic(request, clinic_id)
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
                return redirect(timebook_url(clinic, resource_id=block.resource_id, day=local_date(block.start)))
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
def block_delete(request: AuthenticatedHttpRequest, clinic_id: int, block_id: int) -> HttpResponse:
    clinic, _ws = scheduler_clinic(request, clinic_id)
    block = Block.objects.filter(pk=block_id, clinic=clinic).first()
    if block is None:
        raise Http404
    if refused := refuse_unless_post(request):
        return refused
    try:
        services.block_delete(actor=request.user, block=block)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The block is removed. Its free times return to the web shortly."))
    return redirect(timebook_url(clinic, resource_id=request.POST.get("resurs", ""), day=local_date(block.start)))
