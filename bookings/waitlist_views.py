"""The resident's waitlist pages (R-WAIT-1) and the page an offer's link opens (R-WAIT-3)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.decorators import resident_required
from accounts.http import AuthenticatedHttpRequest
from clinics.models import Clinic
from clinics.selectors import bookable_types
from core import params
from core.errors import DomainError, ErrorCode, ValidationFailed

from .acting import acting_waitlist_entries, acting_waitlist_offers
from .forms import WaitlistJoinForm
from .models import OfferState
from .services import waitlist_join, waitlist_leave, waitlist_offer_accept, waitlist_offer_decline
from .waitlist_selectors import (
    waitlist_offer_for_resident,
)


@resident_required
@require_http_methods(["GET", "POST"])
def join(request: AuthenticatedHttpRequest, clinic_id: int, type_id: int) -> HttpResponse:
    """ "Ingen tid passar? Ställ dig i kö": only for a type the clinic opened to residents' waitlist
    and the resident may book (R-WAIT-1)."""
    clinic = get_object_or_404(Clinic, pk=clinic_id)
    appointment_type = (
        bookable_types(clinic=clinic, resident=request.patient).filter(pk=type_id, waitlist_for_residents=True).first()
    )
    if appointment_type is None or not request.acting.covers(clinic.pk):
        raise Http404  # R-POA-1: an attorney only at the clinics the power covers
    form = WaitlistJoinForm(request.POST or None, clinic=clinic)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                waitlist_join(
                    resident=request.patient, appointment_type=appointment_type, actor=request.user, **form.wishes()
                )
            except DomainError as error:
                form.add_domain_errors(error)
            else:
                messages.success(
                    request,
                    _("You are on the waitlist for %(what)s at %(clinic)s. We will tell you when a time is free.")
                    % {"what": appointment_type.web_name, "clinic": clinic.name},
                )
                return redirect("bookings:my_waitlist")
        status = 400
    return render(
        request,
        "bookings/waitlist_join.html",
        {
            "clinic": clinic,
            "appointment_type": appointment_type,
            "form": form,
            "back_url": reverse("bookings:book_days", args=[clinic.pk, appointment_type.pk]),
        },
        status=status,
    )


@resident_required
@require_http_methods(["GET", "POST"])
def my_waitlist(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The resident's places in waitlists and the offers open to them; leaving one (R-WAIT-1)."""
    if request.method == "POST":
        try:
            entry_id = params.parse_id(request.POST.get("entry", ""), name="entry")
            if not acting_waitlist_entries(acting=request.acting).filter(pk=entry_id).exists():
                raise DomainError(ErrorCode.NOT_FOUND)  # R-POA-1: not a place the actor may act on
            waitlist_leave(resident=request.patient, entry_id=entry_id, actor=request.user)
        except (params.BadParameter, DomainError):
            messages.error(request, _("You are not on that waitlist any more."))
        else:
            messages.success(request, _("You have left the waitlist."))
        return redirect("bookings:my_waitlist")
    return render(
        request,
        "bookings/my_waitlist.html",
        {
            "entries": acting_waitlist_entries(acting=request.acting),
            "offers": acting_waitlist_offers(acting=request.acting),
        },
    )


@never_cache
@resident_required
@require_http_methods(["GET", "POST"])
def offer(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    """The offer's link (R-WAIT-3): shown only to the resident it was made to, after login; one
    press books the time or passes it on. Opening the link changes nothing (a GET)."""
    found = waitlist_offer_for_resident(resident=request.patient, token=token[:64])
    if found is None or not request.acting.covers(found.entry.clinic_id):
        raise Http404
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "accept":
                # The logged-in user acts, the offer's resident is the patient: a guardian or attorney
                # accepting is recorded as themself (R-GUARD-4, R-POA-1), and checked under the lock.
                booking = waitlist_offer_accept(resident=request.patient, token=found.token, actor=request.user)
                messages.success(request, _("The time is booked."))
                return redirect("bookings:detail", booking_id=booking.pk)
            if action == "decline":
                waitlist_offer_decline(resident=request.patient, token=found.token, actor=request.user)
                messages.success(request, _("You said no to the time. You are still on the waitlist."))
                return redirect("bookings:my_waitlist")
            raise ValidationFailed({"action": [_("Choose to book the time or to say no.")]})
        except DomainError as exc:
            error = str(exc.message)
            found.refresh_from_db()
    is_open = found.state == OfferState.ACTIVE and found.expires_at > timezone.now()
    return render(
        request,
        "bookings/waitlist_offer.html",
        {"offer": found, "slot": found.slot, "is_open": is_open, "error": error},
        status=400 if error else 200,
    )
