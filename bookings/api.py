"""The resident's bookings and inbox (R-BOOK-5…8, R-BOOK-9), through the same services as the pages."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import AuthenticatedRequest
from core.api import BOOKING_THROTTLES, IsResident
from core.idempotency import IdempotentPostMixin
from core.overload import shed_when_queued
from schedules.api import SlotSerializer
from schedules.models import Hold, HoldState
from schedules.services import hold_cancel

from .models import Booking, InboxMessage
from .selectors import (
    booking_actions,
    booking_for_resident,
    bookings_for_resident,
    inbox_for_resident,
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
        actions = booking_actions(booking=booking, resident=self.context["request"].user)
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
    slot = serializers.IntegerField()
    hold = serializers.IntegerField(required=False)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class RebookInput(serializers.Serializer):
    slot = serializers.IntegerField()
    hold = serializers.IntegerField(required=False)


def _own_hold(request: AuthenticatedRequest, hold_id: int | None) -> Hold | None:
    return None if hold_id is None else get_object_or_404(Hold, pk=hold_id, resident=request.user)


@extend_schema_view(
    post=extend_schema(request=BookingInput, responses={201: BookingSerializer}, parameters=[IDEMPOTENCY_HEADER])
)
@shed_when_queued
class BookingList(IdempotentPostMixin, APIView):
    permission_classes = [IsResident]
    throttle_classes = BOOKING_THROTTLES

    @extend_schema(responses=BookingSerializer(many=True))
    def get(self, request: AuthenticatedRequest) -> Response:
        bookings = bookings_for_resident(resident=request.user)
        return Response(BookingSerializer(bookings, many=True, context={"request": request}).data)

    def post_once(self, request: AuthenticatedRequest) -> Response:
        data = BookingInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        booking = booking_create(
            resident=request.user,
            slot_id=values["slot"],
            hold=_own_hold(request, values.get("hold")),
            phone=values.get("phone", ""),
            reason=values.get("reason", ""),
        )
        # The new booking comes back with its clinic, type and resource already attached.
        return Response(BookingSerializer(booking, context={"request": request}).data, status=status.HTTP_201_CREATED)


class BookingDetail(APIView):
    permission_classes = [IsResident]

    @extend_schema(responses=BookingSerializer)
    def get(self, request: AuthenticatedRequest, booking_id: int) -> Response:
        booking = booking_for_resident(resident=request.user, booking_id=booking_id)
        return Response(BookingSerializer(booking, context={"request": request}).data)


@extend_schema_view(post=extend_schema(request=None, responses={204: None}, parameters=[IDEMPOTENCY_HEADER]))
class BookingCancel(IdempotentPostMixin, APIView):
    permission_classes = [IsResident]

    def post_once(self, request: AuthenticatedRequest, booking_id: int) -> Response:
        booking_for_resident(resident=request.user, booking_id=booking_id)  # someone else's: 404
        booking_cancel(actor=request.user, booking_id=booking_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RebookCandidates(APIView):
    permission_classes = [IsResident]

    @extend_schema(responses=SlotSerializer(many=True))
    def get(self, request: AuthenticatedRequest, booking_id: int) -> Response:
        booking = booking_for_resident(resident=request.user, booking_id=booking_id)
        slots = rebook_candidates(booking=booking, resident=request.user)
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
        new = booking_rebook(
            resident=request.user,
            booking_id=booking_id,
            new_slot_id=data.validated_data["slot"],
            hold=_own_hold(request, data.validated_data.get("hold")),
        )
        new = booking_for_resident(resident=request.user, booking_id=new.pk)
        return Response(BookingSerializer(new, context={"request": request}).data, status=status.HTTP_201_CREATED)


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

    @extend_schema(responses=MessageSerializer(many=True))
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(MessageSerializer(inbox_for_resident(resident=request.user)[:200], many=True).data)


class InboxRead(APIView):
    permission_classes = [IsResident]

    @extend_schema(request=None, responses=MessageSerializer)
    def post(self, request: AuthenticatedRequest, message_id: int) -> Response:
        return Response(MessageSerializer(inbox_mark_read(resident=request.user, message_id=message_id)).data)


# --- Holds: a time set aside while the resident confirms (R-BOOK-3, R-BOOK-7) ---------------------


class HoldSerializer(serializers.ModelSerializer):
    class Meta:
        model = Hold
        fields = ["id", "slot", "expires_at", "rebook_of"]


class HoldInput(serializers.Serializer):
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
        if "rebook_of" in data.validated_data:
            booking = booking_for_resident(resident=request.user, booking_id=data.validated_data["rebook_of"])
            hold = hold_create_for_rebook(resident=request.user, slot_id=slot_id, booking=booking)
        else:
            hold = hold_create_for_booking(resident=request.user, slot_id=slot_id)
        return Response(HoldSerializer(hold).data, status=status.HTTP_201_CREATED)


class HoldDetail(APIView):
    permission_classes = [IsResident]

    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, hold_id: int) -> Response:
        hold = get_object_or_404(Hold, pk=hold_id, resident=request.user, state=HoldState.ACTIVE)
        hold_cancel(resident=request.user, hold=hold)
        return Response(status=status.HTTP_204_NO_CONTENT)
