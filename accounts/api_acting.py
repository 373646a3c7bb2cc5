"""Whom a resident's API call acts for (R-GUARD-2, R-GUARD-3, R-POA-1): named explicitly in every
request as ``patient`` — the resident themself when empty, else a child or grantor the caller may
act for now. Anyone else is answered 404, as a thing that does not exist (R-ACL-2). The clinics,
free-times and bookings endpoints read it through here."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from core import params

from .acting import Acting, acting_resolve

PATIENT_PARAMETER = OpenApiParameter(
    "patient",
    int,
    OpenApiParameter.QUERY,
    required=False,
    description="Act for this resident (a child or a grantor, see /api/v1/acting-for/); 404 when not allowed.",
)
PATIENT_HELP = "Act for this resident (R-GUARD-2, R-POA-1); 404 when not allowed. Empty: yourself."


def acting_for_request(request: Request, patient_id: object = None) -> Acting:
    """Whom the caller acts for in this request: ``patient_id`` (from a body) or the ``patient``
    query parameter, else themself. A caller who is no resident acts for nobody."""
    raw = patient_id if patient_id is not None else request.query_params.get("patient")
    user = request.user
    is_resident = bool(user and user.is_authenticated and getattr(user, "is_resident", False))
    if raw in (None, "") and is_resident:
        return Acting(actor=user, patient=user)  # type: ignore[arg-type]
    patient = params.optional_id(str(raw)) if is_resident else None
    acting = acting_resolve(actor=user, patient_id=patient) if patient is not None else None  # type: ignore[arg-type]
    if acting is None:
        raise NotFound()
    return acting
