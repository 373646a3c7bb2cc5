"""Clinic endpoints: search, the contact card with the case types that admit the caller
(R-CLINIC-1, R-CASE-3), bookable types, and the resident's clinic relations (R-REL)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import AuthenticatedRequest
from core import params
from core.api import IsResident

from .models import AppointmentType, CaseType, Clinic, RelationSource
from .selectors import admitted_case_types, bookable_types, clinic_search, start_page_clinics
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
        request = self.context["request"]
        viewer = request.user if request.user.is_authenticated and request.user.is_resident else None
        # many=True makes a ListSerializer whose data is a list; the stubs type the call as one CaseTypeSerializer.
        return CaseTypeSerializer(admitted_case_types(clinic=clinic, resident=viewer), many=True).data  # type: ignore[return-value]


class AppointmentTypeSerializer(serializers.ModelSerializer):
    """What residents see of a type: never the internal name (R-TYPE-1)."""

    class Meta:
        model = AppointmentType
        fields = ["id", "web_name", "web_info", "requires_booking_basis"]


class ClinicList(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Name, town or region"), OpenApiParameter("region", int)],
        responses=ClinicSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        region = request.query_params.get("region", "")
        clinics = clinic_search(query=request.query_params.get("q", "")[:100], region_id=params.optional_id(region))
        return Response(ClinicSerializer(clinics[:100], many=True, context={"request": request}).data)


class ClinicDetail(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=ClinicSerializer)
    def get(self, request: Request, clinic_id: int) -> Response:
        clinic = get_object_or_404(Clinic.objects.select_related("region"), pk=clinic_id)
        return Response(ClinicSerializer(clinic, context={"request": request}).data)


class ClinicAppointmentTypes(APIView):
    permission_classes = [IsResident]

    @extend_schema(responses=AppointmentTypeSerializer(many=True))
    def get(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        clinic = get_object_or_404(Clinic, pk=clinic_id)
        return Response(AppointmentTypeSerializer(bookable_types(clinic=clinic, resident=request.user), many=True).data)


class RelationInput(serializers.Serializer):
    clinic = serializers.PrimaryKeyRelatedField(queryset=Clinic.objects.all())


class RelationList(APIView):
    """The clinics on the resident's start page (R-REL-1, R-REL-2)."""

    permission_classes = [IsResident]

    @extend_schema(responses=ClinicSerializer(many=True))
    def get(self, request: AuthenticatedRequest) -> Response:
        clinics = start_page_clinics(resident=request.user).select_related("region")
        return Response(ClinicSerializer(clinics, many=True, context={"request": request}).data)

    @extend_schema(request=RelationInput, responses={201: ClinicSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        data = RelationInput(data=request.data)
        data.is_valid(raise_exception=True)
        clinic = data.validated_data["clinic"]
        relation_add(resident=request.user, clinic=clinic, source=RelationSource.START_PAGE)
        return Response(ClinicSerializer(clinic, context={"request": request}).data, status=status.HTTP_201_CREATED)


class RelationDetail(APIView):
    permission_classes = [IsResident]

    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        relation_remove(resident=request.user, clinic=get_object_or_404(Clinic, pk=clinic_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
