"""My booked times (R-BOOK-5…8, R-TYPE-3): the resident's bookings, one booking, its calendar file,
cancelling and rebooking. Rebooking ends on the booking pages' confirmation
(``book_views.confirm``)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.decorators import resident_required
from accounts.http import AuthenticatedHttpRequest
from clinics.models import CaseKind
from core import params
from core.errors import DomainError
from schedules.selectors import local_midnight

from . import ics
from .acting import acting_bookings
from .month_calendar import last_visible_day, month_calendar, month_from
from .resident_flow import CANCEL_STEPS, REBOOK_STEPS, booking_or_404, conditions_accepted, conditions_page
from .selectors import booking_actions, rebook_candidates, rebook_day_counts
from .services import booking_cancel
from .video import meeting_join_for_resident, meeting_url_for_calendar


@resident_required
def my_bookings(request: AuthenticatedHttpRequest) -> HttpResponse:
    bookings = [
        (
            booking,
            booking_actions(booking=booking, resident=request.patient),
            meeting_join_for_resident(booking=booking),
        )
        for booking in acting_bookings(acting=request.acting)
    ]
    return render(request, "bookings/my_bookings.html", {"bookings": bookings})


@resident_required
def detail(request: AuthenticatedHttpRequest, booking_id: int) -> HttpResponse:
    booking = booking_or_404(request, booking_id)
    return render(
        request,
        "bookings/detail.html",
        {
            "booking": booking,
            "actions": booking_actions(booking=booking, resident=request.patient),
            "meeting": meeting_join_for_resident(booking=booking),
            "receipt": request.GET.get("kvitto") == "1",
            # The receipt after a rebooking says so in its heading, not "booked" as for a new time.
            "rebooked": booking.rebooked_from_id is not None,
        },
    )


@resident_required
def booking_ics(request: AuthenticatedHttpRequest, booking_id: int) -> HttpResponse:
    booking = booking_or_404(request, booking_id)
    body = ics.booking_ics(booking, meeting_url=meeting_url_for_calendar(booking=booking))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tidbok-{booking.pk}.ics"'
    return response


@resident_required
def cancel_conditions(request: AuthenticatedHttpRequest, booking_id: int) -> HttpResponse:
    """The MANAGE conditions text before a cancellation, as before a rebooking (R-CASE-1)."""
    booking = booking_or_404(request, booking_id)
    if not booking_actions(booking=booking, resident=request.patient).can_cancel:
        raise Http404
    return conditions_page(
        request,
        clinic=booking.clinic,
        kind=CaseKind.MANAGE,
        next_url=reverse("bookings:cancel", args=[booking.pk]),
        back_url=reverse("bookings:detail", args=[booking.pk]),
        template_context={"booking": booking, "step": 1, "steps": CANCEL_STEPS},
    )


@resident_required
def cancel(request: AuthenticatedHttpRequest, booking_id: int) -> HttpResponse:
    booking = booking_or_404(request, booking_id)
    actions = booking_actions(booking=booking, resident=request.patient)
    if actions.can_cancel and not conditions_accepted(request, CaseKind.MANAGE, booking.clinic_id):
        # R-CASE-1: the conditions text comes before the cancellation, also for a form posted
        # without the page before it.
        return redirect("bookings:cancel_conditions", booking_id=booking.pk)
    if request.method == "POST":
        try:
            booking_cancel(actor=request.user, booking_id=booking.pk)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("bookings:detail", booking_id=booking.pk)
        messages.success(request, _("Your time is cancelled."))
        return redirect("bookings:my_bookings")
    if not actions.can_cancel:
        return redirect("bookings:detail", booking_id=booking.pk)
    return render(
        request,
        "bookings/cancel.html",
        {
            "booking": booking,
            "actions": actions,
            "back_url": reverse("bookings:cancel_conditions", args=[booking.pk]),
            "step": 2,
            "steps": CANCEL_STEPS,
        },
    )


@resident_required
def rebook_conditions(request: AuthenticatedHttpRequest, booking_id: int) -> HttpResponse:
    booking = booking_or_404(request, booking_id)
    if not booking_actions(booking=booking, resident=request.patient).can_rebook:
        raise Http404
    return conditions_page(
        request,
        clinic=booking.clinic,
        kind=CaseKind.MANAGE,
        next_url=reverse("bookings:rebook_days", args=[booking.pk]),
        back_url=reverse("bookings:detail", args=[booking.pk]),
        template_context={"booking": booking, "step": 1, "steps": REBOOK_STEPS},
    )


@resident_required
def rebook_days(request: AuthenticatedHttpRequest, booking_id: int) -> HttpResponse:
    """The days the booking may move to (R-BOOK-7), a month at a time, as when booking."""
    booking = booking_or_404(request, booking_id)
    if not conditions_accepted(request, CaseKind.MANAGE, booking.clinic_id):
        return redirect("bookings:rebook_conditions", booking_id=booking.pk)
    first_free = rebook_candidates(booking=booking, resident=request.patient).exclude(pk=booking.slot_id).first()
    first = month_from(request, first_free.start if first_free else None)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    counts = rebook_day_counts(
        booking=booking, resident=request.patient, start_from=local_midnight(first), until=local_midnight(next_month)
    )
    return render(
        request,
        "bookings/rebook_days.html",
        {
            "booking": booking,
            "any_free": first_free is not None,
            **month_calendar(
                first=first,
                counts=counts,
                day_url=lambda day: reverse("bookings:rebook_times", args=[booking.pk, day.isoformat()]),
                last_visible=last_visible_day(booking.appointment_type),
            ),
            "actions": booking_actions(booking=booking, resident=request.patient),
            "back_url": reverse("bookings:rebook_conditions", args=[booking.pk]),
            "step": 2,
            "steps": REBOOK_STEPS,
        },
    )


@resident_required
def rebook_times(request: AuthenticatedHttpRequest, booking_id: int, day: str) -> HttpResponse:
    booking = booking_or_404(request, booking_id)
    if not conditions_accepted(request, CaseKind.MANAGE, booking.clinic_id):
        return redirect("bookings:rebook_conditions", booking_id=booking.pk)
    try:
        date = params.parse_date(day, name="day")
    except params.BadParameter:
        raise Http404 from None
    slots = (
        rebook_candidates(booking=booking, resident=request.patient)
        .exclude(pk=booking.slot_id)
        .filter(start__gte=local_midnight(date), start__lt=local_midnight(date + dt.timedelta(days=1)))
    )
    return render(
        request,
        "bookings/rebook_times.html",
        {
            "booking": booking,
            "date": date,
            "slots": slots,
            "actions": booking_actions(booking=booking, resident=request.patient),
            "back_url": f"{reverse('bookings:rebook_days', args=[booking.pk])}?manad={date:%Y-%m}",
            "step": 3,
            "steps": REBOOK_STEPS,
        },
    )
