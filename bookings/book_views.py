"""The resident's booking pages (R-BOOK-*): conditions, type, day and time, the hold and the
confirmation, which also ends a rebooking. Each view translates the request, calls a service or
selector, and turns a DomainError into a message or a 404; no rule lives here."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.decorators import resident_required
from accounts.http import AuthenticatedHttpRequest
from clinics.models import AppointmentType, CaseKind, Clinic
from clinics.selectors import bookable_types, case_type_admits, case_type_for
from core import params
from core.errors import DomainError, ErrorCode, ValidationFailed
from core.overload import shed_when_queued
from schedules.models import Hold, HoldState, Slot
from schedules.selectors import LOCAL_TZ, local_midnight, nearest_offered_slots, offered_days, offered_slots
from schedules.services import hold_cancel

from .basis_selectors import basis_for_resident, usable_basis
from .forms import PatientCommentForm
from .month_calendar import last_visible_day, month_calendar, month_from
from .resident_flow import (
    BOOK_STEPS,
    REBOOK_STEPS,
    accepted_key,
    acting_clinic_or_404,
    booking_or_404,
    conditions_accepted,
    conditions_page,
    same_site_path,
)
from .selectors import booking_actions, bookings_for_resident
from .services import booking_create, booking_rebook, hold_create_for_booking, hold_create_for_rebook

DRAFT_KEY = "booking_draft"
# The SMART Scheduling Links deep link's source and booking-referral, kept for the clinic they
# came for until a booking there records them.
REFERRAL_KEY = "booking_referral"
NEAREST_TIMES = 5
# What a resident typed on a confirm page that failed is offered again on the next time they
# hold in the same flow (same clinic, type and rebooking) within this many minutes, never later
# or elsewhere: it belongs to that attempt, not to the session.
DRAFT_CARRY_MINUTES = 15


@resident_required
def book_conditions(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic = acting_clinic_or_404(request, clinic_id)
    # From a booking basis or summons ("?typ="): on to that type's days once the conditions are read.
    type_id = params.optional_id(request.GET.get("typ", ""))
    next_url = reverse("bookings:book_types", args=[clinic.pk])
    if type_id is not None and bookable_types(clinic=clinic, resident=request.patient).filter(pk=type_id).exists():
        next_url = reverse("bookings:book_days", args=[clinic.pk, type_id])
    # A deep link to one time comes back to that time after the conditions (``nasta``).
    after = request.GET.get("nasta", "")
    if after:
        next_url = same_site_path(request, after)
    return conditions_page(
        request,
        clinic=clinic,
        kind=CaseKind.BOOK,
        next_url=next_url,
        back_url=reverse("clinics:detail", args=[clinic.pk]),
        template_context={"step": 1, "steps": BOOK_STEPS},
    )


@resident_required
def basis_book(request: AuthenticatedHttpRequest, basis_id: int) -> HttpResponse:
    """ "Boka tid" from the start page or an open summons in the inbox: booking the type the basis
    is for, through the clinic's conditions text when its BOOK case type admits the resident
    (R-CASE-1). An open summons also opens a type the case type does not offer them; there is
    no conditions text to read then, and the flow starts at the days."""
    try:
        basis = basis_for_resident(resident=request.patient, basis_id=basis_id)
    except DomainError:
        raise Http404 from None
    clinic = basis.clinic
    if not request.acting.covers(clinic.pk):
        raise Http404  # R-POA-1: outside an attorney's clinics
    if case_type_admits(case_type=case_type_for(clinic=clinic, kind=CaseKind.BOOK), resident=request.patient):
        url = reverse("bookings:book_conditions", args=[clinic.pk])
        return redirect(f"{url}?typ={basis.appointment_type_id}")
    request.session[accepted_key(CaseKind.BOOK, clinic.pk)] = True
    return redirect("bookings:book_days", clinic_id=clinic.pk, type_id=basis.appointment_type_id)


@resident_required
def book_types(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic = acting_clinic_or_404(request, clinic_id)
    if not conditions_accepted(request, CaseKind.BOOK, clinic.pk):
        return redirect("bookings:book_conditions", clinic_id=clinic.pk)
    types = bookable_types(clinic=clinic, resident=request.patient)
    return render(
        request,
        "bookings/book_types.html",
        {
            "clinic": clinic,
            "types": types,
            "back_url": reverse("bookings:book_conditions", args=[clinic.pk]),
            "step": 2,
            "steps": BOOK_STEPS,
        },
    )


def _bookable_type(request: AuthenticatedHttpRequest, clinic: Clinic, type_id: int) -> AppointmentType:
    appointment_type = bookable_types(clinic=clinic, resident=request.patient).filter(pk=type_id).first()
    if appointment_type is None:
        raise Http404
    return appointment_type


@resident_required
def book_days(request: AuthenticatedHttpRequest, clinic_id: int, type_id: int) -> HttpResponse:
    clinic = acting_clinic_or_404(request, clinic_id)
    if not conditions_accepted(request, CaseKind.BOOK, clinic.pk):
        return redirect("bookings:book_conditions", clinic_id=clinic.pk)
    appointment_type = _bookable_type(request, clinic, type_id)
    first_free = offered_slots(clinic=clinic, appointment_type=appointment_type, resident=request.patient).first()
    first = month_from(request, first_free.start if first_free else None)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    counts = offered_days(
        clinic=clinic,
        appointment_type=appointment_type,
        resident=request.patient,
        start_from=local_midnight(first),
        until=local_midnight(next_month),
    )
    return render(
        request,
        "bookings/book_days.html",
        {
            "clinic": clinic,
            "appointment_type": appointment_type,
            **month_calendar(
                first=first,
                counts=counts,
                day_url=lambda day: reverse(
                    "bookings:book_times", args=[clinic.pk, appointment_type.pk, day.isoformat()]
                ),
                last_visible=last_visible_day(appointment_type),
            ),
            "back_url": reverse("bookings:book_types", args=[clinic.pk]),
            "step": 3,
            "steps": BOOK_STEPS,
        },
    )


@resident_required
def book_times(request: AuthenticatedHttpRequest, clinic_id: int, type_id: int, day: str) -> HttpResponse:
    clinic = acting_clinic_or_404(request, clinic_id)
    if not conditions_accepted(request, CaseKind.BOOK, clinic.pk):
        return redirect("bookings:book_conditions", clinic_id=clinic.pk)
    appointment_type = _bookable_type(request, clinic, type_id)
    try:
        date = params.parse_date(day, name="day")
    except params.BadParameter:
        raise Http404 from None
    slots = offered_slots(
        clinic=clinic,
        appointment_type=appointment_type,
        resident=request.patient,
        start_from=local_midnight(date),
        until=local_midnight(date + dt.timedelta(days=1)),
    )
    return render(
        request,
        "bookings/book_times.html",
        {
            "clinic": clinic,
            "appointment_type": appointment_type,
            "date": date,
            "slots": slots,
            "back_url": f"{reverse('bookings:book_days', args=[clinic.pk, appointment_type.pk])}?manad={date:%Y-%m}",
            "step": 4,
            "steps": BOOK_STEPS,
        },
    )


@shed_when_queued
@require_POST
@resident_required
def hold(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Set the chosen time aside for the resident (R-BOOK-3), for booking or for rebooking."""
    back = same_site_path(request, request.POST.get("back", "/"))
    slot_id = params.optional_id(request.POST.get("slot", ""))
    rebook_id = params.optional_id(request.POST.get("rebook", ""))
    if slot_id is None:
        messages.error(request, _("Choose a time."))
        return redirect(back)
    rebook_of = booking_or_404(request, rebook_id) if rebook_id is not None else None
    clinic_id = (
        rebook_of.clinic_id
        if rebook_of
        else Slot.objects.filter(pk=slot_id).values_list("clinic_id", flat=True).first()
    )
    kind = CaseKind.MANAGE if rebook_of else CaseKind.BOOK
    if clinic_id is not None and not conditions_accepted(request, kind, clinic_id):
        # R-CASE-1: the conditions text comes before choosing a time.
        if rebook_of:
            return redirect("bookings:rebook_conditions", booking_id=rebook_of.pk)
        return redirect("bookings:book_conditions", clinic_id=clinic_id)
    try:
        if rebook_of is not None:
            new_hold = hold_create_for_rebook(
                resident=request.patient, slot_id=slot_id, booking=rebook_of, actor=request.user
            )
        else:
            new_hold = hold_create_for_booking(resident=request.patient, slot_id=slot_id, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    _carry_draft(request, new_hold)
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
    clinic = acting_clinic_or_404(request, clinic_id)
    _keep_referral(request, clinic.pk)
    if not conditions_accepted(request, CaseKind.BOOK, clinic.pk):
        conditions = reverse("bookings:book_conditions", args=[clinic.pk])
        return redirect(f"{conditions}?{urlencode({'nasta': request.path})}")
    appointment_type = _bookable_type(request, clinic, type_id)
    slot = Slot.objects.filter(pk=slot_id, clinic=clinic, appointment_type=appointment_type).first()
    refusal = ""
    if slot is not None:
        own = Hold.objects.filter(slot=slot, resident=request.patient, state=HoldState.ACTIVE).first()
        if own is not None:  # the page reloaded: the time is already theirs to confirm
            return redirect("bookings:confirm", hold_id=own.pk)
        try:
            held = hold_create_for_booking(resident=request.patient, slot_id=slot.pk, actor=request.user)
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
                clinic=clinic,
                appointment_type=appointment_type,
                resident=request.patient,
                wanted=wanted,
                n=NEAREST_TIMES,
            ),
            "step": 4,
        },
    )


def _carry_draft(request: AuthenticatedHttpRequest, new_hold: Hold) -> None:
    """What was typed in a failed attempt goes with the next time held in the same flow, soon
    after; anything else drops it, so it never pre-fills a later, unrelated booking."""
    draft = request.session.get(DRAFT_KEY)
    if not draft:
        return
    old = Hold.objects.filter(pk=draft.get("hold"), resident=request.patient).select_related("slot").first()
    same_flow = (
        old is not None
        and old.pk != new_hold.pk
        and old.slot.clinic_id == new_hold.slot.clinic_id
        and old.slot.appointment_type_id == new_hold.slot.appointment_type_id
        and old.rebook_of_id == new_hold.rebook_of_id
        and old.created_at > timezone.now() - dt.timedelta(minutes=DRAFT_CARRY_MINUTES)
    )
    if same_flow:
        request.session[DRAFT_KEY] = {**draft, "hold": new_hold.pk}
    else:
        request.session.pop(DRAFT_KEY, None)


def _draft_for(request: AuthenticatedHttpRequest, held: Hold) -> dict:
    draft = request.session.get(DRAFT_KEY) or {}
    if draft.get("hold") != held.pk:
        return {}
    return {"phone": draft.get("phone", ""), "reason": draft.get("reason", "")}


def _keep_draft(request: AuthenticatedHttpRequest, hold_id: int, phone: str, reason: str) -> None:
    request.session[DRAFT_KEY] = {"hold": hold_id, "phone": phone, "reason": reason}


def _own_active_hold(request: AuthenticatedHttpRequest, hold_id: int) -> Hold | None:
    """The resident's hold if it can still become a booking. One that has run out but not yet been
    swept by the worker is released here, so its time is offered again at once (R-BOOK-3)."""
    held = (
        Hold.objects.select_related("slot__clinic", "slot__appointment_type", "slot__resource", "rebook_of")
        .filter(pk=hold_id, resident=request.patient, state=HoldState.ACTIVE)
        .first()
    )
    if held is not None and held.expires_at <= timezone.now():
        hold_cancel(resident=request.patient, hold=held)
        return None
    return held


def _already_booked(request: AuthenticatedHttpRequest, hold_id: int) -> HttpResponse | None:
    """Back (or the form sent again) after the hold became a booking: that booking, not a
    message that the reservation ran out, which reads as if the booking failed."""
    converted = Hold.objects.filter(pk=hold_id, resident=request.patient, state=HoldState.CONVERTED).first()
    if converted is None:
        return None
    booking = bookings_for_resident(resident=request.patient).filter(slot_id=converted.slot_id).first()
    if booking is None:
        return None
    return render(request, "bookings/already_booked.html", {"booking": booking})


@never_cache  # "Back" after booking asks the server again, so the page tells the truth
@resident_required
def confirm(request: AuthenticatedHttpRequest, hold_id: int) -> HttpResponse:
    held = _own_active_hold(request, hold_id)
    if held is None:
        already = _already_booked(request, hold_id)
        if already is not None:
            return already
        # Released, run out or taken meanwhile: keep what the resident typed and go back to the times.
        if request.method == "POST":
            _keep_draft(request, hold_id, request.POST.get("phone", ""), request.POST.get("reason", ""))
        messages.error(request, DomainError(ErrorCode.HOLD_EXPIRED).message)
        return _back_to_times(Hold.objects.filter(pk=hold_id, resident=request.patient).select_related("slot").first())
    slot = held.slot
    form = PatientCommentForm(
        request.POST if request.method == "POST" else None, auto_id="%s", initial=_draft_for(request, held)
    )
    if form.is_valid():
        phone, reason = form.cleaned_data["phone"], form.cleaned_data["reason"]
        _keep_draft(request, held.pk, phone, reason)
        try:
            if held.rebook_of is not None:
                booking = booking_rebook(
                    resident=request.patient,
                    booking_id=held.rebook_of.pk,
                    new_slot_id=slot.pk,
                    hold=held,
                    actor=request.user,
                )
                messages.success(request, _("Your time is rebooked."))
            else:
                source, referral = _referral_for(request, slot.clinic_id)
                booking = booking_create(
                    resident=request.patient,
                    actor=request.user,
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
            # "Just taken", an overlap (R-BOOK-2) and friends: this hold can never become a booking,
            # so its time is let go at once rather than kept from everyone until it runs out. Say so
            # kindly and go back to the free times; what the resident typed goes with the next time
            # they choose in this flow.
            hold_cancel(resident=request.patient, hold=held)
            messages.error(request, exc.message)
            return _back_to_times(held)
        else:
            request.session.pop(DRAFT_KEY, None)
            return redirect(f"{reverse('bookings:detail', args=[booking.pk])}?kvitto=1")
    rebook_of = held.rebook_of
    rebook_actions = booking_actions(booking=rebook_of, resident=request.patient) if rebook_of is not None else None
    needs_basis = slot.appointment_type.requires_booking_basis and rebook_of is None
    local_start = timezone.localtime(slot.start, LOCAL_TZ)
    return render(
        request,
        "bookings/confirm.html",
        {
            "hold": held,
            "slot": slot,
            "clinic": slot.clinic,
            "appointment_type": slot.appointment_type,
            "form": form,
            "ask_comment": slot.clinic.patient_comment_on_web and rebook_of is None,
            "basis": usable_basis(resident=request.patient, appointment_type_id=slot.appointment_type_id)
            if needs_basis
            else None,
            # R-BOOK-8: moving a visit less than 24 hours away is late, said before, as when cancelling,
            # with the clinic's fee text for it (R-POL-2).
            "change_is_late": rebook_actions is not None and rebook_actions.change_is_late,
            "late_fee_text": rebook_actions.late_fee_text if rebook_actions is not None else "",
            "seconds_left": max(0, int((held.expires_at - timezone.now()).total_seconds())),
            "back_url": reverse("bookings:rebook_times", args=[rebook_of.pk, local_start.date().isoformat()])
            if rebook_of
            else reverse(
                "bookings:book_times",
                args=[slot.clinic_id, slot.appointment_type_id, local_start.date().isoformat()],
            ),
            "step": REBOOK_STEPS if rebook_of else BOOK_STEPS,
            "steps": REBOOK_STEPS if rebook_of else BOOK_STEPS,
        },
        status=400 if form.errors else 200,
    )


def _back_to_times(held: Hold | None) -> HttpResponse:
    if held is None or held.slot_id is None:
        return redirect("bookings:my_bookings")
    if held.rebook_of_id:
        return redirect("bookings:rebook_days", booking_id=held.rebook_of_id)
    return redirect("bookings:book_days", clinic_id=held.slot.clinic_id, type_id=held.slot.appointment_type_id)


@require_POST
@resident_required
def release(request: AuthenticatedHttpRequest, hold_id: int) -> HttpResponse:
    held = Hold.objects.filter(pk=hold_id, resident=request.patient).select_related("slot").first()
    if held is None:
        raise Http404
    hold_cancel(resident=request.patient, hold=held)
    messages.info(request, _("The time is no longer reserved for you."))
    if "back" in request.POST:  # the back link of the confirm page: the day's times again
        return redirect(same_site_path(request, request.POST["back"]))
    return _back_to_times(held)
