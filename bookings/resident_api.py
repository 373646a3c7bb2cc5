"""The staff's resident page for a region's other systems (R-REL-1, R-REL-3, R-LOG-4, R-ACL-1):
look a resident up at a clinic, approve or withdraw communication, send a message to the inbox.
Thin views over the services and selectors the workspace page uses; the personnummer travels in
POST bodies only (R-SEC-3); every read and change is on the audit log."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.api_fields import PersonnummerField
from accounts.http import AuthenticatedRequest
from accounts.models import User
from accounts.selectors import resident_for_personnummer
from clinics.models import Clinic
from clinics.services import COMMUNICATION_ROLES, communication_approve, communication_withdraw
from clinics.workspace import clinic_for
from core.idempotency import IdempotentPostMixin
from schedules.staff_api import StaffAPIView, StaffResourceSerializer, StaffTypeSerializer

from .models import Booking, InboxMessage
from .resident_overview import ResidentAtClinic, bookings_hidden_by_withdrawal, resident_at_clinic_for_staff
from .services import clinic_message_send
from .services.inbox import BODY_MAX_LENGTH
from .staff_api import IDEMPOTENCY_HEADER, StaffResidentSerializer


class _ResidentInput(serializers.Serializer):
    personnummer = PersonnummerField()


class CommunicationInput(_ResidentInput):
    approved = serializers.BooleanField(help_text="true: approve for communication; false: withdraw the approval")


class MessageInput(_ResidentInput):
    subject = serializers.CharField(max_length=200, allow_blank=True)
    body = serializers.CharField(allow_blank=True, max_length=BODY_MAX_LENGTH * 2, trim_whitespace=False)


class ResidentBookingSerializer(serializers.ModelSerializer):
    appointment_type = StaffTypeSerializer()
    resource = StaffResourceSerializer()
    visible_on_web = serializers.SerializerMethodField(help_text="Whether the resident sees it on the web (R-BOOK-5)")

    class Meta:
        model = Booking
        fields = ["id", "start", "end", "appointment_type", "resource", "visible_on_web"]

    def get_visible_on_web(self, booking: Booking) -> bool:
        return booking.pk in self.context.get("visible_ids", set())


class ClinicMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = InboxMessage
        fields = ["id", "kind", "subject", "created_at", "read_at"]


class RepresentativeSerializer(serializers.Serializer):
    """R-POA-2: someone who may act for the resident now."""

    person = StaffResidentSerializer()
    acting_as = serializers.CharField(help_text="'guardian' or 'attorney'")
    until = serializers.DateField(help_text="The last day they may act")
    clinics = serializers.ListField(
        child=serializers.CharField(), source="clinic_names", help_text="Empty: every clinic"
    )


class ResidentAtClinicSerializer(serializers.Serializer):
    resident = StaffResidentSerializer()
    representatives = RepresentativeSerializer(many=True)
    has_relation = serializers.BooleanField()
    approved_for_communication = serializers.BooleanField(source="approved")
    bookings = serializers.SerializerMethodField()
    messages = ClinicMessageSerializer(many=True)

    @extend_schema_field(ResidentBookingSerializer(many=True))
    def get_bookings(self, overview: ResidentAtClinic) -> list[dict]:
        serializer = ResidentBookingSerializer(
            overview.bookings, many=True, context={"visible_ids": overview.visible_ids}
        )
        # many=True makes a ListSerializer whose data is a list; the stubs type it as one item's dict.
        return serializer.data  # type: ignore[return-value]


class CommunicationResultSerializer(serializers.Serializer):
    approved_for_communication = serializers.BooleanField()
    bookings_no_longer_visible = ResidentBookingSerializer(
        many=True, help_text="Withdrawing: the bookings the resident stopped seeing on the web (R-REL-3)"
    )


def _resident(personnummer: str) -> User:
    resident = resident_for_personnummer(personnummer=personnummer)
    if resident is None:
        raise Http404  # never used Tidbok: nothing to show or change
    return resident


def _clinic(request: AuthenticatedRequest, clinic_id: int) -> Clinic:
    return clinic_for(request, clinic_id, COMMUNICATION_ROLES)


class ResidentLookup(StaffAPIView):
    @extend_schema(request=_ResidentInput, responses={200: ResidentAtClinicSerializer})
    def post(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        """The resident at this clinic: relation, approval, bookings here, the clinic's messages.
        Audited (R-LOG-4); 404 for a personnummer nobody has used."""
        clinic = _clinic(request, clinic_id)
        data = _ResidentInput(data=request.data)
        data.is_valid(raise_exception=True)
        overview = resident_at_clinic_for_staff(
            actor=request.user, clinic=clinic, personnummer=data.validated_data["personnummer"]
        )
        if overview is None:
            raise Http404
        return Response(ResidentAtClinicSerializer(overview).data)


@extend_schema_view(
    post=extend_schema(
        request=CommunicationInput, responses={200: CommunicationResultSerializer}, parameters=[IDEMPOTENCY_HEADER]
    )
)
class ResidentCommunication(IdempotentPostMixin, StaffAPIView):
    """Approve (R-REL-1) or withdraw (R-REL-3) the resident's approval for communication here;
    audited. Withdrawing answers with the bookings that stopped being visible on the web."""

    def post_once(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        clinic = _clinic(request, clinic_id)
        data = CommunicationInput(data=request.data)
        data.is_valid(raise_exception=True)
        resident = _resident(data.validated_data["personnummer"])
        hidden: list[Booking] = []
        if data.validated_data["approved"]:
            communication_approve(actor=request.user, resident=resident, clinic=clinic)
        else:
            hidden = bookings_hidden_by_withdrawal(resident=resident, clinic=clinic)
            communication_withdraw(actor=request.user, resident=resident, clinic=clinic)
        body = {"approved_for_communication": data.validated_data["approved"], "bookings_no_longer_visible": hidden}
        return Response(CommunicationResultSerializer(body).data)


@extend_schema_view(
    post=extend_schema(request=MessageInput, responses={201: ClinicMessageSerializer}, parameters=[IDEMPOTENCY_HEADER])
)
class ResidentMessages(IdempotentPostMixin, StaffAPIView):
    """Send a free-text message to the resident's inbox (no reply channel; the resident is told to
    call the clinic); audited. The service checks the lengths (subject 100, body 2000)."""

    def post_once(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        clinic = _clinic(request, clinic_id)
        data = MessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        resident = _resident(data.validated_data["personnummer"])
        message = clinic_message_send(
            actor=request.user,
            clinic=clinic,
            resident=resident,
            subject=data.validated_data["subject"],
            body=data.validated_data["body"],
        )
        return Response(ClinicMessageSerializer(message).data, status=status.HTTP_201_CREATED)
