"""The resident's bookings and inbox (R-BOOK-5…8, R-BOOK-9), through the same services as the pages."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.acting import Acting, acting_options
from accounts.api_acting import PATIENT_HELP as _PATIENT_HELP
from accounts.api_acting import PATIENT_PARAMETER
from accounts.api_acting import acting_for_request as _acting
from accounts.http import AuthenticatedRequest
from clinics.selectors import case_types_forget
from core.api import BOOKING_THROTTLES, IsResident
from core.idempotency import IdempotentPostMixin
from core.overload import shed_when_queued
from schedules.api import SlotSerializer
from schedules.models import Hold, HoldState
from schedules.services import hold_cancel

from .acting import acting_booking, acting_bookings, acting_inbox
from .models import Booking, InboxMessage
from .selectors import (
    booking_actions,
    rebook_candidates,
)
from .services import (
    booking_cancel,
    booking_create,
    booking_rebook,
    hold_create_for_booking,
    hold_create_for_rebook,
    inbox_mark_read,
)
from .video import meeting_join_for_resident

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Send the same key when retrying: the first answer is returned, nothing is done twice.",
)


class BookingSerializer(serializers.ModelSerializer):
    clinic = serializers.CharField(source="clinic.name")
    clinic_id = serializers.IntegerField()
    appointment_type = serializers.CharField(source="appointment_type.web_name")
    info = serializers.CharField(source="appointment_type.web_info")
    resource = serializers.CharField(source="resource.name")
    actions = serializers.SerializerMethodField()
    video_visit = serializers.BooleanField(source="appointment_type.is_video_visit")
    meeting = serializers.SerializerMethodField(
        help_text="A video visit's meeting (null for other visits): the link only from 15 minutes before the "
        "start until 2 hours after (R-BOOK-5), null before; joinable_from says when it can be used"
    )

    class Meta:
        model = Booking
        fields = ["id", "start", "end", "clinic", "clinic_id", "appointment_type", "info", "resource", "actions"]
        fields += ["video_visit", "meeting"]

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "joinable_from": {"type": "string", "format": "date-time"},
                "joinable_until": {"type": "string", "format": "date-time"},
                "url": {"type": "string", "format": "uri", "nullable": True},
                "has_link": {"type": "boolean"},
            },
        }
    )
    def get_meeting(self, booking: Booking) -> dict | None:
        meeting = meeting_join_for_resident(booking=booking)
        if meeting is None:
            return None
        return {
            "joinable_from": serializers.DateTimeField().to_representation(meeting.opens_at),
            "joinable_until": serializers.DateTimeField().to_representation(meeting.closes_at),
            "url": meeting.url or None,
            "has_link": meeting.has_link,
        }

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "can_cancel": {"type": "boolean"},
                "can_rebook": {"type": "boolean"},
                "must_call_to_cancel": {"type": "boolean"},
                "change_is_late": {"type": "boolean"},
                "change_deadline": {"type": "string", "format": "date-time"},
                "too_late_message": {"type": "string"},
                "late_fee_text": {"type": "string"},
            },
        }
    )
    def get_actions(self, booking: Booking) -> dict:
        actions = booking_actions(booking=booking, resident=self.context["patient"])
        return {
            "can_cancel": actions.can_cancel,
            "can_rebook": actions.can_rebook,
            "must_call_to_cancel": actions.must_call_to_cancel,
            "change_is_late": actions.change_is_late,
            # R-POL-1, R-POL-2: until when the web takes changes, and what a late one costs.
            "change_deadline": actions.change_deadline.isoformat(),
            "too_late_message": actions.too_late_message,
            "late_fee_text": actions.late_fee_text,
        }


class BookingInput(serializers.Serializer):
    patient = serializers.IntegerField(required=False, help_text=_PATIENT_HELP)
    slot = serializers.IntegerField()
    hold = serializers.IntegerField(required=False)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class RebookInput(serializers.Serializer):
    patient = serializers.IntegerField(required=False, help_text=_PATIENT_HELP)
    slot = serializers.IntegerField()
    hold = serializers.IntegerField(required=False)


def _own_hold(acting: Acting, hold_id: int | None) -> Hold | None:
    return None if hold_id is None else get_object_or_404(Hold, pk=hold_id, resident=acting.patient)


def _context(request: AuthenticatedRequest, acting: Acting) -> dict:
    return {"request": request, "patient": acting.patient}


@extend_schema_view(
    post=extend_schema(request=BookingInput, responses={201: BookingSerializer}, parameters=[IDEMPOTENCY_HEADER])
)
@shed_when_queued
class BookingList(IdempotentPostMixin, APIView):
    permission_classes = [IsResident]
    throttle_classes = BOOKING_THROTTLES

    @extend_schema(responses=BookingSerializer(many=True), parameters=[PATIENT_PARAMETER])
    def get(self, request: AuthenticatedRequest) -> Response:
        acting = _acting(request)
        bookings = acting_bookings(acting=acting)
        return Response(BookingSerializer(bookings, many=True, context=_context(request, acting)).data)

    def post_once(self, request: AuthenticatedRequest) -> Response:
        data = BookingInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        acting = _acting(request, values.get("patient", ""))
        booking = booking_create(
            resident=acting.patient,
            actor=request.user,
            slot_id=values["slot"],
            hold=_own_hold(acting, values.get("hold")),
            phone=values.get("phone", ""),
            reason=values.get("reason", ""),
            case_types_for_answer=True,
        )
        # The new booking comes back with its clinic, type and resource already attached, and
        # the clinic with the case types the booking read (the actions need the MANAGE one).
        try:
            body = BookingSerializer(booking, context=_context(request, acting)).data
        finally:
            case_types_forget(clinic=booking.clinic)
        return Response(body, status=status.HTTP_201_CREATED)


class BookingDetail(APIView):
    permission_classes = [IsResident]

    @extend_schema(responses=BookingSerializer, parameters=[PATIENT_PARAMETER])
    def get(self, request: AuthenticatedRequest, booking_id: int) -> Response:
        acting = _acting(request)
        booking = acting_booking(acting=acting, booking_id=booking_id)
        return Response(BookingSerializer(booking, context=_context(request, acting)).data)


class PatientInput(serializers.Serializer):
    patient = serializers.IntegerField(required=False, help_text=_PATIENT_HELP)


@extend_schema_view(post=extend_schema(request=PatientInput, responses={204: None}, parameters=[IDEMPOTENCY_HEADER]))
class BookingCancel(IdempotentPostMixin, APIView):
    permission_classes = [IsResident]

    def post_once(self, request: AuthenticatedRequest, booking_id: int) -> Response:
        data = PatientInput(data=request.data)
        data.is_valid(raise_exception=True)
        acting = _acting(request, data.validated_data.get("patient", ""))
        acting_booking(acting=acting, booking_id=booking_id)  # someone else's: 404
        booking_cancel(actor=request.user, booking_id=booking_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RebookCandidates(APIView):
    permission_classes = [IsResident]

    @extend_schema(responses=SlotSerializer(many=True), parameters=[PATIENT_PARAMETER])
    def get(self, request: AuthenticatedRequest, booking_id: int) -> Response:
        acting = _acting(request)
        booking = acting_booking(acting=acting, booking_id=booking_id)
        slots = rebook_candidates(booking=booking, resident=acting.patient)
        if booking.slot_id is not None:
            slots = slots.exclude(pk=booking.slot_id)
        return Response(SlotSerializer(slots[:500], many=True).data)


@extend_schema_view(
    post=extend_schema(request=RebookInput, responses={201: BookingSerializer}, parameters=[IDEMPOTENCY_HEADER])
)
@shed_when_queued
class BookingRebook(IdempotentPostMixin, APIView):
    permission_classes = [IsResident]
    throttle_classes = BOOKING_THROTTLES

    def post_once(self, request: AuthenticatedRequest, booking_id: int) -> Response:
        data = RebookInput(data=request.data)
        data.is_valid(raise_exception=True)
        acting = _acting(request, data.validated_data.get("patient", ""))
        acting_booking(acting=acting, booking_id=booking_id)  # someone else's, or outside the power: 404
        new = booking_rebook(
            resident=acting.patient,
            actor=request.user,
            booking_id=booking_id,
            new_slot_id=data.validated_data["slot"],
            hold=_own_hold(acting, data.validated_data.get("hold")),
        )
        new = acting_booking(acting=acting, booking_id=new.pk)
        return Response(BookingSerializer(new, context=_context(request, acting)).data, status=status.HTTP_201_CREATED)


class MessageSerializer(serializers.ModelSerializer):
    clinic = serializers.CharField(source="clinic.name")
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = InboxMessage
        fields = ["id", "kind", "subject", "body", "clinic", "booking", "created_at", "is_read"]

    def get_is_read(self, message: InboxMessage) -> bool:
        return message.read_at is not None


class Inbox(APIView):
    permission_classes = [IsResident]

    @extend_schema(responses=MessageSerializer(many=True), parameters=[PATIENT_PARAMETER])
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(MessageSerializer(acting_inbox(acting=_acting(request))[:200], many=True).data)


class InboxRead(APIView):
    permission_classes = [IsResident]

    @extend_schema(request=PatientInput, responses=MessageSerializer)
    def post(self, request: AuthenticatedRequest, message_id: int) -> Response:
        data = PatientInput(data=request.data)
        data.is_valid(raise_exception=True)
        acting = _acting(request, data.validated_data.get("patient", ""))
        if not acting_inbox(acting=acting).filter(pk=message_id).exists():
            raise NotFound()
        return Response(MessageSerializer(inbox_mark_read(resident=acting.patient, message_id=message_id)).data)


# --- Holds: a time set aside while the resident confirms (R-BOOK-3, R-BOOK-7) ---------------------


class HoldSerializer(serializers.ModelSerializer):
    class Meta:
        model = Hold
        fields = ["id", "slot", "expires_at", "rebook_of"]


class HoldInput(serializers.Serializer):
    patient = serializers.IntegerField(required=False, help_text=_PATIENT_HELP)
    slot = serializers.IntegerField()
    rebook_of = serializers.IntegerField(required=False, help_text="A booking of yours to move to this time")


@shed_when_queued
class HoldList(APIView):
    permission_classes = [IsResident]
    throttle_classes = BOOKING_THROTTLES

    @extend_schema(request=HoldInput, responses={201: HoldSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        data = HoldInput(data=request.data)
        data.is_valid(raise_exception=True)
        slot_id = data.validated_data["slot"]
        acting = _acting(request, data.validated_data.get("patient", ""))
        if "rebook_of" in data.validated_data:
            booking = acting_booking(acting=acting, booking_id=data.validated_data["rebook_of"])
            hold = hold_create_for_rebook(resident=acting.patient, slot_id=slot_id, booking=booking, actor=request.user)
        else:
            hold = hold_create_for_booking(resident=acting.patient, slot_id=slot_id, actor=request.user)
        return Response(HoldSerializer(hold).data, status=status.HTTP_201_CREATED)


class HoldDetail(APIView):
    permission_classes = [IsResident]

    @extend_schema(responses={204: None}, parameters=[PATIENT_PARAMETER])
    def delete(self, request: AuthenticatedRequest, hold_id: int) -> Response:
        acting = _acting(request)
        hold = get_object_or_404(Hold, pk=hold_id, resident=acting.patient, state=HoldState.ACTIVE)
        hold_cancel(resident=acting.patient, hold=hold)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Whom the caller may act for (R-GUARD-2, R-POA-1) -------------------------------------------


class ActingOptionSerializer(serializers.Serializer):
    patient = serializers.IntegerField(source="patient.pk", help_text="Send as `patient` to act for this resident")
    name = serializers.CharField(source="patient.get_full_name")
    acting_as = serializers.CharField(help_text="'' yourself, 'guardian' or 'attorney'")
    clinics = serializers.ListField(
        child=serializers.IntegerField(), source="clinic_ids", allow_null=True, help_text="null: every clinic"
    )


class ActingForList(APIView):
    permission_classes = [IsResident]

    @extend_schema(responses=ActingOptionSerializer(many=True))
    def get(self, request: AuthenticatedRequest) -> Response:
        options = acting_options(actor=request.user)
        return Response(ActingOptionSerializer(options, many=True).data)
