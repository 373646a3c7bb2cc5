"""Video visits in the clinic workspace and the staff API: the local admin marks a type as a video
visit and sets the address meeting links are made from (audited); a scheduler of the clinic sees a
booking's link and sets or replaces it (audited), with a clear message beside the field for a bad
one; no other role or clinic may (R-ACL-1, R-LOG-4)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Role
from clinics.models import AppointmentType

from ..factories import AppointmentTypeFactory, reloaded, staff
from ..workspace import flashed, login, text
from .conftest import TEMPLATE

pytestmark = pytest.mark.django_db


def _url(name: str, clinic, **kwargs) -> str:
    return reverse(f"workspace:{name}", kwargs={"clinic_id": clinic.pk, **kwargs})


def _api(clinic, rest: str) -> str:
    return f"/api/v1/staff/clinics/{clinic.pk}/{rest}"


# --- The local admin's pages and API ------------------------------------------------------------


def test_the_local_admin_sets_the_address_on_the_settings_page(client, local_admin, clinic):
    login(client, local_admin)
    page = client.get(_url("appointment_types", clinic))
    assert _url("video_settings", clinic) in page.content.decode()
    response = client.post(_url("video_settings", clinic), {"meeting_url_template": TEMPLATE})
    assert response.status_code == 302
    assert reloaded(clinic).meeting_url_template == TEMPLATE
    assert AuditEvent.objects.filter(action="clinic.meeting_template_update", actor=local_admin).count() == 1
    assert TEMPLATE in text(client.get(response.url))


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ("http://mote.region.example/{room}", "Adressen måste börja med https://"),
        ("https://mote.region.example/rum", "Skriv {room} i adressen"),
    ],
)
def test_a_bad_address_is_refused_beside_the_field_in_swedish(client, local_admin, clinic, posted, message):
    login(client, local_admin)
    response = client.post(_url("video_settings", clinic), {"meeting_url_template": posted})
    assert response.status_code == 400
    body = text(response)
    assert 'id="meeting_url_template_error"' in body and message in body
    assert 'href="#meeting_url_template"' in body  # the error summary links to the field
    assert f'value="{posted}"' in body
    assert reloaded(clinic).meeting_url_template == ""


def test_a_bad_address_is_refused_in_english(client, local_admin, clinic):
    login(client, local_admin)
    client.cookies["django_language"] = "en"
    response = client.post(_url("video_settings", clinic), {"meeting_url_template": "http://x.example/{room}"})
    assert "The address must begin with https://" in text(response)


def test_the_type_form_saves_the_video_flag(client, local_admin, clinic):
    login(client, local_admin)
    posted = {"internal_name": "Video läkare", "web_name": "Videobesök", "duration_minutes": "20"}
    response = client.post(_url("appointment_type_new", clinic), {**posted, "is_video_visit": "on"})
    assert response.status_code == 302, text(response)[:2000]
    saved = AppointmentType.objects.get(clinic=clinic, internal_name="Video läkare")
    assert saved.is_video_visit
    assert 'id="is_video_visit" name="is_video_visit" checked' in text(
        client.get(_url("appointment_type_edit", clinic, type_id=saved.pk))
    )


def test_the_admin_api_sets_the_address_and_a_types_video_flag(client, local_admin, clinic, appointment_type):
    login(client, local_admin)
    refused = client.put(
        _api(clinic, "video-settings/"), {"meeting_url_template": "https://x/"}, content_type="application/json"
    )
    assert refused.status_code == 400 and "meeting_url_template" in refused.json()["errors"]
    answer = client.put(_api(clinic, "video-settings/"), {"meeting_url_template": TEMPLATE}, "application/json")
    assert answer.status_code == 200 and answer.json() == {"meeting_url_template": TEMPLATE}
    assert client.get(_api(clinic, "video-settings/")).json()["meeting_url_template"] == TEMPLATE
    changed = client.patch(
        _api(clinic, f"appointment-types/{appointment_type.pk}/"), {"is_video_visit": True}, "application/json"
    )
    assert changed.status_code == 200 and changed.json()["is_video_visit"] is True
    assert reloaded(appointment_type).is_video_visit
    listed = client.get(_api(clinic, "appointment-types/")).json()
    assert [row["id"] for row in listed] == [appointment_type.pk]


@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.SUPPORT])
def test_other_roles_and_other_clinics_cannot_change_the_settings(client, clinic, other_clinic, role):
    login(client, staff(role, clinic))
    theirs = AppointmentTypeFactory(clinic=clinic)
    assert client.get(_api(clinic, "video-settings/")).status_code == 403
    assert (
        client.put(_api(clinic, "video-settings/"), {"meeting_url_template": TEMPLATE}, "application/json").status_code
        == 403
    )
    assert client.patch(_api(clinic, f"appointment-types/{theirs.pk}/"), {}, "application/json").status_code == 403
    assert client.get(_api(other_clinic, "video-settings/")).status_code == 404
    admin = staff(Role.LOCAL_ADMIN, other_clinic)
    client.logout()
    login(client, admin)
    assert (
        client.patch(
            _api(other_clinic, f"appointment-types/{theirs.pk}/"), {"is_video_visit": True}, "application/json"
        ).status_code
        == 404
    )
    assert not reloaded(theirs).is_video_visit and reloaded(clinic).meeting_url_template == ""


# --- The scheduler's booking page and API -------------------------------------------------------


def test_the_scheduler_sees_and_replaces_the_link_on_the_booking_page(client, scheduler, video_clinic, video_booking):
    login(client, scheduler)
    page = client.get(_url("booking_detail", video_clinic, booking_id=video_booking.pk))
    assert page.status_code == 200 and video_booking.meeting_url in text(page)
    new = "https://video.example.se/m/abc"
    response = client.post(
        _url("booking_meeting_link", video_clinic, booking_id=video_booking.pk), {"meeting_url": new}
    )
    assert response.status_code == 302
    assert reloaded(video_booking).meeting_url == new
    assert "Länken till videomötet är sparad." in flashed(client.get(response.url))
    assert AuditEvent.objects.filter(action="booking.meeting_link_set", actor=scheduler).count() == 1


def test_a_bad_link_is_refused_beside_the_field(client, scheduler, video_clinic, video_booking):
    login(client, scheduler)
    response = client.post(
        _url("booking_meeting_link", video_clinic, booking_id=video_booking.pk), {"meeting_url": "http://x.example.se"}
    )
    assert response.status_code == 400
    body = text(response)
    assert 'id="id_meeting_url_error"' in body and "Länken måste börja med https://" in body
    assert reloaded(video_booking).meeting_url == video_booking.meeting_url


def test_the_staff_api_reads_and_sets_the_link(client, scheduler, video_clinic, video_booking):
    login(client, scheduler)
    read = client.get(_api(video_clinic, f"bookings/{video_booking.pk}/"))
    assert read.json()["meeting_url"] == video_booking.meeting_url
    path = _api(video_clinic, f"bookings/{video_booking.pk}/meeting-link/")
    refused = client.put(path, {"meeting_url": "ftp://x"}, "application/json")
    assert refused.status_code == 400 and "meeting_url" in refused.json()["errors"]
    answer = client.put(path, {"meeting_url": "https://video.example.se/m/xyz"}, "application/json")
    assert answer.status_code == 200 and answer.json()["meeting_url"] == "https://video.example.se/m/xyz"
    assert AuditEvent.objects.filter(action="booking.meeting_link_set").count() == 1


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.LOCAL_ADMIN])
def test_other_roles_and_clinics_cannot_set_the_link(client, video_clinic, other_clinic, video_booking, role):
    path = _api(video_clinic, f"bookings/{video_booking.pk}/meeting-link/")
    login(client, staff(role, video_clinic))
    assert client.put(path, {"meeting_url": "https://evil.example/1"}, "application/json").status_code == 403
    client.logout()
    login(client, staff(Role.SCHEDULER, other_clinic))
    assert client.put(path, {"meeting_url": "https://evil.example/1"}, "application/json").status_code == 404
    elsewhere = _api(other_clinic, f"bookings/{video_booking.pk}/meeting-link/")
    assert client.put(elsewhere, {"meeting_url": "https://evil.example/1"}, "application/json").status_code == 404
    assert reloaded(video_booking).meeting_url == video_booking.meeting_url
