"""The project's value set for a Schedule's ``serviceType``: a short list of kinds of visit a
Swedish slot finder can group by, whatever each clinic calls its types on the web.

A type's web name is mapped by the first keyword it contains (case-insensitive); a region may
put its own keywords first (``TIDBOK_FHIR_SERVICE_TYPES``: ``{region code: [[keyword, code],
...]}``), e.g. a local name for a kind of visit. What matches nothing is ``besok`` (a visit).
The web name itself is always sent as the text beside the code."""

from __future__ import annotations

from typing import Any

from django.conf import settings

SERVICE_TYPE_SYSTEM = "https://tidbok.se/fhir/CodeSystem/service-type"

# code: (Swedish display, English definition)
CODES: dict[str, tuple[str, str]] = {
    "lakarbesok": ("Läkarbesök", "A visit to a doctor."),
    "sjukskoterskebesok": ("Sjuksköterskebesök", "A visit to a nurse."),
    "vaccination": ("Vaccination", "A vaccination."),
    "provtagning": ("Provtagning", "Samples: blood tests and other tests."),
    "halsokontroll": ("Hälsokontroll", "A health check."),
    "fysioterapi": ("Fysioterapi", "Physiotherapy."),
    "samtal": ("Samtalsbehandling", "A psychologist, counsellor or therapist."),
    "barnhalsovard": ("Barnhälsovård", "Child health care."),
    "telefon": ("Telefontid", "A call from the clinic at the booked time."),
    "video": ("Videobesök", "A video visit."),
    "besok": ("Besök", "Any other visit."),
}
DEFAULT_CODE = "besok"

# Checked in order: a remote visit is that first, whoever it is with.
KEYWORDS: list[tuple[str, str]] = [
    ("video", "video"),
    ("digital", "video"),
    ("telefon", "telefon"),
    ("vaccin", "vaccination"),
    ("prov", "provtagning"),
    ("labb", "provtagning"),
    ("hälsokontroll", "halsokontroll"),
    ("hälsosamtal", "halsokontroll"),
    ("bvc", "barnhalsovard"),
    ("barnhälsovård", "barnhalsovard"),
    ("fysio", "fysioterapi"),
    ("sjukgymnast", "fysioterapi"),
    ("psykolog", "samtal"),
    ("kurator", "samtal"),
    ("terapeut", "samtal"),
    ("samtal", "samtal"),
    ("läkare", "lakarbesok"),
    ("doktor", "lakarbesok"),
    ("sjuksköterska", "sjukskoterskebesok"),
    ("sköterska", "sjukskoterskebesok"),
    ("ssk", "sjukskoterskebesok"),
]


def code_for(web_name: str, region_code: str = "") -> str:
    regional = getattr(settings, "TIDBOK_FHIR_SERVICE_TYPES", {}).get(region_code, [])
    name = web_name.casefold()
    for keyword, code in [*regional, *KEYWORDS]:
        if code in CODES and keyword.casefold() in name:
            return code
    return DEFAULT_CODE


def service_type(web_name: str, region_code: str = "") -> dict[str, Any]:
    """A CodeableConcept: the project code and the clinic's own web name as its text."""
    code = code_for(web_name, region_code)
    return {"coding": [{"system": SERVICE_TYPE_SYSTEM, "code": code, "display": CODES[code][0]}], "text": web_name}


def code_system() -> dict[str, Any]:
    """The value set as a CodeSystem resource, for aggregators to read."""
    return {
        "resourceType": "CodeSystem",
        "id": "service-type",
        "url": SERVICE_TYPE_SYSTEM,
        "name": "TidbokServiceType",
        "title": "Tidbok: kinds of visit",
        "status": "active",
        "content": "complete",
        "caseSensitive": True,
        "count": len(CODES),
        "concept": [
            {"code": code, "display": display, "definition": definition}
            for code, (display, definition) in CODES.items()
        ],
    }
