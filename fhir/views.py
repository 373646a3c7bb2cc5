"""FHIR R4 read endpoints for the outside world (R-PUB, R-VIS-2, R-TYPE-2): Location (a clinic),
Schedule (a resource × appointment type), Slot (free or busy), and the SMART Scheduling Links
bulk publication (``$bulk-publish``) whose files the ``bulk_publish_refresh`` task writes
(:mod:`fhir.bulk`).

Location, Schedule and Slot are public: they are what national slot finders read. Only types a
resident can book on the web are published, by their web name, never the internal one. Errors
are OperationOutcome resources. The views parse, call a query and a small builder, and answer.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.gzip import gzip_page

from clinics.models import Clinic
from core import params
from core.localtime import local_midnight

from .builders import (
    BULK_RESOURCE_TYPES,
    ERROR_SYSTEM,
    SLOT_FIELDS,
    location_resource,
    region_state,
    schedule_resource,
    slot_resource,
    utc_instant,
)
from .models import BulkPublishFile, BulkPublishPart
from .selectors import BUSY_Q, FREE_Q, clinic_phones, public_schedules, public_slots
from .service_types import code_system

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json; charset=utf-8"
FHIR_NDJSON = "application/fhir+ndjson; charset=utf-8"
MAX_RESULTS = 1000
# Parameters any FHIR client may send; everything else a search does not name is refused.
COMMON_PARAMS = frozenset({"_format", "_count", "_offset"})
# How far a search may page (the ``next`` links): past this, narrow the search.
MAX_OFFSET = 1_000_000
# ASCII digits only: \d would also take Arabic-Indic or fullwidth digits (R-SEC-6).
_SCHEDULE_ID = re.compile(r"^(?P<resource>[0-9]{1,18})-(?P<type>[0-9]{1,18})$")
_NUMERIC_ID = re.compile(r"^[0-9]{1,18}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_LOOKUP = {"eq": "exact", "ge": "gte", "gt": "gt", "le": "lte", "lt": "lt"}
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$", re.ASCII)


# --- Errors (OperationOutcome) ------------------------------------------------------------------


class FhirError(Exception):
    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status, self.code, self.diagnostics = status, code, diagnostics


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def fhir_response(body: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status, content_type=FHIR_JSON, json_dumps_params={"ensure_ascii": False})


def outcome_response(status: int, code: str, diagnostics: str) -> JsonResponse:
    response = fhir_response(operation_outcome(code, diagnostics), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="tidbok"'
    return response


def fhir_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """GET only; a refused request is an OperationOutcome, and so is anything unforeseen."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = outcome_response(405, "not-supported", "Only reading (GET) is supported.")
            response["Allow"] = "GET, HEAD"
            return response
        try:
            return view(request, *args, **kwargs)
        except FhirError as exc:
            return outcome_response(exc.status, exc.code, exc.diagnostics)
        except params.BadParameter as exc:
            return outcome_response(400, "invalid", f"{exc.name}: {exc.message}")
        except Exception:
            logger.exception("FHIR request failed: %s", request.get_full_path())
            return outcome_response(500, "exception", "The request could not be answered.")

    return wrapper


@fhir_view
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    raise FhirError(404, "not-found", "There is no such FHIR resource type or operation here.")


# --- Parameters ----------------------------------------------------------------------------------


def check_params(request: HttpRequest, allowed: Iterable[str] = ()) -> None:
    unknown = sorted(set(request.GET) - COMMON_PARAMS - set(allowed))
    if unknown:
        raise FhirError(400, "not-supported", f"Unsupported search parameter: {', '.join(unknown)}.")


def count_param(request: HttpRequest) -> int:
    raw = request.GET.get("_count")
    if raw is None:
        return MAX_RESULTS
    try:
        return params.parse_int(raw, name="_count", minimum=1, maximum=MAX_RESULTS)
    except params.BadParameter:
        raise FhirError(400, "invalid", f"_count must be a whole number from 1 to {MAX_RESULTS}.") from None


def offset_param(request: HttpRequest) -> int:
    """Where a page starts: the ``next`` and ``previous`` links of a searchset carry it."""
    raw = request.GET.get("_offset")
    if raw is None:
        return 0
    try:
        return params.parse_int(raw, name="_offset", minimum=0, maximum=MAX_OFFSET)
    except params.BadParameter:
        raise FhirError(400, "invalid", f"_offset must be a whole number from 0 to {MAX_OFFSET}.") from None


def page_params(request: HttpRequest) -> tuple[int, int]:
    """(offset, count) of the page asked for."""
    return offset_param(request), count_param(request)


def parse_instant(value: str, name: str = "_since") -> dt.datetime:
    """A FHIR instant (with time zone). A '+' sent unencoded arrives as a space, and is taken back."""
    value = value.strip().replace(" ", "+")
    if not _INSTANT.match(value):
        raise FhirError(400, "invalid", f"{name} must be a FHIR instant, e.g. 2025-03-01T08:00:00Z.")
    try:
        # Between 1900 and 2999 (R-SEC-6): a UTC conversion next to year 1 or 9999 overflows.
        return params.parse_instant(value, name=name)
    except params.BadParameter:
        raise FhirError(400, "invalid", f"{name} is not a valid instant between 1900 and 2999.") from None


def _date_range_filter(value: str) -> Q:
    """One ``start`` parameter: prefix ge/gt/le/lt/eq and a date (a Swedish local day) or an instant."""
    prefix, raw = (value[:2], value[2:]) if value[:2] in ("ge", "gt", "le", "lt", "eq") else ("eq", value)
    raw = raw.strip().replace(" ", "+")
    if _DATE.match(raw):
        try:
            day = params.parse_date(raw, name="start")  # R-SEC-6: the day after must exist
        except params.BadParameter:
            raise FhirError(400, "invalid", f"start: {raw} is not a valid date between 1900 and 2999.") from None
        first, after = local_midnight(day), local_midnight(day + dt.timedelta(days=1))
        return {
            "eq": Q(start__gte=first, start__lt=after),
            "ge": Q(start__gte=first),
            "gt": Q(start__gte=after),
            "lt": Q(start__lt=first),
            "le": Q(start__lt=after),
        }[prefix]
    if not _INSTANT.match(raw):
        raise FhirError(400, "invalid", "start must be a date (YYYY-MM-DD) or an instant with a time zone.")
    return Q(**{f"start__{_LOOKUP[prefix]}": parse_instant(raw, "start")})


# --- Bundles -------------------------------------------------------------------------------------


def fhir_base(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("metadata")


def _page_url(request: HttpRequest, offset: int, count: int) -> str:
    query = request.GET.copy()
    query["_offset"], query["_count"] = str(offset), str(count)
    return f"{request.build_absolute_uri(request.path)}?{query.urlencode()}"


def searchset(
    request: HttpRequest, resources: list[dict[str, Any]], total: int, offset: int = 0, count: int = MAX_RESULTS
) -> dict[str, Any]:
    """One page of matches; ``next`` (and ``previous``) links lead through the rest."""
    base = fhir_base(request)
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"{base}{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
        for r in resources
    ]
    links = [{"relation": "self", "url": request.build_absolute_uri()}]
    if offset > 0:
        links.append({"relation": "first", "url": _page_url(request, 0, count)})
        links.append({"relation": "previous", "url": _page_url(request, max(0, offset - count), count)})
    if offset + len(resources) < total and offset + count <= MAX_OFFSET:
        links.append({"relation": "next", "url": _page_url(request, offset + count, count)})
    return {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links, "entry": entries}


def _public_base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


# --- Views ---------------------------------------------------------------------------------------


@fhir_view
def metadata(request: HttpRequest) -> HttpResponse:
    """A minimal CapabilityStatement, so clients can discover what is supported."""
    check_params(request)

    def searchable(kind: str, params: Iterable[str]) -> dict[str, Any]:
        return {
            "type": kind,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": name, "type": "token"} for name in params],
        }

    def operation(name: str) -> dict[str, Any]:
        return {"name": name, "definition": f"{fhir_base(request)}OperationDefinition/Appointment-{name}"}

    appointment = searchable("Appointment", [])
    appointment["operation"] = [operation(name) for name in ("hold", "book", "cancel", "rebook")]
    return fhir_response(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": timezone.now().date().isoformat(),
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "implementation": {"description": "Tidbok", "url": fhir_base(request)},
            "rest": [
                {
                    "mode": "server",
                    "documentation": (
                        "Free times: Slot search (status=free) or the SMART Scheduling Links files at $bulk-publish. "
                        "Booking with the resident's bearer token: Appointment/$hold and Appointment/$book, then "
                        "Appointment/{id}/$cancel or Appointment/{id}/$rebook, each taking a Parameters resource "
                        "(slot, hold, phone, reason) and an optional Idempotency-Key header. A refusal is an "
                        f"OperationOutcome whose details carry the error code ({ERROR_SYSTEM})."
                    ),
                    "security": {"service": [{"text": "Bearer token (Authorization: Bearer ...)"}]},
                    "resource": [
                        searchable("Location", []),
                        searchable("Schedule", ["actor"]),
                        searchable("Slot", ["schedule", "start", "status"]),
                        appointment,
                        {"type": "CodeSystem", "interaction": [{"code": "read"}]},
                    ],
                }
            ],
        }
    )


@fhir_view
def location_search(request: HttpRequest) -> HttpResponse:
    check_params(request)
    offset, count = page_params(request)
    clinics = Clinic.objects.select_related("region").order_by("pk")
    base = _public_base(request)
    page = [location_resource(c, base) for c in clinics[offset : offset + count]]
    return fhir_response(searchset(request, page, clinics.count(), offset, count))


@fhir_view
def location_read(request: HttpRequest, location_id: str) -> HttpResponse:
    check_params(request)
    found = Clinic.objects.select_related("region").filter(pk=location_id) if _NUMERIC_ID.match(location_id) else None
    clinic = found.first() if found is not None else None
    if clinic is None:
        raise FhirError(404, "not-found", f"Location/{location_id} is not known.")
    return fhir_response(location_resource(clinic, _public_base(request)))


def _location_param(value: str) -> int:
    raw = value.removeprefix("Location/")
    if not _NUMERIC_ID.match(raw):
        raise FhirError(400, "invalid", "actor must be a Location reference, e.g. Location/12.")
    return int(raw)


@gzip_page
@fhir_view
def schedule_search(request: HttpRequest) -> HttpResponse:
    check_params(request, {"actor"})
    offset, count = page_params(request)
    slots = public_slots()
    if "actor" in request.GET:
        slots = slots.filter(clinic_id=_location_param(request.GET["actor"]))
    pairs = public_schedules(slots)
    page = [schedule_resource(r, t) for r, t in pairs[offset : offset + count]]
    return fhir_response(searchset(request, page, len(pairs), offset, count))


def _schedule_pair(value: str) -> tuple[int, int]:
    match = _SCHEDULE_ID.match(value.removeprefix("Schedule/"))
    if match is None:
        raise FhirError(400, "invalid", "A schedule is named <resource id>-<appointment type id>, e.g. Schedule/3-7.")
    return int(match["resource"]), int(match["type"])


@fhir_view
def schedule_read(request: HttpRequest, schedule_id: str) -> HttpResponse:
    check_params(request)
    match = _SCHEDULE_ID.match(schedule_id)
    pairs = []
    if match is not None:
        pairs = public_schedules(
            public_slots().filter(resource_id=int(match["resource"]), appointment_type_id=int(match["type"]))
        )
    if not pairs:
        raise FhirError(404, "not-found", f"Schedule/{schedule_id} is not known.")
    return fhir_response(schedule_resource(*pairs[0]))


def _slot_filters(request: HttpRequest) -> Q:
    query = Q()
    if "schedule" in request.GET:
        pairs = [_schedule_pair(v.strip()) for v in request.GET["schedule"].split(",")]
        query &= functools.reduce(
            lambda acc, pair: acc | Q(resource_id=pair[0], appointment_type_id=pair[1]), pairs, Q(pk__in=[])
        )
    for value in request.GET.getlist("start"):
        query &= _date_range_filter(value)
    if "status" in request.GET:
        statuses = {s.strip() for s in request.GET["status"].split(",")}
        if not statuses <= {"free", "busy"}:
            raise FhirError(400, "invalid", "status must be free or busy.")
        query &= (FREE_Q if "free" in statuses else Q(pk__in=[])) | (BUSY_Q if "busy" in statuses else Q(pk__in=[]))
    return query


@gzip_page
@fhir_view
def slot_search(request: HttpRequest) -> HttpResponse:
    check_params(request, {"schedule", "start", "status"})
    offset, count = page_params(request)
    slots = public_slots().filter(_slot_filters(request))
    base = _public_base(request)
    found = list(slots.only(*SLOT_FIELDS).order_by("start", "pk")[offset : offset + count])
    phones = clinic_phones({s.clinic_id for s in found})
    page = [slot_resource(s, base, phones.get(s.clinic_id, "")) for s in found]
    return fhir_response(searchset(request, page, slots.count(), offset, count))


@fhir_view
def slot_read(request: HttpRequest, slot_id: str) -> HttpResponse:
    check_params(request)
    slot = public_slots().filter(pk=slot_id).first() if _NUMERIC_ID.match(slot_id) else None
    if slot is None:
        raise FhirError(404, "not-found", f"Slot/{slot_id} is not known.")
    return fhir_response(slot_resource(slot, _public_base(request), clinic_phones({slot.clinic_id})[slot.clinic_id]))


@fhir_view
def service_type_code_system(request: HttpRequest) -> HttpResponse:
    """The kinds of visit Schedules are coded with (:mod:`fhir.service_types`)."""
    check_params(request)
    return fhir_response(code_system())


# --- SMART Scheduling Links bulk publication -------------------------------------------------------


def _since(request: HttpRequest) -> dt.datetime | None:
    raw = request.GET.get("_since")
    return None if raw is None else parse_instant(raw)


def _bulk_url(request: HttpRequest, name: str, resource_type: str, since: dt.datetime | None, part: int = 1) -> str:
    """A file's absolute URL; a part after the first has its number in the name (the first keeps
    the URL the files had before they were split)."""
    query = f"?{urlencode({'_since': utc_instant(since)})}" if since else ""
    kwargs: dict[str, Any] = {"resource_type": resource_type}
    if part > 1:
        name, kwargs["part"] = f"{name}-part", part
    return request.build_absolute_uri(reverse(name, kwargs=kwargs)) + query


def _bulk_headers(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = f"public, max-age={getattr(settings, 'TIDBOK_BULK_PUBLISH_MAX_AGE', 60)}"
    return response


@fhir_view
def bulk_manifest(request: HttpRequest) -> HttpResponse:
    """The manifest of the files the worker last wrote; ``_since`` is passed on to the file URLs.

    With ``_since``, the manifest also lists, as FHIR Bulk Data defines for it, a ``deleted`` file
    of DELETE bundles for each type with a resource removed strictly after that instant (a slot
    booked for good, a type taken off a schedule, web booking turned off at a clinic, ...)."""
    from .bulk import refresh_later  # the bulk files are built with this module's builders

    check_params(request, {"_since"})
    since = _since(request)
    files = {f.resource_type: f for f in BulkPublishFile.objects.all()}
    if not set(BULK_RESOURCE_TYPES) <= set(files):
        refresh_later()
        response = outcome_response(503, "transient", "The published times are being prepared; try again shortly.")
        response["Retry-After"] = "60"
        return response
    # SMART's per-output extension: the regions (ISO 3166-2) whose clinics the files cover, so a
    # regional finder can skip what is not its own. Every file covers the clinics of the Locations.
    location_ids = [
        int(entry[0])
        for index in BulkPublishPart.objects.filter(file__resource_type="Location").values_list("index", flat=True)
        for entry in index
    ]
    codes = Clinic.objects.filter(pk__in=location_ids).values_list("region__code", flat=True).distinct()
    states = sorted({region_state(code) for code in codes})
    # Each stored part is an output of its type, in line order (FHIR Bulk Data allows several): a
    # Slot part's lines follow the previous part's in id order.
    parts = BulkPublishPart.objects.filter(file__in=files.values()).values_list("file__resource_type", "number")
    numbers: dict[str, list[int]] = {kind: [] for kind in BULK_RESOURCE_TYPES}
    for kind, number in parts.order_by("first_id", "number"):
        numbers[kind].append(number)
    output = [
        {"type": kind, "url": _bulk_url(request, "fhir:bulk-file", kind, since, part), "extension": {"state": states}}
        for kind in BULK_RESOURCE_TYPES
        for part in numbers[kind]
    ]
    body: dict[str, Any] = {
        "transactionTime": utc_instant(min(f.generated_at for f in files.values())),
        "request": request.build_absolute_uri(),
        "output": output,
        "error": [],
    }
    if since is not None:
        cutoff = utc_instant(since)
        body["deleted"] = [
            {"type": "Bundle", "url": _bulk_url(request, "fhir:bulk-deleted", kind, since)}
            for kind in BULK_RESOURCE_TYPES
            if any(t[1] > cutoff for t in files[kind].deleted)
        ]
    response = fhir_response(body)
    response["Content-Type"] = "application/json"
    return _bulk_headers(response)


def _stored_file(resource_type: str) -> BulkPublishFile:
    if resource_type not in BULK_RESOURCE_TYPES:
        raise FhirError(404, "not-found", f"There is no bulk file for {resource_type}.")
    stored = BulkPublishFile.objects.filter(resource_type=resource_type).first()
    if stored is None:
        raise FhirError(404, "not-found", "The published times are being prepared; try again shortly.")
    return stored


@gzip_page
@fhir_view
def bulk_file(request: HttpRequest, resource_type: str, part: str = "1") -> HttpResponse:
    """One stored part of a NDJSON file, as written; with ``_since``, only its lines changed
    strictly after that instant."""
    check_params(request, {"_since"})
    since = _since(request)
    stored = BulkPublishPart.objects.filter(file=_stored_file(resource_type), number=int(part)).first()
    if stored is None:
        # A part a longer file had: the manifest no longer lists it.
        raise FhirError(404, "not-found", f"There is no part {int(part)} of the bulk file for {resource_type}.")
    text = stored.ndjson
    if since is not None:
        cutoff = utc_instant(since)
        lines = text.splitlines()
        text = "".join(f"{line}\n" for line, entry in zip(lines, stored.index, strict=True) if entry[1] > cutoff)
    return _bulk_headers(HttpResponse(text, content_type=FHIR_NDJSON))


DELETED_PER_BUNDLE = 1000


@gzip_page
@fhir_view
def bulk_deleted(request: HttpRequest, resource_type: str) -> HttpResponse:
    """The resources of one type removed from the files (strictly) after ``_since``, or all the
    removals still kept without it: NDJSON of transaction Bundles whose entries are DELETE
    requests, as FHIR Bulk Data's ``deleted`` output."""
    check_params(request, {"_since"})
    since = _since(request)
    stored = _stored_file(resource_type)
    cutoff = utc_instant(since) if since else ""
    gone = sorted((t for t in stored.deleted if t[1] > cutoff), key=lambda t: (t[1], t[0]))
    lines = []
    for first in range(0, len(gone), DELETED_PER_BUNDLE):
        chunk = gone[first : first + DELETED_PER_BUNDLE]
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "meta": {"lastUpdated": chunk[-1][1]},
            "entry": [{"request": {"method": "DELETE", "url": f"{resource_type}/{t[0]}"}} for t in chunk],
        }
        lines.append(json.dumps(bundle, separators=(",", ":"), ensure_ascii=False))
    return _bulk_headers(HttpResponse("".join(f"{line}\n" for line in lines), content_type=FHIR_NDJSON))
