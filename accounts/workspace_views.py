from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .workspace import ALL_CLINIC_ROLES, clinic_for, staff_required, workspace_clinic, workspace_clinics


@staff_required
def picker(request: HttpRequest) -> HttpResponse:
    """Choose the clinic to work at; with a single membership go straight there."""
    clinics = workspace_clinics(user=request.user)
    if len(clinics) == 1:
        return redirect("workspace:clinic", clinic_id=clinics[0].clinic.pk)
    return render(request, "workspace/picker.html", {"clinics": clinics})


@staff_required
def clinic_home(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic = clinic_for(request, clinic_id, ALL_CLINIC_ROLES)
    return render(request, "workspace/clinic.html", {"ws": workspace_clinic(user=request.user, clinic=clinic)})
