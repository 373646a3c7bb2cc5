"""The waitlist for staff apps (R-WAIT-2, R-WAIT-3, R-ACL-1): a type's waitlist settings for its
local admin, the clinic's waitlist in offer order for its schedulers, and an entry's priority.
Thin views over the same services as the workspace pages, with the same roles and audit events."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.http import AuthenticatedRequest
from accounts.models import Role
from clinics.models import MAX_OFFER_MINUTES, MIN_OFFER_MINUTES, AppointmentType, FreedTimes
from clinics.services import appointment_type_waitlist_update
from clinics.workspace import clinic_for
from schedules.staff_api import StaffAPIView, StaffTypeSerializer, scheduler_clinic

from .models import OfferState, PartOfDay, WaitlistEntry
from .services import waitlist_entry_set_priority
from .services.waitlist import PRIORITY_RANGE
from .waitlist_selectors import waitlist_for_clinic, waitlist_for_staff

ADMIN = (Role.LOCAL_ADMIN,)  # region IT of the clinic's region is admitted as well (clinic_for)


class TypeWaitlistSerializer(serializers.ModelSerializer):
    freed_times = serializers.ChoiceField(
        choices=FreedTimes.choices, help_text="R-WAIT-2: publish a freed time to everyone, or offer it to the waitlist"
    )
    offer_minutes = serializers.IntegerField(
        min_value=MIN_OFFER_MINUTES, max_value=MAX_OFFER_MINUTES, help_text="R-WAIT-3: how long an offer is kept"
    )
    waitlist_for_residents = serializers.BooleanField(help_text="R-WAIT-1: residents may join on the web")

    class Meta:
        model = AppointmentType
        fields = ["id", "internal_name", "freed_times", "offer_minutes", "waitlist_for_residents"]
        read_only_fields = ["id", "internal_name"]


class TypeWaitlistSettings(StaffAPIView):
    def _type(self, request: AuthenticatedRequest, clinic_id: int, type_id: int) -> AppointmentType:
        clinic = clinic_for(request, clinic_id, ADMIN)
        return get_object_or_404(AppointmentType.objects.select_related("clinic"), pk=type_id, clinic=clinic)

    @extend_schema(responses=TypeWaitlistSerializer)
    def get(self, request: AuthenticatedRequest, clinic_id: int, type_id: int) -> Response:
        return Response(TypeWaitlistSerializer(self._type(request, clinic_id, type_id)).data)

    @extend_schema(request=TypeWaitlistSerializer, responses=TypeWaitlistSerializer)
    def put(self, request: AuthenticatedRequest, clinic_id: int, type_id: int) -> Response:
        """Change what happens to the type's freed times (R-WAIT-2); audited."""
        appointment_type = self._type(request, clinic_id, type_id)
        data = TypeWaitlistSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        saved = appointment_type_waitlist_update(
            actor=request.user,
            appointment_type=appointment_type,
            freed_times=values["freed_times"],
            offer_minutes=values["offer_minutes"],
            waitlist_for_residents=values["waitlist_for_residents"],
        )
        return Response(TypeWaitlistSerializer(saved).data)


class WaitlistEntrySerializer(serializers.ModelSerializer):
    resident = serializers.CharField(source="resident.get_full_name")
    personnummer = serializers.CharField(source="resident.personnummer_display")
    appointment_type = StaffTypeSerializer(allow_null=True)
    part_of_day = serializers.ChoiceField(choices=[("", "any"), *PartOfDay.choices])
    offered_until = serializers.SerializerMethodField(help_text="The end of the offer running now, if any")

    class Meta:
        model = WaitlistEntry
        fields = [
            "id",
            "resident",
            "personnummer",
            "appointment_type",
            "note",
            "by_resident",
            "earliest_date",
            "latest_date",
            "weekdays",
            "part_of_day",
            "priority",
            "offered_until",
            "created_at",
        ]

    def get_offered_until(self, entry: WaitlistEntry) -> str | None:
        running = [offer for offer in entry.offers.all() if offer.state == OfferState.ACTIVE]
        return running[0].expires_at.isoformat() if running else None


class PriorityInput(serializers.Serializer):
    priority = serializers.IntegerField(min_value=PRIORITY_RANGE[0], max_value=PRIORITY_RANGE[1])


class WaitlistList(StaffAPIView):
    @extend_schema(responses=WaitlistEntrySerializer(many=True))
    def get(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        """The waitlist in the order offers go (R-WAIT-3); each resident shown is audited (R-LOG-4)."""
        clinic = scheduler_clinic(request, clinic_id)
        return Response(WaitlistEntrySerializer(waitlist_for_staff(actor=request.user, clinic=clinic), many=True).data)


class WaitlistEntryDetail(StaffAPIView):
    @extend_schema(request=PriorityInput, responses=WaitlistEntrySerializer)
    def patch(self, request: AuthenticatedRequest, clinic_id: int, entry_id: int) -> Response:
        """Set an entry's priority (R-WAIT-3): higher goes first; audited."""
        clinic = scheduler_clinic(request, clinic_id)
        get_object_or_404(waitlist_for_clinic(clinic=clinic), pk=entry_id)
        data = PriorityInput(data=request.data)
        data.is_valid(raise_exception=True)
        entry = waitlist_entry_set_priority(
            actor=request.user, entry_id=entry_id, priority=data.validated_data["priority"]
        )
        return Response(WaitlistEntrySerializer(waitlist_for_clinic(clinic=clinic).get(pk=entry.pk)).data)
