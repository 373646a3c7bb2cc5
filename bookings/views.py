"""Resident pages: book, view, rebook, cancel, inbox. Each view translates the request, calls a
service or selector, and turns a DomainError into a message or a 404; no rule lives here."""

from __future__ import annotations

import calendar
import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import resident_required
from accounts.http import AuthenticatedHttpRequest
from clinics.models import AppointmentType, CaseKind, Clinic
from clinics.selectors import bookable_types, case_type_admits, case_type_for, region_notice, start_page_clinics
from core import params
from core.errors import DomainError, ErrorCode, ValidationFailed
from core.overload import shed_when_queued
from schedules.models import Hold, HoldState, Slot
from schedules.selectors import (
    LOCAL_TZ,
    local_midnight,
    nearest_offered_slots,
    offered_days,
    offered_slots,
    visibility_cutoff,
)
from schedules.services import hold_cancel

from . import ics
from .forms import ConditionsForm, PatientCommentForm
from .selectors import (
    bases_for_resident,
    basis_for_resident,
    booking_actions,
    booking_for_resident,
    bookings_for_resident,
    inbox_for_resident,
    inbox_unread_count,
    rebook_candidates,
    usable_basis,
)
from .services import (
    booking_cancel,
    booking_create,
    booking_rebook,
    hold_create_for_booking,
    hold_create_for_rebook,
    inbox_mark_read,
)

DRAFT_KEY = "booking_draft"
# The SMART Scheduling Links deep link's source and booking-referral, kept for the clinic they
# came for until a booking there records them.
REFERRAL_KEY = "booking_referral"
NEAREST_TIMES = 5


def _accepted_key(kind: CaseKind, clinic_id: int) -> str:
    return f"conditions_{kind}_{clinic_id}"


def _booking_or_404(request: AuthenticatedHttpRequest, booking_id: int):
    try:
        return booking_for_resident(resident=request.user, booking_id=booking_id)
    except DomainError:
        raise Http404 from None


def _conditions(
    request: AuthenticatedHttpRequest, *, clinic: Clinic, kind: CaseKind, next_url: str, template_context: dict
):
    """Show a case type's conditions text; the resident confirms before the flow starts (R-CASE-1)."""
    case_type = case_type_for(clinic=clinic, kind=kind)
    if not case_type_admits(case_type=case_type, resident=request.user):
        raise Http404  # R-CASE-3: not offered to this resident
    form = ConditionsForm(request.POST if request.method == "POST" else None, auto_id="%s")
    if form.is_valid():
        request.session[_accepted_key(kind, clinic.pk)] = True
        return redirect(next_url)
    return render(
        request,
        "bookings/conditions.html",
        {"clinic": clinic, "case_type": case_type, "form": form, **template_context},
        status=400 if form.errors else 200,
    )


def _require_accepted(request: AuthenticatedHttpRequest, kind: CaseKind, clinic_id: int) -> bool:
    return bool(request.session.get(_accepted_key(kind, clinic_id)))


# --- Booking (BOOK case type) -----------------------------------------------------------------


@resident_required
def book_conditions(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic = get_object_or_404(Clinic, pk=clinic_id)
    # From a booking basis or summons ("?typ="): on to that type's days once the conditions are read.
    type_id = params.optional_id(request.GET.get("typ", ""))
    next_url = reverse("bookings:book_types", args=[clinic.pk])
    if type_id is not None and bookable_types(clinic=clinic, resident=request.user).filter(pk=type_id).exists():
        next_url = reverse("bookings:book_days", args=[clinic.pk, type_id])
    # A deep link to one time comes back to that time after the conditions (``nasta``).
    after = request.GET.get("nasta", "")
    if after:
        next_url = _same_site_path(request, after)
    return _conditions(request, clinic=clinic, kind=CaseKind.BOOK, next_url=next_url, template_context={"step": 1})


@resident_required
def basis_book(request: AuthenticatedHttpRequest, basis_id: int) -> HttpResponse:
    """ "Boka tid" from the start page or an open summons in the inbox: booking the type the basis
    is for, through the clinic's conditions text when its BOOK case type admits the resident
    (R-CASE-1). An open summons also opens a type the case type does not offer them; there is
    no conditions text to read then, and the flow starts at the days."""
    try:
        basis = basis_for_resident(resident=request.user, basis_id=basis_id)
    except DomainError:
        raise Http404 from None
    clinic = basis.clinic
    if case_type_admits(case_type=case_type_for(clinic=clinic, kind=CaseKind.BOOK), resident=request.user):
        url = reverse("bookings:book_conditions", args=[clinic.pk])
        return redirect(f"{url}?typ={basis.appointment_type_id}")
    request.session[_accepted_key(CaseKind.BOOK, clinic.pk)] = True
    return redirect("bookings:book_days", clinic_id=clinic.pk, type_id=basis.appointment_type_id)


@resident_required
def book_types(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic = get_object_or_404(Clinic, pk=clinic_id)
    if not _require_accepted(request, CaseKind.BOOK, clinic.pk):
        return redirect("bookings:book_conditions", clinic_id=clinic.pk)
    types = bookable_types(clinic=clinic, resident=request.user)
    return render(request, "bookings/book_types.html", {"clinic": clinic, "types": types, "step": 2})


def _bookable_type(request: AuthenticatedHttpRequest, clinic: Clinic, type_id: int) -> AppointmentType:
    appointment_type = bookable_types(clinic=clinic, resident=request.user).filter(pk=type_id).first()
    if appointment_type is None:
        raise Http404
    return appointment_type


def _month_from(request: HttpRequest, first_free: dt.datetime | None) -> dt.date:
    """The month asked for, else the month of the first free time, never before this month."""
    this_month = timezone.localdate().replace(day=1)
    try:
        # R-SEC-6: strict YYYY-MM within the calendar core.params allows, so the next month
        # and the month before can always be computed.
        return max(params.parse_month(request.GET.get("manad"), name="manad"), this_month)
    except params.BadParameter:
        if first_free is None:
            return this_month
        return timezone.localtime(first_free, LOCAL_TZ).date().replace(day=1)


def _calendar_weeks(first: dt.date, counts: dict[dt.date, int]) -> list[list[dict | None]]:
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month):
        weeks.append([{"date": day, "count": counts.get(day, 0)} if day.month == first.month else None for day in week])
    return weeks


@resident_required
def book_days(request: AuthenticatedHttpRequest, clinic_id: int, type_id: int) -> HttpResponse:
    clinic = get_object_or_404(Clinic, pk=clinic_id)
    if not _require_accepted(request, CaseKind.BOOK, clinic.pk):
        return redirect("bookings:book_conditions", clinic_id=clinic.pk)
    appointment_type = _bookable_type(request, clinic, type_id)
    first_free = offered_slots(clinic=clinic, appointment_type=appointment_type, resident=request.user).first()
    first = _month_from(request, first_free.start if first_free else None)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    counts = offered_days(
        clinic=clinic,
        appointment_type=appointment_type,
        resident=request.user,
        start_from=local_midnight(first),
        until=local_midnight(next_month),
    )
    last_visible = (visibility_cutoff(appointment_type=appointment_type) - dt.timedelta(seconds=1)).astimezone(LOCAL_TZ)
    return render(
        request,
        "bookings/book_days.html",
        {
            "clinic": clinic,
            "appointment_type": appointment_type,
            "month": first,
            "weeks": _calendar_weeks(first, counts),
            "total": sum(counts.values()),
            "previous_month": (first - dt.timedelta(days=1)).replace(day=1)
            if first > timezone.localdate().replace(day=1)
            else None,
            "next_month": next_month if next_month <= last_visible.date() else None,
            "step": 3,
        },
    )


@resident_required
def book_times(request: AuthenticatedHttpRequest, clinic_id: int, type_id: int, day: str) -> HttpResponse:
    clinic = get_object_or_404(Clinic, pk=clinic_id)
    if not _require_accepted(request, CaseKind.BOOK, clinic.pk):
        return redirect("bookings:book_conditions", clinic_id=clinic.pk)
    appointment_type = _bookable_type(request, clinic, type_id)
    try:
        date = params.parse_date(day, name="day")
    except params.BadParameter:
        raise Http404 from None
    slots = offered_slots(
        clinic=clinic,
        appointment_type=appointment_type,
        resident=request.user,
        start_from=local_midnight(date),
        until=local_midnight(date + dt.timedelta(days=1)),
    )
    return render(
        request,
        "bookings/book_times.html",
        {"clinic": clinic, "appointment_type": appointment_type, "date": date, "slots": slots, "step": 4},
    )


def _same_site_path(request: HttpRequest, back: str) -> str:
    """Where to go back to after a refused hold: only a path on this site, never another host
    (``//evil.example`` starts with a slash too), so the form cannot be used as an open redirect."""
    if url_has_allowed_host_and_scheme(back, allowed_hosts=None, require_https=request.is_secure()) and back.startswith(
        "/"
    ):
        return back
    return "/"


@shed_when_queued
@require_POST
@resident_required
def hold(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Set the chosen time aside for the resident (R-BOOK-3), for booking or for rebooking."""
    back = _same_site_path(request, request.POST.get("back", "/"))
    slot_id = params.optional_id(request.POST.get("slot", ""))
    rebook_id = params.optional_id(request.POST.get("rebook", ""))
    if slot_id is None:
        messages.error(request, _("Choose a time."))
        return redirect(back)
    rebook_of = _booking_or_404(request, rebook_id) if rebook_id is not None else None
    clinic_id = (
        rebook_of.clinic_id
        if rebook_of
        else Slot.objects.filter(pk=slot_id).values_list("clinic_id", flat=True).first()
    )
    kind = CaseKind.MANAGE if rebook_of else CaseKind.BOOK
    if clinic_id is not None and not _require_accepted(request, kind, clinic_id):
        # R-CASE-1: the conditions text comes before choosing a time.
        if rebook_of:
            return redirect("bookings:rebook_conditions", booking_id=rebook_of.pk)
        return redirect("bookings:book_conditions", clinic_id=clinic_id)
    try:
        if rebook_of is not None:
            new_hold = hold_create_for_rebook(resident=request.user, slot_id=slot_id, booking=rebook_of)
        else:
            new_hold = hold_create_for_booking(resident=request.user, slot_id=slot_id)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    return redirect("bookings:confirm", hold_id=new_hold.pk)


def _keep_referral(request: AuthenticatedHttpRequest, clinic_id: int) -> None:
    source, referral = request.GET.get("source", "").strip(), request.GET.get("booking-referral", "").strip()
    if source or referral:
        request.session[REFERRAL_KEY] = {"clinic": clinic_id, "source": source[:100], "referral": referral[:200]}


def _referral_for(request: AuthenticatedHttpRequest, clinic_id: int) -> tuple[str, str]:
    """(source, booking-referral) kept from a deep link to this clinic, else empty."""
    kept = request.session.get(REFERRAL_KEY) or {}
    if kept.get("clinic") != clinic_id:
        return "", ""
    return kept.get("source", ""), kept.get("referral", "")


@resident_required
def book_slot(request: AuthenticatedHttpRequest, clinic_id: int, type_id: int, slot_id: int) -> HttpResponse:
    """The booking deep link of a published Slot (SMART Scheduling Links): after login and the
    conditions text, the time is held for the resident (R-BOOK-3) and they confirm it; if it was
    just taken, they are told so and shown the nearest free times of the same type. A GET holds,
    as a deep link is a plain link: the hold is the resident's own, short, and gives way only to
    their own next one."""
    clinic = get_object_or_404(Clinic, pk=clinic_id)
    _keep_referral(request, clinic.pk)
    if not _require_accepted(request, CaseKind.BOOK, clinic.pk):
        conditions = reverse("bookings:book_conditions", args=[clinic.pk])
        return redirect(f"{conditions}?{urlencode({'nasta': request.path})}")
    appointment_type = _bookable_type(request, clinic, type_id)
    slot = Slot.objects.filter(pk=slot_id, clinic=clinic, appointment_type=appointment_type).first()
    refusal = ""
    if slot is not None:
        own = Hold.objects.filter(slot=slot, resident=request.user, state=HoldState.ACTIVE).first()
        if own is not None:  # the page reloaded: the time is already theirs to confirm
            return redirect("bookings:confirm", hold_id=own.pk)
        try:
            held = hold_create_for_booking(resident=request.user, slot_id=slot.pk)
        except DomainError as exc:
            # Taken or gone: said below with the nearest times. Any other refusal is said as it is.
            if exc.code not in (
                ErrorCode.REQUESTED_TIME_IS_ALREADY_RESERVED,
                ErrorCode.REQUESTED_TIME_HAS_ALREADY_PASSED,
            ):
                refusal = str(exc.message)
        else:
            return redirect("bookings:confirm", hold_id=held.pk)
    wanted = slot.start if slot is not None else timezone.now()
    return render(
        request,
        "bookings/book_slot_taken.html",
        {
            "clinic": clinic,
            "appointment_type": appointment_type,
            "wanted": wanted if slot is not None else None,
            "refusal": refusal,
            "slots": nearest_offered_slots(
                clinic=clinic, appointment_type=appointment_type, resident=request.user, wanted=wanted, n=NEAREST_TIMES
            ),
            "step": 4,
        },
    )


def _own_active_hold(request: AuthenticatedHttpRequest, hold_id: int) -> Hold | None:
    return (
        Hold.objects.select_related("slot__clinic", "slot__appointment_type", "slot__resource", "rebook_of")
        .filter(pk=hold_id, resident=request.user, state=HoldState.ACTIVE)
        .first()
    )


@resident_required
def confirm(request: AuthenticatedHttpRequest, hold_id: int) -> HttpResponse:
    held = _own_active_hold(request, hold_id)
    if held is None:
        # Released or taken meanwhile: keep what the resident typed and go back to the times.
        if request.method == "POST":
            request.session[DRAFT_KEY] = {
                "phone": request.POST.get("phone", ""),
                "reason": request.POST.get("reason", ""),
            }
        messages.error(request, DomainError(ErrorCode.HOLD_EXPIRED).message)
        return _back_to_times(Hold.objects.filter(pk=hold_id, resident=request.user).select_related("slot").first())
    slot = held.slot
    form = PatientCommentForm(
        request.POST if request.method == "POST" else None, auto_id="%s", initial=request.session.get(DRAFT_KEY, {})
    )
    if form.is_valid():
        phone, reason = form.cleaned_data["phone"], form.cleaned_data["reason"]
        request.session[DRAFT_KEY] = {"phone": phone, "reason": reason}
        try:
            if held.rebook_of is not None:
                booking = booking_rebook(
                    resident=request.user, booking_id=held.rebook_of.pk, new_slot_id=slot.pk, hold=held
                )
                messages.success(request, _("Your time is rebooked."))
            else:
                source, referral = _referral_for(request, slot.clinic_id)
                booking = booking_create(
                    resident=request.user,
                    slot_id=slot.pk,
                    hold=held,
                    phone=phone,
                    reason=reason,
                    referral_source=source,
                    booking_referral=referral,
                )
                request.session.pop(REFERRAL_KEY, None)
                messages.success(request, _("Your time is booked."))
        except ValidationFailed as exc:
            for field, field_messages in exc.field_errors.items():
                for message in field_messages:
                    form.add_error(field if field in form.fields else None, str(message))
        except DomainError as exc:
            # "Just taken" and friends: say so kindly and go back to the free times; what the
            # resident typed stays in the session for the next attempt.
            messages.error(request, exc.message)
            return _back_to_times(held)
        else:
            request.session.pop(DRAFT_KEY, None)
            return redirect(f"{reverse('bookings:detail', args=[booking.pk])}?kvitto=1")
    needs_basis = slot.appointment_type.requires_booking_basis and held.rebook_of is None
    return render(
        request,
        "bookings/confirm.html",
        {
            "hold": held,
            "slot": slot,
            "clinic": slot.clinic,
            "appointment_type": slot.appointment_type,
            "form": form,
            "ask_comment": slot.clinic.patient_comment_on_web and held.rebook_of is None,
            "basis": usable_basis(resident=request.user, appointment_type_id=slot.appointment_type_id)
            if needs_basis
            else None,
            "seconds_left": max(0, int((held.expires_at - timezone.now()).total_seconds())),
            "step": 5,
        },
        status=400 if form.errors else 200,
    )


def _back_to_times(held: Hold | None) -> HttpResponse:
    if held is None or held.slot_id is None:
        return redirect("bookings:my_bookings")
    if held.rebook_of_id:
        return redirect("bookings:rebook_times", booking_id=held.rebook_of_id)
    return redirect("bookings:book_days", clinic_id=held.slot.clinic_id, type_id=held.slot.appointment_type_id)


@require_POST
@resident_required
def release(request: AuthenticatedHttpRequest, hold_id: int) -> HttpResponse:
    held = Hold.objects.filter(pk=hold_id, resident=request.user).select_related("slot").first()
    if held is None:
        raise Http404
    hold_cancel(resident=request.user, hold=held)
    messages.info(request, _("The time is no longer reserved for you."))
    return _back_to_times(held)


# --- My bookings (R-BOOK-5…8, R-TYPE-3) -----------------------------------------------------------


@resident_required
def my_bookings(request: AuthenticatedHttpRequest) -> HttpResponse:
    bookings = [
        (booking, booking_actions(booking=booking, resident=request.user))
        for booking in bookings_for_resident(resident=request.user)
    ]
    return render(request, "bookings/my_bookings.html", {"bookings": bookings})


@resident_required
def detail(request: AuthenticatedHttpRequest, booking_id: int) -> HttpResponse:
    booking = _booking_or_404(request, booking_id)
    return render(
        request,
        "bookings/detail.html",
        {
            "booking": booking,
            "actions": booking_actions(booking=booking, resident=request.user),
            "receipt": request.GET.get("kvitto") == "1",
        },
    )


@resident_required
def booking_ics(request: AuthenticatedHttpRequest, booking_id: int) -> HttpResponse:
    booking = _booking_or_404(request, booking_id)
    response = HttpResponse(ics.booking_ics(booking), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tidbok-{booking.pk}.ics"'
    return response


@resident_required
def cancel_conditions(request: AuthenticatedHttpRequest, booking_id: int) -> HttpResponse:
    """The MANAGE conditions text before a cancellation, as before a rebooking (R-CASE-1)."""
    booking = _booking_or_404(request, booking_id)
    if not booking_actions(booking=booking, resident=request.user).can_cancel:
        raise Http404
    return _conditions(
        request,
        clinic=booking.clinic,
        kind=CaseKind.MANAGE,
        next_url=reverse("bookings:cancel", args=[booking.pk]),
        template_context={"booking": booking},
    )


@resident_required
def cancel(request: AuthenticatedHttpRequest, booking_id: int) -> HttpResponse:
    booking = _booking_or_404(request, booking_id)
    actions = booking_actions(booking=booking, resident=request.user)
    if actions.can_cancel and not _require_accepted(request, CaseKind.MANAGE, booking.clinic_id):
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
    return render(request, "bookings/cancel.html", {"booking": booking, "actions": actions})


@resident_required
def rebook_conditions(request: AuthenticatedHttpRequest, booking_id: int) -> HttpResponse:
    booking = _booking_or_404(request, booking_id)
    if not booking_actions(booking=booking, resident=request.user).can_rebook:
        raise Http404
    return _conditions(
        request,
        clinic=booking.clinic,
        kind=CaseKind.MANAGE,
        next_url=reverse("bookings:rebook_times", args=[booking.pk]),
        template_context={"booking": booking},
    )


@resident_required
def rebook_times(request: AuthenticatedHttpRequest, booking_id: int) -> HttpResponse:
    booking = _booking_or_404(request, booking_id)
    if not _require_accepted(request, CaseKind.MANAGE, booking.clinic_id):
        return redirect("bookings:rebook_conditions", booking_id=booking.pk)
    candidates = rebook_candidates(booking=booking, resident=request.user).exclude(pk=booking.slot_id)
    days: dict[dt.date, list] = {}
    for slot in candidates[:300]:
        days.setdefault(timezone.localtime(slot.start, LOCAL_TZ).date(), []).append(slot)
    actions = booking_actions(booking=booking, resident=request.user)
    return render(request, "bookings/rebook_times.html", {"booking": booking, "days": days.items(), "actions": actions})


# --- Inbox (R-BOOK-9) ---------------------------------------------------------------------------


@resident_required
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "bookings/inbox.html", {"inbox": inbox_for_resident(resident=request.user)})


@resident_required
def message(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    try:
        item = inbox_mark_read(resident=request.user, message_id=message_id)
    except DomainError:
        raise Http404 from None
    visible_booking = None
    if item.booking_id:
        visible_booking = bookings_for_resident(resident=request.user).filter(pk=item.booking_id).first()
    # An open summons: "Boka tid" while it can still be used.
    summons = None
    if item.booking_basis_id:
        summons = next((b for b in bases_for_resident(resident=request.user) if b.pk == item.booking_basis_id), None)
    return render(request, "bookings/message.html", {"item": item, "booking": visible_booking, "summons": summons})


@resident_required
def start(request: AuthenticatedHttpRequest) -> HttpResponse:
    resident = request.user
    clinics = list(start_page_clinics(resident=resident).select_related("region"))
    notices = [notice for clinic in clinics if (notice := region_notice(clinic=clinic, resident=resident))]
    return render(
        request,
        "clinics/start.html",
        {
            "clinics": clinics,
            "region_notices": notices,
            "bookings": bookings_for_resident(resident=resident)[:5],
            "bases": bases_for_resident(resident=resident),
            "unread": inbox_unread_count(resident=resident),
        },
    )
