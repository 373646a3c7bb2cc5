"""The local admin's pages in the clinic workspace: case types (R-CASE-1…3, R-CLINIC-2), appointment
types (R-TYPE-1…7, R-VIS-1), resources (R-RES-1) and direct links (R-CLINIC-1).

Each view finds the clinic (and the object inside it, R-ACL-1), calls a service in
``clinics.services`` and turns a DomainError into errors beside the fields or a message. No rule
lives here; the pages only explain them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.http import AuthenticatedHttpRequest
from accounts.models import Role
from accounts.selectors import user_is_region_it
from core.errors import DomainError, ValidationFailed
from core.localtime import LOCAL_TZ

from .forms import (
    AppointmentTypeForm,
    AppointmentTypeTextForm,
    CaseTypeTextForm,
    DirectLinkTextForm,
    MeetingTemplateTextForm,
    ResourceTextForm,
    TypeWaitlistForm,
    type_values_from_instance,
    type_values_from_post,
)
from .models import (
    DEFAULT_VISIBILITY_DAYS,
    WEB_INFO_MAX_LENGTH,
    AppointmentType,
    Area,
    Audience,
    CaseKind,
    CaseType,
    Clinic,
    DirectLink,
    Resource,
    ResourceKind,
)
from .policy import deadline_text
from .selectors import (
    action_supported,
    appointment_types_for_clinic,
    case_types_for_clinic,
    direct_links_for_clinic,
    resources_for_clinic,
    visibility_cutoff,
)
from .services import (
    appointment_type_save,
    appointment_type_waitlist_update,
    case_type_activate,
    case_type_deactivate,
    case_type_update,
    clinic_ensure_case_types,
    clinic_meeting_template_update,
    clinic_patient_comment_update,
    direct_link_create,
    resource_save,
)
from .workspace import WorkspaceClinic, clinic_for, staff_required, workspace_clinic

ADMIN = (Role.LOCAL_ADMIN,)  # region IT of the clinic's region is admitted as well (clinic_for)
GET_POST = require_http_methods(["GET", "POST"])


def _admin(request: AuthenticatedHttpRequest, clinic_id: int) -> tuple[Clinic, WorkspaceClinic]:
    clinic = clinic_for(request, clinic_id, ADMIN)
    return clinic, workspace_clinic(user=request.user, clinic=clinic)


def _page(request: HttpRequest, template: str, ws: WorkspaceClinic, status: int = 200, **context: Any) -> HttpResponse:
    return render(request, f"workspace/admin/{template}", {"ws": ws, "clinic": ws.clinic, **context}, status=status)


def _refused(request: HttpRequest, error: DomainError) -> dict[str, list[Any]]:
    """Field errors go beside their fields; anything else becomes a message at the top."""
    if error.field_errors:
        return {field: list(errors) for field, errors in error.field_errors.items()}
    messages.error(request, error.message)
    return {}


# --- Case types -------------------------------------------------------------------------------


def _support_note(clinic: Clinic, kind: str) -> str:
    """Why the clinic's timebook limits this case type (R-CLINIC-2), or "" when it does not."""
    if kind == CaseKind.BOOK:
        if not clinic.supports_booking:
            return _(
                "The clinic's timebook does not support booking on the web, so this case type cannot be activated."
            )
        return ""
    if not clinic.supports_cancellation and not clinic.supports_rebooking:
        return _(
            "The clinic's timebook supports neither cancelling nor rebooking on the web, "
            "so this case type cannot be activated."
        )
    if not clinic.supports_cancellation:
        return _(
            "The clinic's timebook does not support cancelling on the web: residents can see and rebook "
            "their times but must call the clinic to cancel."
        )
    if not clinic.supports_rebooking:
        return _(
            "The clinic's timebook does not support rebooking on the web: residents can see and cancel "
            "their times but must call the clinic to rebook."
        )
    return ""


def _case_type(clinic: Clinic, kind: str) -> CaseType:
    if kind not in CaseKind.values:
        raise Http404
    clinic_ensure_case_types(clinic=clinic)
    return get_object_or_404(case_types_for_clinic(clinic=clinic), kind=kind)


def _case_type_row(case_type: CaseType) -> dict[str, Any]:
    return {
        "case_type": case_type,
        "can_activate": action_supported(clinic=case_type.clinic, kind=CaseKind(case_type.kind)),
        "support_note": _support_note(case_type.clinic, case_type.kind),
    }


@staff_required
def case_types(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic, ws = _admin(request, clinic_id)
    clinic_ensure_case_types(clinic=clinic)
    rows = [_case_type_row(case_type) for case_type in case_types_for_clinic(clinic=clinic)]
    return _page(request, "case_types.html", ws, rows=rows)


@staff_required
@GET_POST
def case_type_edit(request: AuthenticatedHttpRequest, clinic_id: int, kind: str) -> HttpResponse:
    clinic, ws = _admin(request, clinic_id)
    case_type = _case_type(clinic, kind)
    values: dict[str, Any] = {
        "conditions_text": case_type.conditions_text,
        "audience": case_type.audience,
        "area": case_type.area,
        "one_booking_at_a_time": case_type.one_booking_at_a_time,
    }
    errors: dict[str, list[Any]] = {}
    if request.method == "POST":
        values = {field: request.POST.get(field, "") for field in ("conditions_text", "audience", "area")}
        values["one_booking_at_a_time"] = request.POST.get("one_booking_at_a_time") == "on"
        try:
            case_type_update(actor=request.user, case_type=case_type, **values)
        except DomainError as error:
            case_type.refresh_from_db()
            errors = _refused(request, error)
        else:
            messages.success(request, _("The case type is saved."))
            return redirect("workspace:case_types", clinic_id=clinic.pk)
    return _page(
        request,
        "case_type_edit.html",
        ws,
        status=400 if request.method == "POST" else 200,
        values=values,
        errors=errors,
        form=CaseTypeTextForm(values=values, errors=errors),
        audiences=Audience.choices,
        areas=Area.choices,
        **_case_type_row(case_type),
    )


def _case_type_switch(request: AuthenticatedHttpRequest, clinic_id: int, kind: str, *, activate: bool) -> HttpResponse:
    clinic, ws = _admin(request, clinic_id)
    case_type = _case_type(clinic, kind)
    if request.method == "POST":
        service = case_type_activate if activate else case_type_deactivate
        try:
            service(actor=request.user, case_type=case_type)
        except ValidationFailed as error:
            for field_errors in error.field_errors.values():
                for message in field_errors:
                    messages.error(request, message)
            return redirect("workspace:case_type_edit", clinic_id=clinic.pk, kind=case_type.kind)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("workspace:case_types", clinic_id=clinic.pk)
        if activate:
            messages.success(request, _("“%(name)s” is active.") % {"name": case_type.get_kind_display()})
        else:
            messages.success(request, _("“%(name)s” is no longer active.") % {"name": case_type.get_kind_display()})
        return redirect("workspace:case_types", clinic_id=clinic.pk)
    return _page(request, "case_type_confirm.html", ws, activate=activate, **_case_type_row(case_type))


@staff_required
@GET_POST
def case_type_activate_view(request: AuthenticatedHttpRequest, clinic_id: int, kind: str) -> HttpResponse:
    return _case_type_switch(request, clinic_id, kind, activate=True)


@staff_required
@GET_POST
def case_type_deactivate_view(request: AuthenticatedHttpRequest, clinic_id: int, kind: str) -> HttpResponse:
    return _case_type_switch(request, clinic_id, kind, activate=False)


# --- Appointment types --------------------------------------------------------------------------


@staff_required
@GET_POST
def appointment_types(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    """The clinic's types, and the clinic-wide "patient comment on web" setting (R-TYPE-7)."""
    clinic, ws = _admin(request, clinic_id)
    if request.method == "POST":
        try:
            clinic_patient_comment_update(
                actor=request.user, clinic=clinic, enabled=request.POST.get("patient_comment_on_web") == "on"
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The clinic's web booking settings are saved."))
        return redirect("workspace:appointment_types", clinic_id=clinic.pk)
    return _page(
        request,
        "appointment_types.html",
        ws,
        types=appointment_types_for_clinic(clinic=clinic),
        is_region_it=user_is_region_it(user=request.user, clinic=clinic),
    )


def _last_visible_day(days: Any) -> dt.date | None:
    """R-VIS-1 for the number on the form, through the same function the resident pages use."""
    if days in ("", None):
        days = None
    else:
        try:
            days = int(days)
        except (TypeError, ValueError):
            return None
        if not 1 <= days <= 365:
            return None
    cutoff = visibility_cutoff(appointment_type=AppointmentType(visibility_days=days))
    return (cutoff - dt.timedelta(seconds=1)).astimezone(LOCAL_TZ).date()


def _flag_labels() -> list[tuple[str, str]]:
    return [
        ("bookable_on_web", _("Bookable on the web")),
        ("cancellable_on_web", _("Cancellable on the web")),
        ("reschedulable_on_web", _("Reschedulable on the web")),
        ("hidden_for_patient", _("Hidden for patient")),
    ]


def _type_form(request: AuthenticatedHttpRequest, clinic_id: int, type_id: int | None) -> HttpResponse:
    clinic, ws = _admin(request, clinic_id)
    instance = get_object_or_404(AppointmentType, pk=type_id, clinic=clinic) if type_id is not None else None
    # R-TYPE-6: a local admin sees a proxy (Ombud) type but only region IT may change it.
    may_edit = instance is None or not instance.is_proxy or user_is_region_it(user=request.user, clinic=clinic)
    values = type_values_from_instance(instance)
    errors: dict[str, list[Any]] = {}
    status = 200
    if request.method == "POST":
        values = type_values_from_post(request.POST)
        form = AppointmentTypeForm(request.POST)
        if form.is_valid():
            try:
                saved = appointment_type_save(actor=request.user, clinic=clinic, instance=instance, **form.cleaned_data)
            except DomainError as error:
                if instance is not None:
                    instance.refresh_from_db()
                errors = _refused(request, error)
            else:
                messages.success(request, _("“%(name)s” is saved.") % {"name": saved.internal_name})
                return redirect("workspace:appointment_types", clinic_id=clinic.pk)
        else:
            errors = form.field_errors()
        if not may_edit and instance is not None:  # the service refused; the page stays read-only
            if errors:
                messages.error(request, _("Only a region IT administrator may change a proxy (Ombud) type."))
            return redirect("workspace:appointment_type_edit", clinic_id=clinic.pk, type_id=instance.pk)
        status = 400
    return _page(
        request,
        "appointment_type_form.html",
        ws,
        status=status,
        instance=instance,
        may_edit=may_edit,
        values=values,
        errors=errors,
        form=AppointmentTypeTextForm(values=values, errors=errors),
        flags=[
            {"name": name, "label": label, "checked": values.get(name), "errors": errors.get(name)}
            for name, label in _flag_labels()
        ],
        web_info_max=WEB_INFO_MAX_LENGTH,
        web_info_length=len(str(values.get("web_info") or "")),
        default_days=DEFAULT_VISIBILITY_DAYS,
        today=timezone.localtime(timezone.now(), LOCAL_TZ).date(),
        last_visible_day=_last_visible_day(values.get("visibility_days")),
        deadline_text=deadline_text(appointment_type=instance) if instance is not None else "",
    )


@staff_required
@GET_POST
def appointment_type_new(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    return _type_form(request, clinic_id, None)


@staff_required
@GET_POST
def appointment_type_edit(request: AuthenticatedHttpRequest, clinic_id: int, type_id: int) -> HttpResponse:
    return _type_form(request, clinic_id, type_id)


@staff_required
@GET_POST
def video_settings(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    """The address video visits' meeting links are made from (``clinic_meeting_template_update``)."""
    clinic, ws = _admin(request, clinic_id)
    values = {"meeting_url_template": clinic.meeting_url_template}
    errors: dict[str, list[Any]] = {}
    if request.method == "POST":
        values = {"meeting_url_template": request.POST.get("meeting_url_template", "")}
        try:
            clinic_meeting_template_update(actor=request.user, clinic=clinic, template=values["meeting_url_template"])
        except DomainError as error:
            errors = _refused(request, error)
        else:
            messages.success(request, _("The address of the video meetings is saved."))
            return redirect("workspace:appointment_types", clinic_id=clinic.pk)
    form = MeetingTemplateTextForm(values=values, errors=errors)
    return _page(request, "video_settings.html", ws, status=400 if errors else 200, form=form)


@staff_required
@GET_POST
def appointment_type_waitlist(request: AuthenticatedHttpRequest, clinic_id: int, type_id: int) -> HttpResponse:
    """R-WAIT-1, R-WAIT-2: publish a freed time to everyone, or offer it to the waitlist first."""
    clinic, ws = _admin(request, clinic_id)
    appointment_type = get_object_or_404(AppointmentType, pk=type_id, clinic=clinic)
    form = TypeWaitlistForm(
        request.POST or None,
        initial={
            "freed_times": appointment_type.freed_times,
            "offer_minutes": appointment_type.offer_minutes,
            "waitlist_for_residents": appointment_type.waitlist_for_residents,
        },
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                appointment_type_waitlist_update(
                    actor=request.user, appointment_type=appointment_type, **form.cleaned_data
                )
            except DomainError as error:
                appointment_type.refresh_from_db()
                for field, errors in _refused(request, error).items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("“%(name)s” is saved.") % {"name": appointment_type.internal_name})
                return redirect("workspace:appointment_types", clinic_id=clinic.pk)
        status = 400
    return _page(request, "appointment_type_waitlist.html", ws, status=status, form=form, type=appointment_type)


# --- Resources ----------------------------------------------------------------------------------


@staff_required
def resources(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic, ws = _admin(request, clinic_id)
    return _page(request, "resources.html", ws, resources=resources_for_clinic(clinic=clinic))


def _resource_form(request: AuthenticatedHttpRequest, clinic_id: int, resource_id: int | None) -> HttpResponse:
    clinic, ws = _admin(request, clinic_id)
    instance = get_object_or_404(Resource, pk=resource_id, clinic=clinic) if resource_id is not None else None
    values = {"name": instance.name, "kind": instance.kind} if instance else {"name": "", "kind": ResourceKind.POSITION}
    errors: dict[str, list[Any]] = {}
    if request.method == "POST":
        values = {"name": request.POST.get("name", ""), "kind": request.POST.get("kind", "")}
        try:
            saved = resource_save(actor=request.user, clinic=clinic, instance=instance, **values)
        except DomainError as error:
            if instance is not None:
                instance.refresh_from_db()
            errors = _refused(request, error)
        else:
            messages.success(request, _("“%(name)s” is saved.") % {"name": saved.name})
            return redirect("workspace:resources", clinic_id=clinic.pk)
    return _page(
        request,
        "resource_form.html",
        ws,
        status=400 if request.method == "POST" else 200,
        instance=instance,
        values=values,
        errors=errors,
        form=ResourceTextForm(values=values, errors=errors),
        kinds=ResourceKind.choices,
    )


@staff_required
@GET_POST
def resource_new(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    return _resource_form(request, clinic_id, None)


@staff_required
@GET_POST
def resource_edit(request: AuthenticatedHttpRequest, clinic_id: int, resource_id: int) -> HttpResponse:
    return _resource_form(request, clinic_id, resource_id)


# --- Direct links -------------------------------------------------------------------------------


def _link_url(request: HttpRequest, link: DirectLink) -> str:
    return request.build_absolute_uri(reverse("clinics:direct_link", args=[link.token]))


@staff_required
@GET_POST
def direct_links(request: AuthenticatedHttpRequest, clinic_id: int) -> HttpResponse:
    clinic, ws = _admin(request, clinic_id)
    values = {"kind": CaseKind.BOOK, "label": ""}
    errors: dict[str, list[Any]] = {}
    if request.method == "POST":
        values = {"kind": request.POST.get("kind", ""), "label": request.POST.get("label", "")}
        try:
            link = direct_link_create(actor=request.user, clinic=clinic, **values)
        except DomainError as error:
            errors = _refused(request, error)
        else:
            messages.success(request, _("The link is created. Copy it to the clinic's web site."))
            return redirect(f"{reverse('workspace:direct_links', args=[clinic.pk])}#link-{link.pk}")
    active = set(case_types_for_clinic(clinic=clinic).filter(is_active=True).values_list("kind", flat=True))
    links = [
        {"link": link, "url": _link_url(request, link), "active": link.kind in active}
        for link in direct_links_for_clinic(clinic=clinic)
    ]
    return _page(
        request,
        "direct_links.html",
        ws,
        status=400 if request.method == "POST" else 200,
        links=links,
        values=values,
        errors=errors,
        form=DirectLinkTextForm(values=values, errors=errors),
        kinds=CaseKind.choices,
    )
