"""Bookings on behalf of residents and the web booking log, for staff apps (R-BOOK-4, R-BOOK-9,
R-REL-1, R-LOG-2, R-LOG-4, R-ACL-1). Thin views over the workspace's services and selectors;
every read of a resident's data is written to the audit log."""

from __future__ import annotations

import datetime as dt
from typing import cast

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.api_fields import PersonnummerField
from accounts.http import AuthenticatedRequest
from accounts.models import Role
from accounts.personnummer import MESSAGE_EMPTY
from clinics.models import Clinic
from clinics.workspace import clinic_for
from core.idempotency import IdempotentPostMixin
from schedules.models import Slot
from schedules.staff_api import DateField, StaffAPIView, StaffResourceSerializer, StaffTypeSerializer, scheduler_clinic

from .models import Booking, LogStatus, WaitlistEntry, WebBookingLogEntry
from .services import booking_book_for_resident, booking_cancel, booking_meeting_link_set
from .staff_selectors import booking_for_staff
from .waitlist_selectors import waitlist_for_clinic
from .web_log_selectors import web_log_changes, web_log_read

SUPPORT = (Role.SUPPORT,)
WEB_LOG_DEFAULT_LIMIT = 100
WEB_LOG_MAX_LIMIT = 500

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Send the same key when retrying: the first answer is returned, nothing is done twice.",
)


# --- Bookings on behalf of a resident (R-BOOK-4, R-BOOK-9) --------------------------------------


class StaffResidentSerializer(serializers.Serializer):
    name = serializers.CharField(source="get_full_name")
    personnummer = serializers.CharField(source="personnummer_display")


# What the staff API and the proxy bookers' API both tell of a booking: its type and resource, who
# changed it last (R-BOOK-4) and what the resident wrote when booking (R-TYPE-7); each lists its own
# fields in its Meta. A comment, not a docstring: the schema would show a docstring on both.
class BookingDetailsSerializer(serializers.ModelSerializer):
    appointment_type = StaffTypeSerializer()
    resource = StaffResourceSerializer()
    changed_by = serializers.CharField(source="changed_by_display", help_text="R-BOOK-4")
    phone = serializers.CharField(source="patient_phone")
    reason = serializers.CharField(source="patient_reason")


class StaffBookingSerializer(BookingDetailsSerializer):
    resident = StaffResidentSerializer()
    resident_notified = serializers.SerializerMethodField(
        help_text="The resident gets a summons or cancellation message (never for a type hidden for patients)"
    )

    class Meta:
        model = Booking
        fields = [
            "id",
            "status",
            "start",
            "end",
            "slot",
            "resident",
            "appointment_type",
            "resource",
            "channel",
            "changed_by",
            "phone",
            "reason",
            "waitlist_entry",
            "created_at",
            "ended_at",
            "resident_notified",
            "meeting_url",
        ]
        extra_kwargs = {
            "meeting_url": {"help_text": "A video visit's meeting link: the resident's secret, for the clinic's staff"}
        }

    def get_resident_notified(self, booking: Booking) -> bool:
        return not booking.appointment_type.hidden_for_patient


class StaffBookingInput(serializers.Serializer):
    personnummer = PersonnummerField(required=False, help_text="Required unless waitlist_entry is given")
    slot = serializers.PrimaryKeyRelatedField(queryset=Slot.objects.none(), help_text="A free slot of this clinic")
    waitlist_entry = serializers.PrimaryKeyRelatedField(
        queryset=WaitlistEntry.objects.none(), required=False, help_text="A waiting entry of this clinic's waitlist"
    )

    def __init__(self, *args, clinic: Clinic | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if clinic is None:  # the schema generator
            return
        # Both are the PrimaryKeyRelatedFields declared above (``fields`` is typed as holding any Field). The
        # ignores: the stubs type RelatedField.queryset as QuerySet | Manager, and mypy then takes any assignment
        # to it for a call of Manager.__get__.
        slot_field = cast(serializers.PrimaryKeyRelatedField, self.fields["slot"])
        slot_field.queryset = Slot.objects.filter(clinic=clinic)  # type: ignore[arg-type]
        entry_field = cast(serializers.PrimaryKeyRelatedField, self.fields["waitlist_entry"])
        entry_field.queryset = waitlist_for_clinic(clinic=clinic)  # type: ignore[arg-type]

    def validate(self, attrs: dict) -> dict:
        entry = attrs.get("waitlist_entry")
        personnummer = attrs.get("personnummer")
        if entry is None and not personnummer:
            raise serializers.ValidationError({"personnummer": [MESSAGE_EMPTY]})
        if entry is not None and personnummer and entry.resident.personnummer != personnummer:
            raise serializers.ValidationError(
                {"personnummer": [_("This is not the personal identity number of the resident on the waitlist entry.")]}
            )
        return attrs


def _clinic_booking_or_404(clinic: Clinic, booking_id: int) -> None:
    if not Booking.objects.filter(pk=booking_id, clinic=clinic).exists():
        raise Http404


def _staff_booking(request: AuthenticatedRequest, booking_id: int) -> Booking:
    # booking_for_staff writes the read to the audit log (R-LOG-4).
    booking = booking_for_staff(actor=request.user, booking_id=booking_id)
    return Booking.objects.select_related("clinic", "resident", "appointment_type", "resource", "created_by").get(
        pk=booking.pk
    )


@extend_schema_view(
    post=extend_schema(
        request=StaffBookingInput, responses={201: StaffBookingSerializer}, parameters=[IDEMPOTENCY_HEADER]
    )
)
class StaffBookingList(IdempotentPostMixin, StaffAPIView):
    """Book a time for a resident by personnummer (or from the waitlist): the resident gets a
    clinic relation and a summons in their inbox (R-BOOK-9, R-REL-1)."""

    def post_once(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        clinic = scheduler_clinic(request, clinic_id)
        data = StaffBookingInput(data=request.data, clinic=clinic)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        entry = values.get("waitlist_entry")
        slot = values["slot"]
        booking = booking_book_for_resident(
            actor=request.user,
            slot_id=slot.pk,
            personnummer=values.get("personnummer", ""),
            waitlist_entry_id=entry.pk if entry is not None else None,
        )
        booking = Booking.objects.select_related(
            "clinic", "resident", "appointment_type", "resource", "created_by"
        ).get(pk=booking.pk)
        return Response(StaffBookingSerializer(booking).data, status=status.HTTP_201_CREATED)


class StaffBookingDetail(StaffAPIView):
    @extend_schema(responses=StaffBookingSerializer)
    def get(self, request: AuthenticatedRequest, clinic_id: int, booking_id: int) -> Response:
        """A booking with "changed by" (R-BOOK-4); the read is audited (R-LOG-4)."""
        clinic = scheduler_clinic(request, clinic_id)
        _clinic_booking_or_404(clinic, booking_id)
        return Response(StaffBookingSerializer(_staff_booking(request, booking_id)).data)


@extend_schema_view(post=extend_schema(request=None, responses={204: None}, parameters=[IDEMPOTENCY_HEADER]))
class StaffBookingCancel(IdempotentPostMixin, StaffAPIView):
    """Cancel for the resident; they get a message in their inbox (R-BOOK-9)."""

    def post_once(self, request: AuthenticatedRequest, clinic_id: int, booking_id: int) -> Response:
        clinic = scheduler_clinic(request, clinic_id)
        _clinic_booking_or_404(clinic, booking_id)
        booking_cancel(actor=request.user, booking_id=booking_id)  # audited in its transaction (R-LOG-4)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeetingLinkInput(serializers.Serializer):
    meeting_url = serializers.CharField(
        allow_blank=True, max_length=1000, trim_whitespace=False, help_text="https://…; empty removes the link"
    )


class StaffBookingMeetingLink(StaffAPIView):
    @extend_schema(request=MeetingLinkInput, responses=StaffBookingSerializer)
    def put(self, request: AuthenticatedRequest, clinic_id: int, booking_id: int) -> Response:
        """Set, replace or remove a video visit's meeting link; the change is audited (R-LOG-4)."""
        clinic = scheduler_clinic(request, clinic_id)
        _clinic_booking_or_404(clinic, booking_id)
        data = MeetingLinkInput(data=request.data)
        data.is_valid(raise_exception=True)
        booking_meeting_link_set(
            actor=request.user, booking_id=booking_id, meeting_url=data.validated_data["meeting_url"]
        )
        return Response(StaffBookingSerializer(_staff_booking(request, booking_id)).data)


# --- The web booking log (R-LOG-2, R-LOG-4) -------------------------------------------------------


class WebLogQuery(serializers.Serializer):
    date_from = DateField(required=False)
    date_to = DateField(required=False)
    status = serializers.ChoiceField(choices=LogStatus.choices, required=False)
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=WEB_LOG_MAX_LIMIT,
        help_text=f"Default {WEB_LOG_DEFAULT_LIMIT}, at most {WEB_LOG_MAX_LIMIT}",
    )
    offset = serializers.IntegerField(required=False, min_value=0, max_value=10**9)

    def validate(self, attrs: dict) -> dict:
        date_from, date_to = attrs.get("date_from"), attrs.get("date_to")
        if date_from and date_to and date_from > date_to:
            raise serializers.ValidationError({"date_to": ["The to date cannot be before the from date."]})
        return attrs


class WebLogSearch(WebLogQuery):
    personnummer = PersonnummerField(required=False)


class WebLogValuesSerializer(serializers.Serializer):
    date = serializers.DateField(allow_null=True)
    start = serializers.TimeField(allow_null=True, format="%H:%M")
    resource = serializers.CharField()
    type = serializers.CharField(help_text="The appointment type's internal name")


class WebLogEntrySerializer(serializers.ModelSerializer):
    resident = StaffResidentSerializer()
    previous = serializers.SerializerMethodField(help_text="Empty on a new booking")
    new = serializers.SerializerMethodField(help_text="Empty on a cancellation")
    changed = serializers.SerializerMethodField(help_text="The values that changed (R-LOG-2)")

    class Meta:
        model = WebBookingLogEntry
        fields = [
            "id",
            "changed_at",
            "status",
            "resident",
            "previous",
            "new",
            "changed",
            "channel",
            "changed_by",
            "is_late",
            "late_fee_text",
            "booking",
            "booking_basis",
        ]

    @staticmethod
    def _values(entry: WebBookingLogEntry, prefix: str) -> dict:
        return {name: getattr(entry, f"{prefix}_{name}") for name in ("date", "start", "resource", "type")}

    @extend_schema_field(WebLogValuesSerializer)
    def get_previous(self, entry: WebBookingLogEntry) -> dict:
        return WebLogValuesSerializer(self._values(entry, "previous")).data

    @extend_schema_field(WebLogValuesSerializer)
    def get_new(self, entry: WebBookingLogEntry) -> dict:
        return WebLogValuesSerializer(self._values(entry, "new")).data

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_changed(self, entry: WebBookingLogEntry) -> list[str]:
        return [change.name for change in web_log_changes(entry=entry) if change.changed]


class WebLogPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    results = WebLogEntrySerializer(many=True)


def _web_log_page(request: AuthenticatedRequest, clinic: Clinic, params: dict) -> Response:
    limit = params.get("limit", WEB_LOG_DEFAULT_LIMIT)
    read = web_log_read(
        actor=request.user,
        clinic=clinic,
        date_from=params.get("date_from"),
        date_to=params.get("date_to"),
        status=params.get("status"),
        personnummer=params.get("personnummer"),
        offset=params.get("offset", 0),
        limit=limit,
    )
    page = {"count": read.count, "limit": limit, "offset": read.offset, "results": read.entries}
    return Response(WebLogPageSerializer(page).data)


class WebLog(StaffAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("date_from", dt.date),
            OpenApiParameter("date_to", dt.date),
            OpenApiParameter("status", str, enum=list(LogStatus.values)),
            OpenApiParameter("limit", int, description=f"Default {WEB_LOG_DEFAULT_LIMIT}, at most {WEB_LOG_MAX_LIMIT}"),
            OpenApiParameter("offset", int),
        ],
        responses=WebLogPageSerializer,
    )
    def get(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        """The clinic's web booking log for support staff (R-LOG-2), newest first. Reading it and
        every resident shown are written to the audit log (R-LOG-4). To find one resident, POST
        to ``web-log/search/``: a personnummer never travels in a URL (R-SEC-3)."""
        clinic = clinic_for(request, clinic_id, SUPPORT)
        if "personnummer" in request.query_params:
            # Refused rather than ignored: an unfiltered answer would look like the resident's.
            raise serializers.ValidationError(
                {"personnummer": [_("Send the personal identity number in the body of POST web-log/search/.")]}
            )
        query = WebLogQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return _web_log_page(request, clinic, query.validated_data)


class WebLogSearchView(StaffAPIView):
    @extend_schema(request=WebLogSearch, responses=WebLogPageSerializer)
    def post(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        """The clinic's web booking log filtered as in the body, for support staff (R-LOG-2):
        the search by personnummer, which stays out of URLs and access logs (R-SEC-3). Nothing
        is changed; the read and every resident shown are written to the audit log (R-LOG-4)."""
        clinic = clinic_for(request, clinic_id, SUPPORT)
        search = WebLogSearch(data=request.data)
        search.is_valid(raise_exception=True)
        return _web_log_page(request, clinic, search.validated_data)
