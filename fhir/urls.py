"""/fhir/r4/: FHIR R4 reads and the SMART Scheduling Links bulk publication. A trailing slash is
accepted; anything else under the prefix is a FHIR "not found", never an HTML page."""

from django.urls import re_path

from . import appointments, operations
from . import views as fhir

app_name = "fhir"

_ID = r"(?P<{}>[A-Za-z0-9\-\.]{{1,64}})"

urlpatterns = [
    re_path(r"^metadata/?$", fhir.metadata, name="metadata"),
    re_path(r"^Location/?$", fhir.location_search, name="location-search"),
    re_path(rf"^Location/{_ID.format('location_id')}/?$", fhir.location_read, name="location-read"),
    re_path(r"^Schedule/?$", fhir.schedule_search, name="schedule-search"),
    re_path(rf"^Schedule/{_ID.format('schedule_id')}/?$", fhir.schedule_read, name="schedule-read"),
    re_path(r"^Slot/?$", fhir.slot_search, name="slot-search"),
    re_path(rf"^Slot/{_ID.format('slot_id')}/?$", fhir.slot_read, name="slot-read"),
    re_path(r"^CodeSystem/service-type/?$", fhir.service_type_code_system, name="service-type-code-system"),
    re_path(r"^Appointment/\$hold/?$", operations.AppointmentHold.as_view(), name="appointment-hold"),
    re_path(r"^Appointment/\$book/?$", operations.AppointmentBook.as_view(), name="appointment-book"),
    re_path(
        rf"^Appointment/{_ID.format('appointment_id')}/\$cancel/?$",
        operations.AppointmentCancel.as_view(),
        name="appointment-cancel",
    ),
    re_path(
        rf"^Appointment/{_ID.format('appointment_id')}/\$rebook/?$",
        operations.AppointmentRebook.as_view(),
        name="appointment-rebook",
    ),
    re_path(r"^Appointment/?$", appointments.appointment_search, name="appointment-search"),
    re_path(rf"^Appointment/{_ID.format('appointment_id')}/?$", appointments.appointment_read, name="appointment-read"),
    re_path(r"^\$bulk-publish/?$", fhir.bulk_manifest, name="bulk-publish"),
    re_path(r"^\$bulk-publish/(?P<resource_type>[A-Za-z]+)\.ndjson$", fhir.bulk_file, name="bulk-file"),
    re_path(
        r"^\$bulk-publish/(?P<resource_type>[A-Za-z]+)\.(?P<part>[0-9]{1,6})\.ndjson$",
        fhir.bulk_file,
        name="bulk-file-part",
    ),
    re_path(r"^\$bulk-publish/deleted/(?P<resource_type>[A-Za-z]+)\.ndjson$", fhir.bulk_deleted, name="bulk-deleted"),
    re_path(r"^", fhir.not_found),
]
