"""The proxy bookers' workspace under /personal/ombud/ (R-TYPE-6, guide 002 "Ombudsbokning").

1177's telephone service and emergency departments find a resident by personnummer, see the
resident's bookings of proxy types in their region, book a free proxy time at one of the
region's clinics (area → clinic → type → day → time) and cancel one. A proxy booker acts for a
region, not a clinic, so these pages take no clinic from the URL: the region comes from the
booker's memberships, and everyone else is refused (R-ACL-1).

R-SEC-3: the personnummer is posted once and kept in the session under an opaque search token;
every later page names only the token (``?sok=…``). The services and selectors write the audit
events (R-LOG-4) and the web booking log rows (R-LOG-1); these views only translate.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.http import AuthenticatedHttpRequest
from accounts.models import Membership
from accounts.personnummer import format_personnummer
from accounts.selectors import proxy_memberships
from clinics.selectors import proxy_types_in_regions
from clinics.workspace import staff_required, workspace_clinics
from core.errors import DomainError
from core.search_token import SEARCH_TOKEN_PARAM, search_token_load, search_token_store
from schedules.models import Slot, SlotStatus
from schedules.selectors import check_booking_notice, proxy_free_days, proxy_free_slots

from .models import Booking
from .proxy_forms import ProxyBookForm, ProxyResidentForm, ProxySearchForm
from .proxy_selectors import booking_for_proxy, proxy_cancel_read, resident_for_proxy
from .services import booking_cancel, booking_create_by_proxy

SEARCH_SCOPE = "proxy"
DAYS_SHOWN = 20
TIMES_SHOWN = 100


def _memberships(request: AuthenticatedHttpRequest) -> list[Membership]:
    """The regions the user books in as a proxy booker; 403 for anyone else (R-ACL-1)."""
    memberships = [m for m in proxy_memberships(user=request.user) if m.region_id]
    if not memberships:
        raise PermissionDenied
    return memberships


def _page(request: AuthenticatedHttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    # "My clinics" leads nowhere for a proxy booker who works at no clinic.
    frame = {"proxy_nav": True, "proxy_only": not workspace_clinics(user=request.user)}
    return render(request, f"workspace/proxy/{template}", {**frame, **context}, status=status)


def _with_token(name: str, token: str, *args, **query: str) -> str:
    return f"{reverse(f'workspace:{name}', args=args)}?{urlencode({SEARCH_TOKEN_PARAM: token, **query})}"


def _searched(request: AuthenticatedHttpRequest) -> tuple[str, str] | None:
    """(token, personnummer) of the resident searched for, or None when the search has expired."""
    token = request.POST.get(SEARCH_TOKEN_PARAM) or request.GET.get(SEARCH_TOKEN_PARAM, "")
    stored = search_token_load(request=request, scope=SEARCH_SCOPE, token=token)
    if stored is None:
        return None
    return token, stored["personnummer"]


def _expired(request: AuthenticatedHttpRequest) -> HttpResponse:
    messages.info(request, _("The search has expired. Search again."))
    return redirect("workspace:proxy_home")


def _resident_context(personnummer: str) -> dict:
    # Only the number the booker typed: the resident's data is read (and audited) on their page.
    return {"personnummer": format_personnummer(personnummer)}


@staff_required
@require_http_methods(["GET", "POST"])
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Find the resident: the personnummer is posted, never put in a URL (R-SEC-3)."""
    memberships = _memberships(request)
    form = ProxyResidentForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        token = search_token_store(
            request=request, scope=SEARCH_SCOPE, data={"personnummer": form.cleaned_data["personnummer"]}
        )
        return redirect(_with_token("proxy_resident", token))
    return _page(request, "home.html", {"form": form, "memberships": memberships}, status=400 if form.errors else 200)


@staff_required
def resident(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The resident's bookings of proxy types in the booker's regions; the read is audited."""
    memberships = _memberships(request)
    searched = _searched(request)
    if searched is None:
        return _expired(request)
    token, personnummer = searched
    now = timezone.now()
    read = resident_for_proxy(actor=request.user, personnummer=personnummer, now=now)
    bookings = [(booking, proxy_cancel_read(booking=booking, now=now)) for booking in read.bookings]
    return _page(
        request,
        "resident.html",
        {
            "memberships": memberships,
            "resident": read.resident,
            "personnummer": format_personnummer(personnummer),
            "bookings": bookings,
            "search_token": token,
        },
    )


@staff_required
def times(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Free proxy times of the region's clinics: filter by area, clinic and type, choose a day,
    then a time (as residents do, day first)."""
    memberships = _memberships(request)
    searched = _searched(request)
    if searched is None:
        return _expired(request)
    token, personnummer = searched
    region_ids = [m.region_id for m in memberships if m.region_id]
    filters = {name: request.GET[name] for name in ("ort", "mottagning", "typ", "datum") if name in request.GET}
    form = ProxySearchForm(filters, region_ids=region_ids)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    slots = proxy_free_slots(
        region_ids=region_ids,
        town=data.get("ort") or "",
        clinic=form.clinic() if valid else None,
        type_name=data.get("typ") or "",
        day=data.get("datum"),
    )
    day = data.get("datum")
    days = None if day or not valid else proxy_free_days(slots=slots, limit=DAYS_SHOWN)
    free = list(slots[:TIMES_SHOWN]) if day and valid else None
    query = form.query() if valid else {}
    return _page(
        request,
        "times.html",
        {
            **_resident_context(personnummer),
            "form": form,
            "search_token": token,
            "day": day,
            "days": [(d, n, _with_token("proxy_times", token, datum=d.isoformat(), **query)) for d, n in days or []],
            "no_days": days == [],
            "free": [(slot, _with_token("proxy_book", token, slot.pk)) for slot in free or []],
            "shown_max": TIMES_SHOWN,
            "back_url": _with_token("proxy_times", token, **query),
            "resident_url": _with_token("proxy_resident", token),
            "has_types": bool(form.clinics),
        },
        status=200 if valid else 400,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def book(request: AuthenticatedHttpRequest, slot_id: int) -> HttpResponse:
    """Confirm and book a proxy time for the resident searched for (R-TYPE-6, R-BOOK-9, R-LOG-1)."""
    memberships = _memberships(request)
    region_ids = [m.region_id for m in memberships if m.region_id]
    slot = (
        Slot.objects.filter(pk=slot_id, appointment_type__in=proxy_types_in_regions(region_ids=region_ids).values("pk"))
        .select_related("clinic", "resource", "appointment_type")
        .first()
    )
    if slot is None:  # another region's time, or no proxy time: as if it did not exist
        raise Http404
    searched = _searched(request)
    if searched is None:
        return _expired(request)
    token, personnummer = searched
    times_url = _with_token("proxy_times", token)
    if slot.status != SlotStatus.FREE or slot.is_blocked or slot.start <= timezone.now():
        messages.error(request, _("The time is no longer free. Choose another time."))
        return redirect(times_url)
    try:
        check_booking_notice(slot=slot, now=timezone.now())  # R-POL-1, said before the form
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(times_url)
    form = ProxyBookForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            booking_create_by_proxy(
                actor=request.user,
                slot_id=slot.pk,
                personnummer=personnummer,
                phone=form.cleaned_data["phone"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            if not exc.field_errors:  # just taken, an overlapping booking: choose another time
                messages.error(request, str(exc.message))
                return redirect(times_url)
            form.add_domain_errors(exc)
        else:
            messages.success(request, _("The time is booked. The resident has a summons in their inbox."))
            return redirect(_with_token("proxy_resident", token))
    return _page(
        request,
        "book.html",
        {
            **_resident_context(personnummer),
            "slot": slot,
            "form": form,
            "search_token": token,
            "asks_comment": slot.clinic.patient_comment_on_web,
            "times_url": times_url,
        },
        status=400 if form.errors else 200,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def cancel(request: AuthenticatedHttpRequest, booking_id: int) -> HttpResponse:
    """Cancel a proxy booking of the resident searched for: the resident gets a message, the web
    booking log a row with the booker's unit (R-TYPE-6, R-BOOK-9, R-LOG-1)."""
    region_ids = [m.region_id for m in _memberships(request) if m.region_id]
    if not Booking.objects.filter(pk=booking_id, clinic__region_id__in=region_ids).exists():
        raise Http404  # another region's booking: as if it did not exist
    searched = _searched(request)
    if searched is None:
        return _expired(request)
    token, personnummer = searched
    if not Booking.objects.filter(pk=booking_id, resident__personnummer=personnummer).exists():
        raise Http404  # only the bookings of the resident on the line
    resident_url = _with_token("proxy_resident", token)
    if request.method == "POST":
        try:
            booking_cancel(actor=request.user, booking_id=booking_id)  # audited with the unit (R-LOG-4)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("The time is cancelled. The resident has been sent a message."))
        return redirect(resident_url)
    try:
        booking = booking_for_proxy(actor=request.user, booking_id=booking_id)  # audited (R-LOG-4)
    except DomainError:
        raise Http404 from None
    return _page(
        request,
        "cancel.html",
        {
            "booking": booking,
            "cancel": proxy_cancel_read(booking=booking, now=timezone.now()),
            "search_token": token,
            "resident_url": resident_url,
        },
    )
