"""The local admin's clinic settings for a region's other systems, beside the workspace pages:
appointment types (R-TYPE-1…7, video visits) and the address video meetings are made from. Thin
views over ``clinics.services``; every rule is the service's, as on the pages."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import AuthenticatedRequest

from .models import WEB_INFO_MAX_LENGTH, AppointmentType, Clinic
from .selectors import appointment_types_for_clinic
from .services import ADMIN_ROLES, TYPE_FIELDS, appointment_type_save, clinic_meeting_template_update
from .video import MEETING_TEMPLATE_MAX_LENGTH
from .workspace import IsClinicStaff, clinic_for


class AdminAPIView(APIView):
    permission_classes = [IsClinicStaff]
    throttle_classes: list = []


def _admin_clinic(request: AuthenticatedRequest, clinic_id: int) -> Clinic:
    return clinic_for(request, clinic_id, ADMIN_ROLES)


class AdminAppointmentTypeSerializer(serializers.ModelSerializer):
    """A type as the local admin sees and changes it; on a change every field is optional."""

    web_info = serializers.CharField(required=False, allow_blank=True, max_length=WEB_INFO_MAX_LENGTH * 2)
    is_video_visit = serializers.BooleanField(
        required=False, help_text="Bookings carry a meeting link, from the clinic's video-settings template"
    )

    class Meta:
        model = AppointmentType
        fields = ["id", *TYPE_FIELDS]
        read_only_fields = ["id"]
        # The service answers for names (unique per clinic, R-TYPE-5, R-TYPE-6), not the model's validators.
        extra_kwargs: dict[str, dict] = {"internal_name": {"validators": []}}


class AppointmentTypeList(AdminAPIView):
    @extend_schema(responses=AdminAppointmentTypeSerializer(many=True))
    def get(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        clinic = _admin_clinic(request, clinic_id)
        return Response(AdminAppointmentTypeSerializer(appointment_types_for_clinic(clinic=clinic), many=True).data)


class AppointmentTypeDetail(AdminAPIView):
    @extend_schema(responses=AdminAppointmentTypeSerializer)
    def get(self, request: AuthenticatedRequest, clinic_id: int, type_id: int) -> Response:
        clinic = _admin_clinic(request, clinic_id)
        return Response(
            AdminAppointmentTypeSerializer(get_object_or_404(AppointmentType, pk=type_id, clinic=clinic)).data
        )

    @extend_schema(request=AdminAppointmentTypeSerializer, responses=AdminAppointmentTypeSerializer)
    def patch(self, request: AuthenticatedRequest, clinic_id: int, type_id: int) -> Response:
        """Change some of a type's fields (R-TYPE-1…7); a proxy type only by region IT (R-TYPE-6)."""
        clinic = _admin_clinic(request, clinic_id)
        instance = get_object_or_404(AppointmentType, pk=type_id, clinic=clinic)
        data = AdminAppointmentTypeSerializer(instance, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        saved = appointment_type_save(actor=request.user, clinic=clinic, instance=instance, **data.validated_data)
        return Response(AdminAppointmentTypeSerializer(saved).data)


class VideoSettingsSerializer(serializers.Serializer):
    meeting_url_template = serializers.CharField(
        allow_blank=True,
        max_length=MEETING_TEMPLATE_MAX_LENGTH * 2,
        trim_whitespace=False,
        help_text="https://… with {room} where each booking's own room id goes; empty: staff set each link",
    )


class VideoSettings(AdminAPIView):
    @extend_schema(responses=VideoSettingsSerializer)
    def get(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        clinic = _admin_clinic(request, clinic_id)
        return Response({"meeting_url_template": clinic.meeting_url_template})

    @extend_schema(request=VideoSettingsSerializer, responses=VideoSettingsSerializer)
    def put(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        """Set the address video visits' meeting links are made from; the change is audited (R-LOG-4)."""
        clinic = _admin_clinic(request, clinic_id)
        data = VideoSettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        clinic = clinic_meeting_template_update(
            actor=request.user, clinic=clinic, template=data.validated_data["meeting_url_template"]
        )
        return Response({"meeting_url_template": clinic.meeting_url_template})
