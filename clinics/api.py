"""Clinic endpoints: search, the contact card with the case types that admit the caller
(R-CLINIC-1, R-CASE-3), bookable types, and the resident's clinic relations (R-REL).

A resident names whom they act for with ``patient``, as in the bookings endpoints (R-GUARD-2,
R-POA-1): the case types, types and relations are then the patient's, an attorney whose power
covers chosen clinics gets nothing to act on elsewhere, and a patient the caller may not act for
is 404."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.acting import Acting
from accounts.api_acting import PATIENT_HELP, PATIENT_PARAMETER, acting_for_request
from accounts.http import AuthenticatedRequest
from core import params
from core.api import IsResident

from .models import AppointmentType, CaseType, Clinic, RelationSource
from .selectors import acting_start_page_clinics, admitted_case_types, bookable_types, clinic_search
from .services import relation_add, relation_remove


class CaseTypeSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="get_kind_display")
    conditions = serializers.ListField(source="conditions_bullets", child=serializers.CharField())

    class Meta:
        model = CaseType
        fields = ["kind", "name", "conditions"]


class ClinicSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.name")
    case_types = serializers.SerializerMethodField()

    class Meta:
        model = Clinic
        fields = ["id", "hsa_id", "name", "street_address", "postal_code", "town", "phone", "opening_hours", "region"]
        fields += ["case_types"]

    @extend_schema_field(CaseTypeSerializer(many=True))
    def get_case_types(self, clinic: Clinic) -> list[dict]:
        acting: Acting | None = self.context.get("acting")
        if acting is not None and not acting.covers(clinic.pk):
            return []  # R-POA-1: nothing the attorney may do there for the grantor
        viewer = acting.patient if acting is not None else None
        # many=True makes a ListSerializer whose data is a list; the stubs type the call as one CaseTypeSerializer.
        return CaseTypeSerializer(admitted_case_types(clinic=clinic, resident=viewer), many=True).data  # type: ignore[return-value]


class AppointmentTypeSerializer(serializers.ModelSerializer):
    """What residents see of a type: never the internal name (R-TYPE-1)."""

    class Meta:
        model = AppointmentType
        fields = ["id", "web_name", "web_info", "requires_booking_basis"]


def _viewer(request: Request) -> Acting | None:
    """Whom a public endpoint answers for: nobody for a visitor or staff who name no patient, else
    the resident or the patient they name (404 when they may not act for them)."""
    user = request.user
    if request.query_params.get("patient", "") == "" and not (user.is_authenticated and user.is_resident):
        return None
    return acting_for_request(request)


def _covered_clinic(acting: Acting, clinic_id: int) -> Clinic:
    """A clinic the caller may act at for the patient; another is 404 (R-POA-1)."""
    clinic = get_object_or_404(Clinic.objects.select_related("region"), pk=clinic_id)
    if not acting.covers(clinic.pk):
        raise NotFound()
    return clinic


class ClinicList(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Name, town or region"),
            OpenApiParameter("region", int),
            PATIENT_PARAMETER,
        ],
        responses=ClinicSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """Clinics by name, town or region, each with the case types that admit the caller or the
        patient they act for (none at a clinic their power of attorney does not cover)."""
        acting = _viewer(request)
        region = request.query_params.get("region", "")
        clinics = clinic_search(query=request.query_params.get("q", "")[:100], region_id=params.optional_id(region))
        return Response(ClinicSerializer(clinics[:100], many=True, context={"acting": acting}).data)


class ClinicDetail(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[PATIENT_PARAMETER], responses=ClinicSerializer)
    def get(self, request: Request, clinic_id: int) -> Response:
        """The contact card, with the case types that admit the caller or the patient they act for."""
        acting = _viewer(request)
        clinic = get_object_or_404(Clinic.objects.select_related("region"), pk=clinic_id)
        return Response(ClinicSerializer(clinic, context={"acting": acting}).data)


class ClinicAppointmentTypes(APIView):
    permission_classes = [IsResident]

    @extend_schema(parameters=[PATIENT_PARAMETER], responses=AppointmentTypeSerializer(many=True))
    def get(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        """The types the patient may book at the clinic; 404 at a clinic the caller may not act at."""
        acting = acting_for_request(request)
        clinic = _covered_clinic(acting, clinic_id)
        return Response(
            AppointmentTypeSerializer(bookable_types(clinic=clinic, resident=acting.patient), many=True).data
        )


class RelationInput(serializers.Serializer):
    patient = serializers.IntegerField(required=False, help_text=PATIENT_HELP)
    clinic = serializers.PrimaryKeyRelatedField(queryset=Clinic.objects.all())


class RelationList(APIView):
    """The clinics on the start page of the resident or of the patient they act for (R-REL-1,
    R-REL-2): for an attorney whose power covers chosen clinics, only those (R-POA-1)."""

    permission_classes = [IsResident]

    @extend_schema(parameters=[PATIENT_PARAMETER], responses=ClinicSerializer(many=True))
    def get(self, request: AuthenticatedRequest) -> Response:
        acting = acting_for_request(request)
        clinics = acting_start_page_clinics(acting=acting).select_related("region")
        return Response(ClinicSerializer(clinics, many=True, context={"acting": acting}).data)

    @extend_schema(request=RelationInput, responses={201: ClinicSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        data = RelationInput(data=request.data)
        data.is_valid(raise_exception=True)
        acting = acting_for_request(request, data.validated_data.get("patient", ""))
        clinic = _covered_clinic(acting, data.validated_data["clinic"].pk)
        relation_add(resident=acting.patient, clinic=clinic, source=RelationSource.START_PAGE)
        return Response(ClinicSerializer(clinic, context={"acting": acting}).data, status=status.HTTP_201_CREATED)


class RelationDetail(APIView):
    permission_classes = [IsResident]

    @extend_schema(parameters=[PATIENT_PARAMETER], responses={204: None})
    def delete(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        acting = acting_for_request(request)
        relation_remove(resident=acting.patient, clinic=_covered_clinic(acting, clinic_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
