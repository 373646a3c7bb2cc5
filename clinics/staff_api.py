"""Staff accounts and roles for a region's own systems (an identity or HR system that joins and
leaves people): the same operations as region IT's workspace pages, over the same services
(:mod:`clinics.staff_services`), with the same roles (R-ACL-1) and the same audit events. A local
admin reads who holds which role at the clinic. Staff use the browser session that passed its
second factor (R-SEC-2), so unsafe requests need the CSRF token."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import AuthenticatedRequest
from accounts.models import Membership, Role, User

from .models import Clinic
from .staff_selectors import (
    StaffRow,
    clinic_staff_rows,
    memberships_in_region,
    region_staff_rows,
)
from .staff_services import (
    staff_deactivate,
    staff_invitation_resend,
    staff_invite,
    staff_reactivate,
    staff_role_grant,
    staff_role_revoke,
    staff_second_factor_reset,
)
from .workspace import IsClinicStaff, clinic_for, staff_member_for

REGION_IT = (Role.REGION_IT,)
ADMIN = (Role.LOCAL_ADMIN,)  # region IT of the clinic's region is admitted as well (clinic_for)


class StaffRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user.pk")
    name = serializers.CharField(source="user.get_full_name")
    email = serializers.EmailField(source="user.email")
    roles = serializers.ListField(child=serializers.CharField(), help_text="The roles in words, where they apply")
    is_active = serializers.BooleanField(source="user.is_active")
    invited = serializers.BooleanField(help_text="Invited, and no password chosen yet")
    has_second_factor = serializers.BooleanField()


class MembershipSerializer(serializers.ModelSerializer):
    clinic = serializers.IntegerField(source="clinic_id", allow_null=True, help_text="None for a region role")
    region = serializers.CharField(source="region.code", allow_null=True, default=None)

    class Meta:
        model = Membership
        fields = ["id", "role", "clinic", "region", "unit_name", "created_at"]


class StaffMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.EmailField()
    is_active = serializers.BooleanField()
    last_login = serializers.DateTimeField(allow_null=True)
    memberships = serializers.SerializerMethodField(help_text="Roles in the region of the clinic in the URL")

    def get_memberships(self, member: User) -> list[dict]:
        region = self.context["clinic"].region
        return list(MembershipSerializer(memberships_in_region(user=member, region=region), many=True).data)


class RoleInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    clinic = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="For a clinic role: a clinic of the region"
    )
    unit_name = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="For a proxy booker: the unit"
    )


class InviteInput(RoleInput):
    email = serializers.CharField(max_length=254)
    first_name = serializers.CharField(max_length=150, allow_blank=True)
    last_name = serializers.CharField(max_length=150, allow_blank=True)


class AccountInput(serializers.Serializer):
    is_active = serializers.BooleanField(help_text="false deactivates the account and logs the person out")


class StaffAPIView(APIView):
    permission_classes = [IsClinicStaff]
    throttle_classes: list = []


def _region_it(request: AuthenticatedRequest, clinic_id: int) -> Clinic:
    return clinic_for(request, clinic_id, REGION_IT)


def _rows(rows: list[StaffRow]) -> list:
    return list(
        StaffRowSerializer(
            [
                {
                    "user": row.user,
                    "roles": row.roles,
                    "invited": row.invited,
                    "has_second_factor": row.has_second_factor,
                }
                for row in rows
            ],
            many=True,
        ).data
    )


def _role_arguments(data: dict) -> dict:
    return {"role": data["role"], "role_clinic_id": data.get("clinic"), "unit_name": data.get("unit_name", "")}


class ClinicRoles(StaffAPIView):
    """Who holds which role at the clinic, region-wide roles of its region included (local admin,
    read-only)."""

    @extend_schema(responses=StaffRowSerializer(many=True))
    def get(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        clinic = clinic_for(request, clinic_id, ADMIN)
        return Response(_rows(clinic_staff_rows(clinic=clinic)))


class StaffAccountList(StaffAPIView):
    """The region's staff accounts (region IT); POST invites a person with a first role."""

    @extend_schema(responses=StaffRowSerializer(many=True))
    def get(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        clinic = _region_it(request, clinic_id)
        return Response(_rows(region_staff_rows(region=clinic.region)))

    @extend_schema(request=InviteInput, responses={201: StaffMemberSerializer})
    def post(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        clinic = _region_it(request, clinic_id)
        data = InviteInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        member = staff_invite(
            actor=request.user,
            clinic=clinic,
            email=values["email"],
            first_name=values["first_name"],
            last_name=values["last_name"],
            **_role_arguments(values),
        )
        return Response(StaffMemberSerializer(member, context={"clinic": clinic}).data, status=status.HTTP_201_CREATED)


class StaffAccountDetail(StaffAPIView):
    """One staff account of the region; PATCH ``is_active`` deactivates or activates it."""

    @extend_schema(responses=StaffMemberSerializer)
    def get(self, request: AuthenticatedRequest, clinic_id: int, member_id: int) -> Response:
        clinic = _region_it(request, clinic_id)
        member = staff_member_for(clinic=clinic, member_id=member_id)
        return Response(StaffMemberSerializer(member, context={"clinic": clinic}).data)

    @extend_schema(request=AccountInput, responses=StaffMemberSerializer)
    def patch(self, request: AuthenticatedRequest, clinic_id: int, member_id: int) -> Response:
        clinic = _region_it(request, clinic_id)
        member = staff_member_for(clinic=clinic, member_id=member_id)
        data = AccountInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = staff_reactivate if data.validated_data["is_active"] else staff_deactivate
        member = change(actor=request.user, clinic=clinic, member=member)
        return Response(StaffMemberSerializer(member, context={"clinic": clinic}).data)


class StaffRoleList(StaffAPIView):
    """Give the person a role at a clinic of the region, or a region role."""

    @extend_schema(request=RoleInput, responses={201: MembershipSerializer})
    def post(self, request: AuthenticatedRequest, clinic_id: int, member_id: int) -> Response:
        clinic = _region_it(request, clinic_id)
        member = staff_member_for(clinic=clinic, member_id=member_id)
        data = RoleInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = staff_role_grant(
            actor=request.user, clinic=clinic, member=member, **_role_arguments(data.validated_data)
        )
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class StaffRoleDetail(StaffAPIView):
    """Take a role away (never the account's last: deactivate it instead)."""

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: AuthenticatedRequest, clinic_id: int, member_id: int, membership_id: int) -> Response:
        clinic = _region_it(request, clinic_id)
        member = staff_member_for(clinic=clinic, member_id=member_id)
        staff_role_revoke(actor=request.user, clinic=clinic, member=member, membership_id=membership_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StaffSecondFactorReset(StaffAPIView):
    """A lost second factor: every authenticator removed and every session ended; the person sets
    up a new one at the next login (R-AUTH-2)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: AuthenticatedRequest, clinic_id: int, member_id: int) -> Response:
        clinic = _region_it(request, clinic_id)
        staff_second_factor_reset(
            actor=request.user, clinic=clinic, member=staff_member_for(clinic=clinic, member_id=member_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class StaffInvitation(StaffAPIView):
    """Send the invitation again, while no password has been chosen."""

    @extend_schema(request=None, responses={202: None})
    def post(self, request: AuthenticatedRequest, clinic_id: int, member_id: int) -> Response:
        clinic = _region_it(request, clinic_id)
        staff_invitation_resend(
            actor=request.user, clinic=clinic, member=staff_member_for(clinic=clinic, member_id=member_id)
        )
        return Response(status=status.HTTP_202_ACCEPTED)
