"""Free times (R-VIS-2) and holds (R-BOOK-3) for residents' apps."""

from __future__ import annotations

import datetime as dt
import json

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.acting import acting_resolve
from accounts.http import AuthenticatedRequest
from clinics.models import AppointmentType, Resource
from clinics.policy import booking_notice_start
from clinics.selectors import type_access
from core import params
from core.api import IsResident
from core.params import optional_id

from . import free_times
from .models import Slot
from .selectors import clamp_to_basis, free_slots_between, local_midnight, visibility_cutoff

MAX_RANGE_DAYS = 62
MAX_SLOTS = 1000


def _instant(value: dt.datetime) -> str:
    """As DRF's DateTimeField writes it: local time with its offset, UTC as Z."""
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _slot_json(pk: int, start: dt.datetime, end: dt.datetime, resource: str, type_id: int) -> bytes:
    """One free time exactly as SlotSerializer and DRF's JSONRenderer write it, without either:
    a clinic's two weeks are thousands of rows, made again after every booking there."""
    row = {"id": pk, "start": _instant(start), "end": _instant(end), "resource": resource, "appointment_type": type_id}
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode()


class SlotSerializer(serializers.ModelSerializer):
    resource = serializers.CharField(source="resource.name")

    class Meta:
        model = Slot
        fields = ["id", "start", "end", "resource", "appointment_type"]


class FreeTimesQuery(serializers.Serializer):
    type = serializers.IntegerField()
    resource = serializers.IntegerField(required=False)
    # R-SEC-6: dates near year 1 or 9999 would overflow the window arithmetic below.
    date_from = params.ApiDateField(required=False)
    date_to = params.ApiDateField(required=False)

    def validate(self, attrs: dict) -> dict:
        today = timezone.localdate()
        start = attrs.get("date_from") or today
        end = attrs.get("date_to") or start + dt.timedelta(days=13)
        if end < start:
            raise serializers.ValidationError({"date_to": ["date_to must be on or after date_from."]})
        if (end - start).days >= MAX_RANGE_DAYS:
            raise serializers.ValidationError({"date_to": [f"Ask for at most {MAX_RANGE_DAYS} days at a time."]})
        attrs["date_from"], attrs["date_to"] = start, end
        return attrs


class FreeTimes(APIView):
    """Free times a resident may book: the same query as the booking pages (R-VIS-2)."""

    permission_classes = [IsResident]

    @extend_schema(
        parameters=[
            OpenApiParameter("type", int, required=True),
            OpenApiParameter("resource", int),
            OpenApiParameter("date_from", dt.date),
            OpenApiParameter("date_to", dt.date),
            OpenApiParameter(
                "patient",
                int,
                description="Free times for this resident (a child or a grantor); 404 when not allowed",
            ),
        ],
        responses=SlotSerializer(many=True),
    )
    def get(self, request: AuthenticatedRequest, clinic_id: int) -> HttpResponse:
        query = FreeTimesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        # One query for both: an unknown clinic, or a type of another clinic, is simply not found.
        types = AppointmentType.objects.select_related("clinic")
        appointment_type = get_object_or_404(types, pk=params["type"], clinic_id=clinic_id)
        clinic = appointment_type.clinic
        resource = None
        if "resource" in params:
            resource = get_object_or_404(Resource, pk=params["resource"], clinic=clinic)
        # The audience and area are the patient's: a child's region, not the guardian's (R-GUARD-2).
        raw_patient = request.query_params.get("patient", "")
        acting = acting_resolve(actor=request.user, patient_id=optional_id(raw_patient)) if raw_patient else None
        if raw_patient and (acting is None or not acting.covers(clinic.pk)):
            raise NotFound()
        patient = acting.patient if acting is not None else request.user
        access = type_access(appointment_type=appointment_type, clinic=clinic, resident=patient)
        if not access.allowed:
            return Response([])
        now = timezone.now()
        lower = local_midnight(params["date_from"])
        upper = min(
            visibility_cutoff(appointment_type=appointment_type, now=now),
            local_midnight(params["date_to"] + dt.timedelta(days=1)),
        )
        # A booking basis or summons narrows the days; the window is part of the cache key.
        lower, upper = clamp_to_basis(access=access, lower=lower, upper=upper)

        def load() -> list[tuple[dt.datetime, bytes]]:
            query = free_slots_between(
                clinic=clinic, appointment_type=appointment_type, lower=lower, upper=upper, resource=resource
            )
            rows = query.values_list("pk", "start", "end", "resource__name", "appointment_type_id")[:MAX_SLOTS]
            return [(start, _slot_json(pk, start, end, name, type_id)) for pk, start, end, name, type_id in rows]

        # Every resident who passes the gate above gets the same rows, shared through the cache
        # already rendered: encoding a clinic's two weeks of times costs more than finding them.
        window = f"{appointment_type.pk}:{resource.pk if resource else '-'}:{lower.isoformat()}:{upper.isoformat()}"
        # R-POL-1: the shared list is cut at the type's notice, not at now, when it is served.
        earliest = booking_notice_start(appointment_type=appointment_type, now=now)
        body = free_times.cached_json_list(clinic_id=clinic.pk, key=window, now=earliest, load=load)
        return HttpResponse(body, content_type="application/json")
