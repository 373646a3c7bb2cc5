"""Booking bases and open summons for a region's other systems (R-TYPE-4, R-REL-1, R-LOG-4,
R-ACL-1): list, read, issue, revoke, and send an open summons. Thin views over the services and
selectors the workspace pages use; every resident returned is on the audit log, every change
writes its audit event in the service's transaction. The personnummer travels in POST bodies
only (R-SEC-3)."""

from __future__ import annotations

from typing import cast

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.api_fields import PersonnummerField
from accounts.http import AuthenticatedRequest
from clinics.models import AppointmentType, Clinic
from clinics.workspace import clinic_for
from core.errors import DomainError, ErrorCode
from core.idempotency import IdempotentPostMixin
from schedules.staff_api import DateField, StaffAPIView, StaffTypeSerializer

from .basis_selectors import BASIS_READER_ROLES, bases_for_staff, booking_basis_for_staff
from .models import BasisKind, BasisState, BookingBasis
from .services import BASIS_ISSUER_ROLES, booking_basis_issue, booking_basis_revoke, open_summons_send
from .services.bases import MAX_BOOKINGS_ALLOWED, NOTE_MAX_LENGTH
from .staff_api import IDEMPOTENCY_HEADER, StaffResidentSerializer


class BookingBasisSerializer(serializers.ModelSerializer):
    resident = StaffResidentSerializer()
    appointment_type = StaffTypeSerializer()
    kind = serializers.ChoiceField(choices=BasisKind.choices)
    state = serializers.ChoiceField(choices=BasisState.choices, help_text="active, used, expired or revoked")
    valid_from = serializers.DateField(allow_null=True, help_text="First day of a visit; null: from today")
    valid_until = serializers.DateField(allow_null=True, help_text="Last day of a visit; null: no last day")
    uses = serializers.IntegerField(help_text="Active bookings made with it; a cancellation gives its use back")

    class Meta:
        model = BookingBasis
        fields = [
            "id",
            "kind",
            "state",
            "resident",
            "appointment_type",
            "valid_from",
            "valid_until",
            "max_bookings",
            "uses",
            "note",
            "created_at",
            "revoked_at",
        ]


class RevokedBasisSerializer(serializers.Serializer):
    basis = BookingBasisSerializer()
    bookings_kept = serializers.IntegerField(help_text="Active bookings made with it: revoking does not cancel them")


class _BasisInput(serializers.Serializer):
    personnummer = PersonnummerField()
    appointment_type = serializers.PrimaryKeyRelatedField(
        queryset=AppointmentType.objects.none(), help_text="An appointment type of this clinic"
    )
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH, help_text="Internal: never shown to the resident"
    )

    def __init__(self, *args, clinic: Clinic | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if clinic is None:  # the schema generator
            return
        # The ignore: the stubs type RelatedField.queryset as QuerySet | Manager (see staff_api).
        field = cast(serializers.PrimaryKeyRelatedField, self.fields["appointment_type"])
        field.queryset = AppointmentType.objects.filter(clinic=clinic)  # type: ignore[arg-type]


class BookingBasisInput(_BasisInput):
    valid_from = DateField(required=False, allow_null=True, help_text="First day of a visit; empty: from today")
    valid_until = DateField(required=False, allow_null=True, help_text="Last day of a visit; empty: no last day")
    max_bookings = serializers.IntegerField(required=False, min_value=1, max_value=MAX_BOOKINGS_ALLOWED, default=1)


class OpenSummonsInput(_BasisInput):
    valid_from = DateField(help_text="First day of a visit")
    valid_until = DateField(help_text="Last day of a visit")


def _loaded(basis: BookingBasis) -> BookingBasis:
    return BookingBasis.objects.select_related("resident", "appointment_type").get(pk=basis.pk)


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=list(BasisState.values)),
            OpenApiParameter("kind", str, enum=list(BasisKind.values)),
        ],
        responses=BookingBasisSerializer(many=True),
    ),
    post=extend_schema(
        request=BookingBasisInput, responses={201: BookingBasisSerializer}, parameters=[IDEMPOTENCY_HEADER]
    ),
)
class BookingBasisList(IdempotentPostMixin, StaffAPIView):
    """GET: the clinic's booking bases and open summons, newest first (support staff, schedulers,
    local admins); each resident returned is audited (R-LOG-4). POST: issue a booking basis
    (schedulers and local admins, R-TYPE-4); a resident who has never logged in is created."""

    def get(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        clinic = clinic_for(request, clinic_id, BASIS_READER_ROLES)
        query = _ListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        bases = bases_for_staff(
            actor=request.user,
            clinic=clinic,
            state=query.validated_data.get("state"),
            kind=query.validated_data.get("kind"),
        )
        return Response(BookingBasisSerializer(bases, many=True).data)

    def post_once(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        clinic = clinic_for(request, clinic_id, BASIS_ISSUER_ROLES)
        data = BookingBasisInput(data=request.data, clinic=clinic)
        data.is_valid(raise_exception=True)
        basis = booking_basis_issue(actor=request.user, clinic=clinic, **data.validated_data)
        return Response(BookingBasisSerializer(_loaded(basis)).data, status=status.HTTP_201_CREATED)


class _ListQuery(serializers.Serializer):
    state = serializers.ChoiceField(choices=BasisState.choices, required=False)
    kind = serializers.ChoiceField(choices=BasisKind.choices, required=False)


class BookingBasisDetail(StaffAPIView):
    @extend_schema(responses=BookingBasisSerializer)
    def get(self, request: AuthenticatedRequest, clinic_id: int, basis_id: int) -> Response:
        """One booking basis or open summons of the clinic; the read is audited (R-LOG-4)."""
        clinic = clinic_for(request, clinic_id, BASIS_READER_ROLES)
        try:
            basis = booking_basis_for_staff(actor=request.user, clinic=clinic, basis_id=basis_id)
        except DomainError as exc:
            if exc.code == ErrorCode.NOT_FOUND:
                raise Http404 from None
            raise
        return Response(BookingBasisSerializer(basis).data)


@extend_schema_view(
    post=extend_schema(request=None, responses={200: RevokedBasisSerializer}, parameters=[IDEMPOTENCY_HEADER])
)
class BookingBasisRevoke(IdempotentPostMixin, StaffAPIView):
    """Revoke a booking basis or open summons: no new booking rests on it. Bookings already made
    with it are not cancelled; ``bookings_kept`` says how many there are."""

    def post_once(self, request: AuthenticatedRequest, clinic_id: int, basis_id: int) -> Response:
        clinic = clinic_for(request, clinic_id, BASIS_ISSUER_ROLES)
        basis, kept = booking_basis_revoke(actor=request.user, clinic=clinic, basis_id=basis_id)  # audited
        return Response(RevokedBasisSerializer({"basis": _loaded(basis), "bookings_kept": kept}).data)


@extend_schema_view(
    post=extend_schema(
        request=OpenSummonsInput, responses={201: BookingBasisSerializer}, parameters=[IDEMPOTENCY_HEADER]
    )
)
class OpenSummonsList(IdempotentPostMixin, StaffAPIView):
    """Send an open summons (öppen kallelse): the resident gets an inbox message with a link to
    book the type for a visit in the period, even where the type is not otherwise offered to
    them; one booking; the clinic relation is created (R-REL-1). Schedulers and local admins."""

    def post_once(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        clinic = clinic_for(request, clinic_id, BASIS_ISSUER_ROLES)
        data = OpenSummonsInput(data=request.data, clinic=clinic)
        data.is_valid(raise_exception=True)
        basis = open_summons_send(actor=request.user, clinic=clinic, **data.validated_data)
        return Response(BookingBasisSerializer(_loaded(basis)).data, status=status.HTTP_201_CREATED)
