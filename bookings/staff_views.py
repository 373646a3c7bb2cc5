"""The staff booking pages of the clinic workspace: a booking in the timebook and its
cancellation, booking a time for a resident and the waitlist (R-BOOK-4, R-BOOK-6, R-BOOK-9,
R-REL-1, R-LOG-4). They sit beside the staff booking API (``staff_api``); bookings builds on
schedules, so these pages use the timebook's URL and the free times from there.

Each view checks the role at the clinic in the URL (R-ACL-1), parses the request with a form,
calls a service or selector and turns a DomainError into field errors or a message. Objects
named in the URL must belong to that clinic, else 404.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.http import AuthenticatedHttpRequest
from accounts.personnummer import format_personnummer, normalise_personnummer
from clinics.models import Clinic
from clinics.workspace import WorkspaceClinic, staff_required
from core import params
from core.errors import DomainError, ValidationFailed
from core.search_token import SEARCH_TOKEN_PARAM, search_token_load, search_token_store
from schedules.forms import FreeTimesFilterForm, ResidentLookupForm, WaitlistForm
from schedules.models import Slot
from schedules.selectors import free_slots_for_staff
from schedules.workspace_views import local_date, refuse_unless_post, scheduler_clinic, timebook_url

from .forms import MeetingLinkForm, WaitlistPriorityForm
from .models import Booking, WaitlistEntry
from .services import (
    REASON_MAX_LENGTH,
    booking_book_for_resident,
    booking_meeting_link_set,
    waitlist_add,
    waitlist_entry_set_priority,
)
from .services import booking_cancel as booking_cancel_service
from .staff_selectors import booking_for_staff, resident_for_staff_booking
from .waitlist_selectors import waitlist_for_clinic, waitlist_for_staff

FREE_TIMES_SHOWN = 60


# --- Bookings in the timebook (R-BOOK-4, R-BOOK-9, R-LOG-4) ---------------------------------------


def _clinic_booking_or_404(clinic: Clinic, booking_id: int) -> None:
    if not Booking.objects.filter(pk=booking_id, clinic=clinic).exists():
        raise Http404


def _booking_page(
    request: AuthenticatedHttpRequest,
    clinic: Clinic,
    ws: WorkspaceClinic,
    booking_id: int,
    *,
    form: MeetingLinkForm | None = None,
) -> HttpResponse:
    try:
        booking = booking_for_staff(actor=request.user, booking_id=booking_id)  # audited (R-LOG-4)
    except DomainError:
        raise Http404 from None
    if form is None:
        form = MeetingLinkForm(initial={"meeting_url": booking.meeting_url}, clinic=clinic)
    return render(
        request,
        "workspace/scheduler/booking_detail.html",
        {
            "ws": ws,
            "booking": booking,
            "timebook_url": timebook_url(clinic, day=local_date(booking.start)),
            "meeting_form": form,
        },
        status=400 if form.errors else 200,
    )


@staff_required
def booking_detail(request: AuthenticatedHttpRequest, clinic_id: int, booking_id: int) -> HttpResponse:
    clinic, ws = scheduler_clinic(request, clinic_id)
    _clinic_booking_or_404(clinic, booking_id)
    return _booking_page(request, clinic, ws, booking_id)


@staff_required
def booking_meeting_link(request: AuthenticatedHttpRequest, clinic_id: int, booking_id: int) -> HttpResponse:
    """Set, replace or remove a video visit's meeting link (audited in the service, R-LOG-4)."""
    clinic, ws = scheduler_clinic(request, clinic_id)
    _clinic_booking_or_404(clinic, booking_id)
    if refused := refuse_unless_post(request):
        return refused
    form = MeetingLinkForm(request.POST, clinic=clinic)
    if form.is_valid():
        try:
            booking_meeting_link_set(
                actor=request.user, booking_id=booking_id, meeting_url=form.cleaned_data["meeting_url"]
            )
        except DomainError as exc:
            form.add_domain_errors(exc)
        else:
            messages.success(request, _("The link to the video meeting is saved."))
            return redirect("workspace:booking_detail", clinic_id=clinic.pk, booking_id=booking_id)
    return _booking_page(request, clinic, ws, booking_id, form=form)


@staff_required
def booking_cancel(request: AuthenticatedHttpRequest, clinic_id: int, booking_id: int) -> HttpResponse:
    """Cancel for the resident; they get a message in their inbox (R-BOOK-9).

    The first post (from the booking page, with the optional reason) only shows what will happen;
    nothing is cancelled until the scheduler confirms on that page, so one slip cannot take a
    resident's time."""
    clinic, ws = scheduler_clinic(request, clinic_id)
    _clinic_booking_or_404(clinic, booking_id)
    if refused := refuse_unless_post(request):
        return refused
    # The clinic's reason, if given, goes to the resident with the cancellation (R-NOTE-2).
    reason = " ".join(request.POST.get("reason", "")[:REASON_MAX_LENGTH].split())
    if request.POST.get("confirmed") != "yes":
        try:
            booking = booking_for_staff(actor=request.user, booking_id=booking_id)  # audited (R-LOG-4)
        except DomainError:
            raise Http404 from None
        if not booking.is_active:
            return redirect("workspace:booking_detail", clinic_id=clinic.pk, booking_id=booking_id)
        return render(
            request, "workspace/scheduler/booking_cancel_confirm.html", {"ws": ws, "booking": booking, "reason": reason}
        )
    try:
        booking = booking_cancel_service(actor=request.user, booking_id=booking_id, reason=reason)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("workspace:booking_detail", clinic_id=clinic.pk, booking_id=booking_id)
    if booking.appointment_type.hidden_for_patient:
        messages.success(request, _("The time is cancelled."))
    else:
        messages.success(request, _("The time is cancelled. The resident has been sent a message."))
    return redirect("workspace:booking_detail", clinic_id=clinic.pk, booking_id=booking_id)


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
    request: AuthenticatedHttpRequest, clinic: Clinic, personnummer: str, entry: WaitlistEntry | None
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
def book_for_resident(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    """Find the resident by personnummer, choose a free time, book: the resident gets a summons
    and a clinic relation (R-BOOK-9, R-REL-1). From the waitlist, the entry goes with the booking
    so a web cancellation puts the resident back on the list (R-BOOK-6).

    R-SEC-3: the personnummer is posted and kept in the session under an opaque token; the
    page's URL names only the token. Finding a resident reads; the POST that books creates a
    resident who has never logged in, in the booking's transaction."""
    clinic, ws = scheduler_clinic(request, clinic_id)
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
        personnummer = entry.resident.personnummer or ""  # a waiting entry's resident always has one
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
def waitlist(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic, ws = scheduler_clinic(request, clinic_id)
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


@staff_required
def waitlist_priority(request: AuthenticatedHttpRequest, clinic_id: int, entry_id: int) -> HttpResponse:
    """R-WAIT-3: a scheduler moves an entry ahead of (or behind) first come, first served; audited."""
    clinic, _ws = scheduler_clinic(request, clinic_id)
    entry = waitlist_for_clinic(clinic=clinic).filter(pk=entry_id).first()
    if entry is None:
        raise Http404
    if refused := refuse_unless_post(request):
        return refused
    form = WaitlistPriorityForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationFailed({"priority": [_("Enter a priority from -9 to 9.")]})
        waitlist_entry_set_priority(actor=request.user, entry_id=entry.pk, priority=form.cleaned_data["priority"])
    except DomainError as exc:
        errors = [str(message) for messages_ in exc.field_errors.values() for message in messages_]
        messages.error(request, errors[0] if errors else str(exc.message))
    else:
        messages.success(request, _("The priority is saved."))
    return redirect("workspace:waitlist", clinic_id=clinic.pk)
