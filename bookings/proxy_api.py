"""The proxy bookers' API under /api/v1/proxy/ (R-TYPE-6), for a telephone-service system such as
1177's: the same operations as the proxy pages, through the same services and selectors.

A personnummer travels only in a POST body, never in a URL (R-SEC-3). The caller is a staff session
that passed its second factor (as for the clinic staff API) and holds a proxy booker's membership;
anyone else gets 403 (R-ACL-1). Reads of a resident and every change are on the audit log with the
booker's unit (R-LOG-4)."""

from __future__ import annotations

from typing import cast

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.api_fields import PersonnummerField
from accounts.http import AuthenticatedRequest
from clinics.models import Clinic
from clinics.selectors import proxy_types_in_regions
from core import params
from core.idempotency import IdempotentPostMixin
from schedules.models import Slot
from schedules.selectors import proxy_free_slots
from schedules.staff_api import StaffAPIView, StaffResourceSerializer, StaffTypeSerializer

from .models import Booking
from .proxy_selectors import ProxyCancelRead, proxy_cancel_read, proxy_region_ids, resident_for_proxy
from .services import booking_cancel, booking_create_by_proxy
from .staff_api import IDEMPOTENCY_HEADER, BookingDetailsSerializer, StaffResidentSerializer

FREE_TIMES_MAX = 200


class ProxyClinicSerializer(serializers.ModelSerializer):
    class Meta:
        model = Clinic
        fields = ["id", "name", "town", "street_address", "phone"]


class ProxySlotSerializer(serializers.ModelSerializer):
    clinic = ProxyClinicSerializer()
    appointment_type = StaffTypeSerializer()
    resource = StaffResourceSerializer()

    class Meta:
        model = Slot
        fields = ["id", "start", "end", "clinic", "appointment_type", "resource"]


class ProxyBookingSerializer(BookingDetailsSerializer):
    clinic = ProxyClinicSerializer()
    can_cancel = serializers.SerializerMethodField(
        help_text="Whether a proxy booker may cancel it now (R-TYPE-6), which includes the deadline (R-POL-1)"
    )
    change_deadline = serializers.SerializerMethodField(
        help_text="The last moment a proxy booker may cancel it, as on the web (R-POL-1)"
    )
    too_late_message = serializers.SerializerMethodField(
        help_text="Past the deadline: until when the web took changes and the clinic's phone (R-POL-1); else empty"
    )
    late_fee_text = serializers.SerializerMethodField(
        help_text="The clinic's fee text for a late change, to show before cancelling it now (R-POL-2); else empty"
    )

    class Meta:
        model = Booking
        fields = [
            "id",
            "status",
            "start",
            "end",
            "clinic",
            "appointment_type",
            "resource",
            "channel",
            "changed_by",
            "phone",
            "reason",
            "can_cancel",
            "change_deadline",
            "too_late_message",
            "late_fee_text",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Every field of every booking answers from one reading of the clock.
        self.now = timezone.now()

    def _cancel(self, booking: Booking) -> ProxyCancelRead:
        return proxy_cancel_read(booking=booking, now=self.now)

    def get_can_cancel(self, booking: Booking) -> bool:
        return self._cancel(booking).allowed

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_change_deadline(self, booking: Booking) -> str:
        # As the other times of the answer (ISO 8601, the site's time zone), ready for the
        # idempotency store's JSON.
        return serializers.DateTimeField().to_representation(self._cancel(booking).change_deadline)

    def get_too_late_message(self, booking: Booking) -> str:
        return self._cancel(booking).too_late_message

    def get_late_fee_text(self, booking: Booking) -> str:
        return self._cancel(booking).late_fee_text


class ProxyResidentInput(serializers.Serializer):
    personnummer = PersonnummerField()


class ProxyResidentAnswer(serializers.Serializer):
    resident = StaffResidentSerializer(allow_null=True, help_text="Null: nobody with this number has logged in yet")
    bookings = ProxyBookingSerializer(many=True, help_text="Bookings of proxy types in the booker's regions")


class ProxyFreeTimesQuery(serializers.Serializer):
    area = serializers.CharField(required=False, max_length=100, help_text="The clinic's town")
    clinic = serializers.IntegerField(required=False, min_value=1, max_value=params.ID_MAX)
    type = serializers.CharField(required=False, max_length=100, help_text="The type's name on the web")
    # Any calendar date: one no timebook reaches has no free times, rather than being an error.
    date = serializers.DateField(required=False, help_text="Empty: the next free times")


class ProxyBookingInput(serializers.Serializer):
    personnummer = PersonnummerField()
    slot = serializers.PrimaryKeyRelatedField(
        queryset=Slot.objects.none(), help_text="A free time of a proxy type in the booker's regions"
    )
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    def __init__(self, *args, region_ids: list[int] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if region_ids is None:  # the schema generator
            return
        slot_field = cast(serializers.PrimaryKeyRelatedField, self.fields["slot"])
        # The ignore: the stubs type RelatedField.queryset as QuerySet | Manager (see staff_api).
        slot_field.queryset = Slot.objects.filter(  # type: ignore[arg-type]
            appointment_type__in=proxy_types_in_regions(region_ids=region_ids).values("pk")
        )


def _booking(booking_id: int) -> Booking:
    return Booking.objects.select_related("clinic", "appointment_type", "resource", "created_by").get(pk=booking_id)


class ProxyResidentSearch(StaffAPIView):
    @extend_schema(request=ProxyResidentInput, responses=ProxyResidentAnswer)
    def post(self, request: AuthenticatedRequest) -> Response:
        """Find a resident by personnummer (in the body, R-SEC-3) and their bookings of proxy types
        in the booker's regions. Nothing is changed; the read is audited with the unit (R-LOG-4)."""
        proxy_region_ids(actor=request.user)  # 403 for anyone but a proxy booker
        data = ProxyResidentInput(data=request.data)
        data.is_valid(raise_exception=True)
        read = resident_for_proxy(actor=request.user, personnummer=data.validated_data["personnummer"])
        return Response(ProxyResidentAnswer({"resident": read.resident, "bookings": read.bookings}).data)


class ProxyFreeTimes(StaffAPIView):
    @extend_schema(
        parameters=[ProxyFreeTimesQuery],
        responses=ProxySlotSerializer(many=True),
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        """Free times of proxy types at the booker's regions' clinics (R-TYPE-6), earliest first,
        at most 200: by area (town), clinic, type (its web name) and day."""
        region_ids = proxy_region_ids(actor=request.user)
        query = ProxyFreeTimesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        clinic = Clinic.objects.filter(pk=values["clinic"]).first() if "clinic" in values else None
        if ("clinic" in values and clinic is None) or ("date" in values and not params.date_in_range(values["date"])):
            return Response([])
        slots = proxy_free_slots(
            region_ids=region_ids,
            town=values.get("area", ""),
            clinic=clinic,
            type_name=values.get("type", ""),
            day=values.get("date"),
        )
        return Response(ProxySlotSerializer(slots[:FREE_TIMES_MAX], many=True).data)


@extend_schema_view(
    post=extend_schema(
        request=ProxyBookingInput, responses={201: ProxyBookingSerializer}, parameters=[IDEMPOTENCY_HEADER]
    )
)
class ProxyBookingList(IdempotentPostMixin, StaffAPIView):
    """Book a free proxy time for a resident: they get a summons in their inbox (R-BOOK-9), the web
    booking log a row with the proxy channel and the booker's unit (R-LOG-1)."""

    def post_once(self, request: AuthenticatedRequest) -> Response:
        region_ids = proxy_region_ids(actor=request.user)
        data = ProxyBookingInput(data=request.data, region_ids=region_ids)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        booking = booking_create_by_proxy(
            actor=request.user,
            slot_id=values["slot"].pk,
            personnummer=values["personnummer"],
            phone=values["phone"],
            reason=values["reason"],
        )
        return Response(ProxyBookingSerializer(_booking(booking.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(post=extend_schema(request=None, responses={204: None}, parameters=[IDEMPOTENCY_HEADER]))
class ProxyBookingCancel(IdempotentPostMixin, StaffAPIView):
    """Cancel a booking of a proxy type in the booker's regions; the resident gets a message
    (R-BOOK-9), the web booking log a row with the booker's unit (R-LOG-1)."""

    def post_once(self, request: AuthenticatedRequest, booking_id: int) -> Response:
        region_ids = proxy_region_ids(actor=request.user)
        if not Booking.objects.filter(pk=booking_id, clinic__region_id__in=region_ids).exists():
            raise Http404  # another region's booking: as if it did not exist (R-ACL-1)
        booking_cancel(actor=request.user, booking_id=booking_id)  # audited with the unit (R-LOG-4)
        return Response(status=status.HTTP_204_NO_CONTENT)
