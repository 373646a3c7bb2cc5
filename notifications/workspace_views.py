"""Support's page of messages that did not get through, with "send again" (R-NOTE-3)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.http import AuthenticatedHttpRequest
from accounts.models import Role
from clinics.workspace import clinic_for, staff_required, workspace_clinic
from core.errors import BookingError

from . import selectors, services

SUPPORT = (Role.SUPPORT,)
PAGE_SIZE = 200


@staff_required
def failed_notifications(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    # The role first, then the method: someone without the role learns nothing from a 405.
    clinic = clinic_for(request, clinic_id, SUPPORT)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    rows = [
        (notification, selectors.masked_address(notification))
        for notification in selectors.failed_for_clinic(clinic=clinic)[:PAGE_SIZE]
    ]
    return render(
        request,
        "workspace/support/failed_notifications.html",
        {"ws": workspace_clinic(user=request.user, clinic=clinic), "rows": rows},
    )


@staff_required
def notification_resend(request: AuthenticatedHttpRequest, clinic_id: int, notification_id: int) -> HttpResponse:
    clinic = clinic_for(request, clinic_id, SUPPORT)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.notification_resend(actor=request.user, clinic=clinic, notification_id=notification_id)
    except BookingError:
        raise Http404 from None
    messages.success(request, _("The message will be sent again."))
    return redirect("workspace:failed_notifications", clinic_id=clinic.pk)
