"""Free times (R-VIS-2) and holds (R-BOOK-3) for residents' apps."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_acting import PATIENT_PARAMETER, acting_for_request
from accounts.http import AuthenticatedRequest
from clinics.models import Resource
from clinics.policy import booking_notice_start
from clinics.selectors import type_access
from core import params
from core.api import IsResident

from . import free_times
from .models import Slot
from .selectors import clamp_to_basis, free_slots_between, free_times_gate, local_midnight, visibility_cutoff

MAX_RANGE_DAYS = 62
DEFAULT_DAYS = 14  # from date_from (today when not given) when no date_to is given
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
        end = attrs.get("date_to") or start + dt.timedelta(days=DEFAULT_DAYS - 1)
        if end < start:
            raise serializers.ValidationError({"date_to": ["date_to must be on or after date_from."]})
        if (end - start).days >= MAX_RANGE_DAYS:
            raise serializers.ValidationError({"date_to": [f"Ask for at most {MAX_RANGE_DAYS} days at a time."]})
        attrs["date_from"], attrs["date_to"] = start, end
        return attrs


def _plain_query(query: QueryDict) -> dict[str, Any] | None:
    """What FreeTimesQuery makes of the query apps send most (only ``type``, as digits: the next
    two weeks), without building the serializer; None for any other query, which the serializer
    reads and, when wrong, answers."""
    raw = query.get("type", "")
    if len(query) != 1 or not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        return None
    today = timezone.localdate()
    return {"type": int(raw), "date_from": today, "date_to": today + dt.timedelta(days=DEFAULT_DAYS - 1)}


class FreeTimes(APIView):
    """Free times a resident may book: the same query as the booking pages (R-VIS-2)."""

    permission_classes = [IsResident]
    # A read: the booking throttles count POSTs only, so building them for every read is waste.
    throttle_classes: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("type", int, required=True),
            OpenApiParameter("resource", int),
            OpenApiParameter("date_from", dt.date),
            OpenApiParameter("date_to", dt.date),
            PATIENT_PARAMETER,
        ],
        responses=SlotSerializer(many=True),
    )
    def get(self, request: AuthenticatedRequest, clinic_id: int) -> HttpResponse:
        params = _plain_query(request.query_params)
        if params is None:
            query = FreeTimesQuery(data=request.query_params)
            query.is_valid(raise_exception=True)
            params = query.validated_data
        type_id, resource_id = params["type"], params.get("resource")
        lower = local_midnight(params["date_from"])
        asked_upper = local_midnight(params["date_to"] + dt.timedelta(days=1))
        # The clinic's side of the gate and the asked window's rows come in one cache round trip.
        # The rows are stored for the window asked, and cut to the type's visible days and the
        # resident's notice and bases when served: a cut at the end keeps the first rows as
        # they are, so the stored list serves every resident and every day of the window.
        gate_name = f"gate:{type_id}"
        window = f"rows:{type_id}:{resource_id or '-'}:{lower.isoformat()}:{asked_upper.isoformat()}"
        entries = free_times.ClinicEntries(clinic_id, gate_name, window)
        # Kept only with the clinic's BOOK case type in it: a case type is made once per clinic
        # and kind, so making one never has to replace a cached "none".
        gate = entries.get(
            gate_name,
            lambda: free_times_gate(clinic_id=clinic_id, type_id=type_id),
            keep=lambda found: found is not None and found[1] is not None,
        )
        # An unknown clinic, or a type of another clinic, is simply not found.
        if gate is None:
            raise Http404()
        appointment_type, book_case_type = gate
        clinic = appointment_type.clinic
        resource = None
        if resource_id is not None:
            resource = get_object_or_404(Resource, pk=resource_id, clinic=clinic)
        # The audience and area are the patient's: a child's region, not the guardian's (R-GUARD-2).
        # Resolved as the clinics and bookings APIs do: 404 for anyone the caller may not act for.
        acting = acting_for_request(request)
        if not acting.covers(clinic.pk):
            raise NotFound()  # R-POA-1: an attorney only at the clinics the power covers
        patient = acting.patient
        access = type_access(
            appointment_type=appointment_type, clinic=clinic, resident=patient, book_case_type=lambda: book_case_type
        )
        if not access.allowed:
            return Response([])
        now = timezone.now()
        upper = min(visibility_cutoff(appointment_type=appointment_type, now=now), asked_upper)
        # A booking basis or summons narrows the days. A later first day changes which rows the
        # list begins with, so it is a window (and a stored list) of its own.
        first, upper = clamp_to_basis(access=access, lower=lower, upper=upper)
        if first > lower:
            window = f"rows:{type_id}:{resource_id or '-'}:{first.isoformat()}:{asked_upper.isoformat()}"

        def load() -> free_times.JsonRows:
            query = free_slots_between(
                clinic=clinic, appointment_type=appointment_type, lower=first, upper=asked_upper, resource=resource
            )
            rows = query.values_list("pk", "start", "end", "resource__name", "appointment_type_id")[:MAX_SLOTS]
            # Encoding a clinic's two weeks of times costs more than finding them: stored rendered.
            return free_times.JsonRows.of(
                [(start, _slot_json(pk, start, end, name, row_type)) for pk, start, end, name, row_type in rows]
            )

        # R-POL-1: the shared list is cut at the type's notice, not at now, when it is served.
        earliest = booking_notice_start(appointment_type=appointment_type, now=now)
        body = entries.get(window, load).array(after=earliest, before=upper)
        return HttpResponse(body, content_type="application/json")
