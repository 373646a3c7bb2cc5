"""Attendance marks and figures for staff apps, beside the workspace pages (R-ATT-1, R-ATT-2,
R-ACL-1). Thin views over the same services and selectors; a mark is audited in its service."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.http import AuthenticatedRequest
from clinics.models import AppointmentType
from clinics.workspace import clinic_for
from core.params import ApiDateField
from schedules.staff_api import StaffAPIView, scheduler_clinic

from .attendance_selectors import FIGURES_ROLES, MAX_MONTHS, attendance_figures, default_period, months_between
from .models import Attendance, AttendanceState, Booking
from .services import attendance_mark, attendance_undo


class AttendanceInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=AttendanceState.choices)


class AttendanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attendance
        fields = ["booking", "state", "marked_at"]


def _clinic_booking_id(clinic_id: int, booking_id: int) -> int:
    if not Booking.objects.filter(pk=booking_id, clinic_id=clinic_id).exists():
        raise Http404
    return booking_id


class BookingAttendance(StaffAPIView):
    @extend_schema(request=AttendanceInput, responses=AttendanceSerializer)
    def put(self, request: AuthenticatedRequest, clinic_id: int, booking_id: int) -> Response:
        """Mark a visit of today or earlier as arrived, late or no-show (R-ATT-1); a mark made today
        may be replaced today. Reception (schedulers) of the clinic only; audited."""
        clinic = scheduler_clinic(request, clinic_id)
        data = AttendanceInput(data=request.data)
        data.is_valid(raise_exception=True)
        mark = attendance_mark(
            actor=request.user,
            booking_id=_clinic_booking_id(clinic.pk, booking_id),
            state=data.validated_data["state"],
        )
        return Response(AttendanceSerializer(mark).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: AuthenticatedRequest, clinic_id: int, booking_id: int) -> Response:
        """Undo a mark made today (R-ATT-1); audited."""
        clinic = scheduler_clinic(request, clinic_id)
        attendance_undo(actor=request.user, booking_id=_clinic_booking_id(clinic.pk, booking_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class FiguresQuery(serializers.Serializer):
    month_from = ApiDateField(input_formats=["%Y-%m"], required=False, help_text="YYYY-MM")
    month_to = ApiDateField(input_formats=["%Y-%m"], required=False, help_text="YYYY-MM")
    type = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)

    def validate(self, attrs: dict) -> dict:
        first, last = default_period()
        first, last = attrs.get("month_from", first), attrs.get("month_to", last)
        months = len(months_between(first, last))
        if months < 1:
            raise serializers.ValidationError({"month_to": ["The last month cannot be before the first."]})
        if months > MAX_MONTHS:
            raise serializers.ValidationError({"month_to": [f"Ask for at most {MAX_MONTHS} months."]})
        attrs["month_from"], attrs["month_to"] = first, last
        return attrs


class MonthFiguresSerializer(serializers.Serializer):
    month = serializers.DateField(format="%Y-%m")
    appointment_type = serializers.CharField(source="type_name", help_text="Internal name; empty on a month's total")
    bookings = serializers.IntegerField()
    web = serializers.IntegerField()
    web_share = serializers.FloatField(allow_null=True)
    late_cancellations = serializers.IntegerField()
    no_shows = serializers.IntegerField()
    kept = serializers.IntegerField(help_text="Bookings not cancelled")
    no_show_rate = serializers.FloatField(allow_null=True, help_text="no_shows / kept")


class FiguresSerializer(serializers.Serializer):
    rows = MonthFiguresSerializer(many=True, help_text="Per month and appointment type")
    totals = MonthFiguresSerializer(many=True, help_text="Every month of the period, all types")


class AttendanceFiguresView(StaffAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("month_from", str, description="YYYY-MM; default: eleven months before this one"),
            OpenApiParameter("month_to", str, description=f"YYYY-MM; default: this month; {MAX_MONTHS} months max"),
            OpenApiParameter("type", int, description="An appointment type of the clinic"),
        ],
        responses=FiguresSerializer,
    )
    def get(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        """Bookings, web share, late cancellations, no-shows and the no-show rate per month and type
        (R-ATT-2), for local admins, schedulers and region IT of the clinic."""
        clinic = clinic_for(request, clinic_id, FIGURES_ROLES)
        query = FiguresQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        type_id = params.get("type")
        if type_id is not None and not AppointmentType.objects.filter(pk=type_id, clinic=clinic).exists():
            raise serializers.ValidationError({"type": ["Not an appointment type of this clinic."]})
        figures = attendance_figures(
            actor=request.user,
            clinic=clinic,
            first_month=params["month_from"],
            last_month=params["month_to"],
            appointment_type_id=type_id,
        )
        return Response(FiguresSerializer(figures).data)
