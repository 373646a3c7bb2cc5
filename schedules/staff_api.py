"""The scheduler's timebook for staff apps (R-SCHED-1/2, R-PUB-1/2, R-BOOK-4, R-LOG-4, R-ACL-1).

Thin views over the same services and selectors as the clinic workspace. Every view first checks
the role at the clinic in the URL (:func:`clinics.workspace.clinic_for`: no role there at all is
404, another role is 403); objects named in the URL must belong to that clinic, else 404.
Staff use the browser session, so unsafe requests need the CSRF token.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import AuthenticatedRequest
from accounts.models import Role
from clinics.models import AppointmentType, Clinic, Resource
from clinics.workspace import IsClinicStaff, clinic_for
from core import params

from . import services
from .models import Block, Schedule, Slot
from .selectors import TimebookEntry, schedule_slot_counts, schedules_for_clinic, timebook_entries

SCHEDULER = (Role.SCHEDULER,)
MAX_TIMEBOOK_DAYS = 31
MAX_CHANGE_TYPE_SLOTS = 1000
MAX_LISTED = 500


def scheduler_clinic(request: AuthenticatedRequest, clinic_id: int) -> Clinic:
    return clinic_for(request, clinic_id, SCHEDULER)


class ClinicScopedSerializer(serializers.Serializer):
    """Input whose resource and appointment type must be the clinic's (a foreign id is a field error)."""

    def __init__(self, *args, clinic: Clinic | None = None, **kwargs) -> None:
        # Without a clinic (the schema generator) every id is refused.
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        if clinic is None:
            return
        # The subclasses declare these as PrimaryKeyRelatedFields (``fields`` is typed as holding any Field).
        # The ignores: the stubs type RelatedField.queryset as QuerySet | Manager, and mypy then takes any
        # assignment to it for a call of Manager.__get__.
        if "resource" in self.fields:
            resource_field = cast(serializers.PrimaryKeyRelatedField, self.fields["resource"])
            resource_field.queryset = Resource.objects.filter(clinic=clinic, is_active=True)  # type: ignore[arg-type]
        if "appointment_type" in self.fields:
            type_field = cast(serializers.PrimaryKeyRelatedField, self.fields["appointment_type"])
            type_field.queryset = AppointmentType.objects.filter(clinic=clinic)  # type: ignore[arg-type]


def _resource_field() -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(queryset=Resource.objects.none(), help_text="An active resource id")


def _type_field() -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(queryset=AppointmentType.objects.none(), help_text="Appointment type id")


# A calendar date within reason: far-off years would overflow the date arithmetic (R-SEC-6).
DateField = params.ApiDateField


# --- Output ---------------------------------------------------------------------------------------


class StaffResourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Resource
        fields = ["id", "name"]


class StaffTypeSerializer(serializers.ModelSerializer):
    """Staff see both names of a type: the timebook's and the web's (R-TYPE-1)."""

    class Meta:
        model = AppointmentType
        fields = ["id", "internal_name", "web_name"]


class TimebookBookingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    resident_name = serializers.CharField(source="resident.get_full_name")
    personnummer = serializers.CharField(source="resident.personnummer_display")
    changed_by = serializers.CharField(source="changed_by_display", help_text="R-BOOK-4")
    channel = serializers.CharField()
    phone = serializers.CharField(source="patient_phone")
    reason = serializers.CharField(source="patient_reason")


class TimebookSlotSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="slot.pk")
    start = serializers.DateTimeField(source="slot.start")
    end = serializers.DateTimeField(source="slot.end")
    status = serializers.CharField(source="slot.status", help_text="free, held or booked")
    is_published = serializers.BooleanField(source="slot.is_published")
    is_blocked = serializers.BooleanField(source="slot.is_blocked")
    schedule = serializers.IntegerField(source="slot.schedule_id", allow_null=True)
    appointment_type = StaffTypeSerializer(source="slot.appointment_type")
    resource = StaffResourceSerializer(source="slot.resource")
    booking = TimebookBookingSerializer(allow_null=True, help_text="The active booking of a booked time")


class BlockSerializer(serializers.ModelSerializer):
    resource = StaffResourceSerializer()

    class Meta:
        model = Block
        fields = ["id", "resource", "start", "end", "reason", "created_at"]


if TYPE_CHECKING:
    _FieldBase = serializers.Field
else:
    _FieldBase = object


# A response field whose value is a result of the service, not an attribute of the model: the view passes it
# in the serializer's context under ``key``. (A comment, not a docstring: the API schema would show it.)
class _FromContext(_FieldBase):
    def __init__(self, *args: Any, key: str, **kwargs: Any) -> None:
        self.context_key = key
        super().__init__(*args, **kwargs)

    def get_attribute(self, instance: Any) -> Any:
        return self.context[self.context_key]


class _IntegerFromContext(_FromContext, serializers.IntegerField):
    pass


class BlockCreatedSerializer(BlockSerializer):
    booked_times_kept = _IntegerFromContext(
        key="booked_times_kept", help_text="Booked times inside the period stay booked; cancel them if needed."
    )

    class Meta(BlockSerializer.Meta):
        fields = [*BlockSerializer.Meta.fields, "booked_times_kept"]


class ScheduleSerializer(serializers.ModelSerializer):
    resource = StaffResourceSerializer()
    appointment_type = StaffTypeSerializer()
    weekdays = serializers.ListField(child=serializers.IntegerField(), help_text="ISO weekdays, 1 = Monday")
    publish_stalled = serializers.BooleanField(
        read_only=True, help_text="A background publish lost its worker; it is resumed automatically (R-OPS-3)"
    )

    class Meta:
        model = Schedule
        fields = [
            "id",
            "resource",
            "appointment_type",
            "weekdays",
            "start_date",
            "end_date",
            "day_start",
            "day_end",
            "slot_minutes",
            "published_at",
            "removed_at",
            "publish_state",
            "publish_total",
            "publish_done",
            "publish_skipped",
            "publish_stalled",
            "created_at",
        ]
        extra_kwargs = {
            "publish_skipped": {"help_text": "Times not made because they overlap times already on the resource"},
        }


class SlotCountsSerializer(serializers.Serializer):
    free = serializers.IntegerField()
    held = serializers.IntegerField()
    booked = serializers.IntegerField()
    blocked = serializers.IntegerField()
    total = serializers.IntegerField()


class _SlotCountsFromContext(_FromContext, SlotCountsSerializer):
    class Meta:
        ref_name = "SlotCounts"  # the schema's name for it, as before


class ScheduleDetailSerializer(ScheduleSerializer):
    counts = _SlotCountsFromContext(key="counts", help_text="The schedule's slots by state")

    class Meta(ScheduleSerializer.Meta):
        fields = [*ScheduleSerializer.Meta.fields, "counts"]


class ScheduleCreatedSerializer(ScheduleSerializer):
    created_slots = _IntegerFromContext(
        key="created_slots",
        allow_null=True,
        help_text="Slots made now; null when a large schedule is published by a worker",
    )

    class Meta(ScheduleSerializer.Meta):
        fields = [*ScheduleSerializer.Meta.fields, "created_slots"]


class ScheduleRemovedSerializer(serializers.Serializer):
    removed_slots = serializers.IntegerField(help_text="Free times removed; booked times are kept")
    schedule = ScheduleSerializer()


class ChangeTypeResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField(help_text="Times that now have the new type")
    booked_kept = serializers.IntegerField(help_text="Booked times keep the type they were booked as")


# --- Input ----------------------------------------------------------------------------------------


class TimebookQuery(serializers.Serializer):
    date_from = DateField(required=False)
    date_to = DateField(required=False)
    resource = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs: dict) -> dict:
        start = attrs.get("date_from") or timezone.localdate()
        end = attrs.get("date_to") or start + dt.timedelta(days=6)
        if end < start:
            raise serializers.ValidationError({"date_to": ["date_to must be on or after date_from."]})
        if (end - start).days >= MAX_TIMEBOOK_DAYS:
            raise serializers.ValidationError({"date_to": [f"Ask for at most {MAX_TIMEBOOK_DAYS} days at a time."]})
        attrs["date_from"], attrs["date_to"] = start, end
        return attrs


class _Period(ClinicScopedSerializer):
    def validate(self, attrs: dict) -> dict:
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["The end must be after the start."]})
        return attrs


class SlotInput(_Period):
    resource = _resource_field()
    appointment_type = _type_field()
    start = params.ApiDateTimeField()
    end = params.ApiDateTimeField()


class ChangeTypeInput(ClinicScopedSerializer):
    slots = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Slot.objects.none(), allow_empty=False, help_text="Slot ids of this clinic"
    )
    appointment_type = _type_field()

    def __init__(self, *args, clinic: Clinic | None = None, **kwargs) -> None:
        super().__init__(*args, clinic=clinic, **kwargs)
        if clinic is not None:
            # ``slots`` is the ManyRelatedField declared above; the ignore as in ClinicScopedSerializer.
            slots_field = cast(serializers.ManyRelatedField, self.fields["slots"])
            slots_field.child_relation.queryset = Slot.objects.filter(clinic=clinic)  # type: ignore[arg-type]

    def validate_slots(self, slots: list[Slot]) -> list[Slot]:
        if len(slots) > MAX_CHANGE_TYPE_SLOTS:
            raise serializers.ValidationError(f"Choose at most {MAX_CHANGE_TYPE_SLOTS} times at a time.")
        return slots


class BlockInput(_Period):
    resource = _resource_field()
    start = params.ApiDateTimeField()
    end = params.ApiDateTimeField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class ScheduleInput(ClinicScopedSerializer):
    resource = _resource_field()
    appointment_type = _type_field()
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=7),
        allow_empty=False,
        max_length=7,
        help_text="ISO weekdays, 1 = Monday",
    )
    start_date = DateField()
    end_date = DateField(help_text="At most one year after start_date")
    day_start = serializers.TimeField(help_text="Stockholm local time")
    day_end = serializers.TimeField(help_text="Stockholm local time")
    slot_minutes = serializers.IntegerField(min_value=5, max_value=480)


# --- Views ----------------------------------------------------------------------------------------


class StaffAPIView(APIView):
    permission_classes = [IsClinicStaff]
    # The residents' booking rate limits are not for clinic staff, who may change many times at once
    # and have already passed a second factor.
    throttle_classes: list = []


class TimebookSlots(StaffAPIView):
    """The timebook (R-SCHED-2, R-BOOK-4): every slot in the range with its state and, when
    booked, the booking with the resident's name and personnummer. Each booking shown is
    written to the audit log (R-LOG-4)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("date_from", dt.date, description="Default: today"),
            OpenApiParameter("date_to", dt.date, description=f"Default: date_from + 6; {MAX_TIMEBOOK_DAYS} days max"),
            OpenApiParameter("resource", int),
        ],
        responses=TimebookSlotSerializer(many=True),
    )
    def get(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        clinic = scheduler_clinic(request, clinic_id)
        query = TimebookQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        resource = None
        if "resource" in params:
            # Past days may show resources that have since been made inactive.
            resource = get_object_or_404(Resource, pk=params["resource"], clinic=clinic)
        entries: list[TimebookEntry] = timebook_entries(
            actor=request.user,
            clinic=clinic,
            date_from=params["date_from"],
            date_to=params["date_to"],
            resource=resource,
        )
        return Response(TimebookSlotSerializer(entries, many=True).data)

    @extend_schema(request=SlotInput, responses={201: TimebookSlotSerializer})
    def post(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        """Add a single time; it reaches the web through the publisher (R-PUB-1)."""
        clinic = scheduler_clinic(request, clinic_id)
        data = SlotInput(data=request.data, clinic=clinic)
        data.is_valid(raise_exception=True)
        slot = services.slot_add(actor=request.user, **data.validated_data)
        slot = Slot.objects.select_related("resource", "appointment_type").get(pk=slot.pk)
        body = TimebookSlotSerializer(TimebookEntry(slot, None)).data
        return Response(body, status=status.HTTP_201_CREATED)


class SlotsChangeType(StaffAPIView):
    @extend_schema(request=ChangeTypeInput, responses=ChangeTypeResultSerializer)
    def post(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        """Give the chosen times another type; booked ones keep theirs (R-SCHED-2, R-PUB-1)."""
        clinic = scheduler_clinic(request, clinic_id)
        data = ChangeTypeInput(data=request.data, clinic=clinic)
        data.is_valid(raise_exception=True)
        ids = [slot.pk for slot in data.validated_data["slots"]]
        change = services.slots_change_type(
            actor=request.user,
            slots=Slot.objects.filter(pk__in=ids, clinic=clinic),
            appointment_type=data.validated_data["appointment_type"],
        )
        return Response(ChangeTypeResultSerializer(change).data)


class BlockList(StaffAPIView):
    @extend_schema(responses=BlockSerializer(many=True))
    def get(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        """The clinic's current and coming blocks."""
        clinic = scheduler_clinic(request, clinic_id)
        blocks = (
            Block.objects.filter(clinic=clinic, end__gt=timezone.now())
            .select_related("resource")
            .order_by("start", "pk")[:MAX_LISTED]
        )
        return Response(BlockSerializer(blocks, many=True).data)

    @extend_schema(request=BlockInput, responses={201: BlockCreatedSerializer})
    def post(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        """Block a period on a resource: its free times leave the web at once (R-PUB-2)."""
        clinic = scheduler_clinic(request, clinic_id)
        data = BlockInput(data=request.data, clinic=clinic)
        data.is_valid(raise_exception=True)
        created = services.block_create(actor=request.user, **data.validated_data)
        body = BlockCreatedSerializer(created.block, context={"booked_times_kept": created.booked_kept}).data
        return Response(body, status=status.HTTP_201_CREATED)


class BlockDetail(StaffAPIView):
    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, clinic_id: int, block_id: int) -> Response:
        """Remove a block; its free times return to the web through the publisher (R-PUB-1)."""
        clinic = scheduler_clinic(request, clinic_id)
        block = get_object_or_404(Block, pk=block_id, clinic=clinic)
        services.block_delete(actor=request.user, block=block)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _clinic_schedule(clinic: Clinic, schedule_id: int) -> Schedule:
    return get_object_or_404(
        Schedule.objects.select_related("resource", "appointment_type"), pk=schedule_id, clinic=clinic
    )


class ScheduleList(StaffAPIView):
    @extend_schema(responses=ScheduleSerializer(many=True))
    def get(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        clinic = scheduler_clinic(request, clinic_id)
        return Response(ScheduleSerializer(schedules_for_clinic(clinic=clinic)[:MAX_LISTED], many=True).data)

    @extend_schema(request=ScheduleInput, responses={201: ScheduleCreatedSerializer})
    def post(self, request: AuthenticatedRequest, clinic_id: int) -> Response:
        """Create a schedule and publish it (R-SCHED-1), or nothing at all. A large one is
        published by a worker: ``created_slots`` is then null and ``publish_*`` show progress."""
        clinic = scheduler_clinic(request, clinic_id)
        data = ScheduleInput(data=request.data, clinic=clinic)
        data.is_valid(raise_exception=True)
        schedule, created = services.schedule_create_and_publish(
            actor=request.user, pattern=services.SchedulePattern(**data.validated_data)
        )
        schedule = _clinic_schedule(clinic, schedule.pk)
        body = ScheduleCreatedSerializer(schedule, context={"created_slots": created}).data
        return Response(body, status=status.HTTP_201_CREATED)


class ScheduleDetail(StaffAPIView):
    @extend_schema(responses=ScheduleDetailSerializer)
    def get(self, request: AuthenticatedRequest, clinic_id: int, schedule_id: int) -> Response:
        clinic = scheduler_clinic(request, clinic_id)
        schedule = _clinic_schedule(clinic, schedule_id)
        counts = schedule_slot_counts(schedule=schedule)
        slot_counts = {
            "free": counts.free,
            "held": counts.held,
            "booked": counts.booked,
            "blocked": counts.blocked,
            "total": counts.total,
        }
        return Response(ScheduleDetailSerializer(schedule, context={"counts": slot_counts}).data)


class ScheduleRemoveType(StaffAPIView):
    @extend_schema(request=None, responses=ScheduleRemovedSerializer)
    def post(self, request: AuthenticatedRequest, clinic_id: int, schedule_id: int) -> Response:
        """Take the type off the schedule: its free times go at once, booked ones stay
        (R-SCHED-2, R-PUB-2). Asking again removes nothing more."""
        clinic = scheduler_clinic(request, clinic_id)
        schedule = _clinic_schedule(clinic, schedule_id)
        # The service locks the schedule, so two requests at once remove the type once.
        removed = services.schedule_remove_type(actor=request.user, schedule=schedule) or 0
        schedule = _clinic_schedule(clinic, schedule_id)
        return Response(ScheduleRemovedSerializer({"removed_slots": removed, "schedule": schedule}).data)
