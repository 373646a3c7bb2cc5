"""The resident API: same services as the pages, one problem-details error shape, the
ownership rule (R-ACL-2), and the OpenAPI schema with self-hosted docs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from bookings.services import booking_create
from clinics.models import Audience, CaseKind, CaseType
from schedules.models import Hold, Slot, SlotStatus

from ..factories import AppointmentTypeFactory, ClinicFactory, SlotFactory, login_with_second_factor

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, resident):
    client.force_login(resident)
    return client


def problem_of(response) -> dict:
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = response.json()
    assert body["status"] == response.status_code
    return body


def test_schema_is_openapi_3_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert "/api/v1/bookings/" in schema.json()["paths"]
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn." not in html and "unpkg" not in html
    assert "/static/drf_spectacular_sidecar/" in html


def test_clinic_search_is_public_and_shows_the_case_types_that_admit_the_caller(client, clinic, resident):
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.MANAGE).update(audience=Audience.RELATED)

    anonymous = client.get("/api/v1/clinics/", {"q": "Solna"}).json()
    client.force_login(resident)
    card = client.get(f"/api/v1/clinics/{clinic.pk}/").json()

    assert [c["name"] for c in anonymous] == [clinic.name]
    assert [ct["kind"] for ct in card["case_types"]] == [CaseKind.BOOK]
    assert card["case_types"][0]["conditions"] == ["Avboka senast 24 timmar innan", "Ta med legitimation"]


def test_free_times_are_the_offered_slots_and_never_the_internal_name(api, clinic, appointment_type, slot):
    SlotFactory(appointment_type=appointment_type, resource=slot.resource, is_published=False)

    response = api.get(f"/api/v1/clinics/{clinic.pk}/free-times/", {"type": appointment_type.pk})
    types = api.get(f"/api/v1/clinics/{clinic.pk}/appointment-types/").json()

    assert response.status_code == 200
    assert [s["id"] for s in response.json()] == [slot.pk]
    assert types == [
        {
            "id": appointment_type.pk,
            "web_name": "Besök",
            "web_info": "Kom tio minuter innan.",
            "requires_booking_basis": False,
        }
    ]
    assert "Uppföljning" not in response.content.decode() + str(types)


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "type"), ({"type": "x"}, "type"), ({"type": 1, "date_from": "2026-13-01"}, "date_from")],
)
def test_bad_free_times_queries_are_400_problems(api, clinic, params, field):
    body = problem_of(api.get(f"/api/v1/clinics/{clinic.pk}/free-times/", params))

    assert body["status"] == 400 and body["code"] == "INVALID_INPUT"
    assert field in body["errors"]


def test_another_clinics_type_is_not_found(api, clinic, other_clinic):
    foreign = AppointmentTypeFactory(clinic=other_clinic)

    body = problem_of(api.get(f"/api/v1/clinics/{clinic.pk}/free-times/", {"type": foreign.pk}))

    assert body["code"] == "NOT_FOUND"


def test_resident_endpoints_need_a_logged_in_resident(client, scheduler):
    assert problem_of(client.get("/api/v1/bookings/"))["status"] == 403
    login_with_second_factor(client, scheduler)
    assert problem_of(client.get("/api/v1/bookings/"))["code"] == "PERMISSION_DENIED"


def test_hold_then_book_then_cancel_through_the_api(api, resident, slot):
    hold = api.post("/api/v1/holds/", {"slot": slot.pk}, content_type="application/json")
    assert hold.status_code == 201
    created = api.post(
        "/api/v1/bookings/", {"slot": slot.pk, "hold": hold.json()["id"]}, content_type="application/json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["appointment_type"] == "Besök" and body["actions"]["can_cancel"] is True
    assert [b["id"] for b in api.get("/api/v1/bookings/").json()] == [body["id"]]

    cancelled = api.post(f"/api/v1/bookings/{body['id']}/cancel/")

    assert cancelled.status_code == 204
    assert Booking.objects.get(pk=body["id"]).status == BookingStatus.CANCELLED


def test_a_taken_time_is_409_with_the_stable_code_and_nothing_is_written(api, resident, other_resident, slot):
    booking_create(resident=other_resident, slot_id=slot.pk)

    body = problem_of(api.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json"))

    assert body["status"] == 409 and body["code"] == "REQUESTED_TIME_IS_ALREADY_RESERVED"
    assert body["detail"]
    assert not Booking.objects.filter(resident=resident).exists()


def test_a_flag_that_forbids_the_action_is_403(api, resident, appointment_type, slot):
    appointment_type.cancellable_on_web = False
    appointment_type.save()
    booking = booking_create(resident=resident, slot_id=slot.pk)

    body = problem_of(api.post(f"/api/v1/bookings/{booking.pk}/cancel/"))

    assert body["status"] == 403 and body["code"] == "APPOINTMENT_IS_NOT_ALLOWED"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ACTIVE


@pytest.mark.parametrize(
    "payload",
    [{}, {"slot": "abc"}, {"slot": 10**12}, {"slot": -1, "hold": "x"}, {"slot": 1, "phone": "9" * 100}],
)
def test_bad_booking_input_never_writes_and_never_500s(api, resident, payload):
    response = api.post("/api/v1/bookings/", payload, content_type="application/json")

    assert response.status_code in (400, 404)
    assert problem_of(response)["code"] in ("INVALID_INPUT", "NOT_FOUND")
    assert not Booking.objects.exists()


def test_another_residents_objects_are_404_on_every_endpoint(api, other_resident, slot, appointment_type):
    theirs = booking_create(resident=other_resident, slot_id=slot.pk)
    free = SlotFactory(appointment_type=appointment_type, resource=slot.resource)
    their_hold = Hold.objects.create(
        slot=free, resident=other_resident, expires_at=timezone.now() + dt.timedelta(minutes=5)
    )
    Slot.objects.filter(pk=free.pk).update(status=SlotStatus.HELD)
    message = theirs.messages.create(resident=other_resident, clinic=slot.clinic, kind="info", subject="x", body="y")

    responses = [
        api.get(f"/api/v1/bookings/{theirs.pk}/"),
        api.post(f"/api/v1/bookings/{theirs.pk}/cancel/"),
        api.get(f"/api/v1/bookings/{theirs.pk}/rebook-candidates/"),
        api.post(f"/api/v1/bookings/{theirs.pk}/rebook/", {"slot": free.pk}, content_type="application/json"),
        api.delete(f"/api/v1/holds/{their_hold.pk}/"),
        api.post("/api/v1/bookings/", {"slot": free.pk, "hold": their_hold.pk}, content_type="application/json"),
        api.post(f"/api/v1/inbox/{message.pk}/read/"),
    ]

    assert [r.status_code for r in responses] == [404] * len(responses)
    theirs.refresh_from_db()
    their_hold.refresh_from_db()
    message.refresh_from_db()
    assert theirs.status == BookingStatus.ACTIVE and their_hold.state == "active" and message.read_at is None
    assert message.pk not in [m["id"] for m in api.get("/api/v1/inbox/").json()]


def test_unsafe_requests_with_a_session_need_the_csrf_token(resident, slot):
    client = Client(enforce_csrf_checks=True)
    client.force_login(resident)

    body = problem_of(client.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json"))

    assert body["status"] == 403
    assert not Booking.objects.exists()


def test_rebook_through_the_api_moves_the_booking(api, resident, appointment_type, slot):
    booking = booking_create(resident=resident, slot_id=slot.pk)
    later = SlotFactory(appointment_type=appointment_type, resource=slot.resource)
    ClinicFactory()  # unrelated clinic, nothing of it must show up

    candidates = api.get(f"/api/v1/bookings/{booking.pk}/rebook-candidates/").json()
    moved = api.post(f"/api/v1/bookings/{booking.pk}/rebook/", {"slot": later.pk}, content_type="application/json")

    assert [c["id"] for c in candidates] == [later.pk]
    assert moved.status_code == 201
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REBOOKED


def test_a_retried_booking_with_the_same_idempotency_key_books_once(api, resident, slot):
    headers = {"HTTP_IDEMPOTENCY_KEY": "retry-7f3a"}
    first = api.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json", **headers)
    second = api.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json", **headers)

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Booking.objects.filter(resident=resident).count() == 1


def test_a_refusal_is_replayed_too_and_a_reused_key_for_another_request_is_422(api, resident, other_resident, slot):
    booking_create(resident=other_resident, slot_id=slot.pk)
    headers = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    first = api.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json", **headers)
    again = api.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json", **headers)
    other = api.post("/api/v1/bookings/", {"slot": slot.pk + 1}, content_type="application/json", **headers)

    assert problem_of(first)["code"] == problem_of(again)["code"] == "REQUESTED_TIME_IS_ALREADY_RESERVED"
    assert problem_of(other)["status"] == 422
    assert not Booking.objects.filter(resident=resident).exists()


def test_the_schema_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    # --fail-on-warn turns any schema warning (an undocumented field, a guessed type) into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert "Idempotency-Key" in (tmp_path / "schema.yaml").read_text()


def test_booking_posts_are_rate_limited_per_resident_with_retry_after(api, settings, resident, appointment_type, slot):
    settings.TIDBOK_RATE_LIMITS = {**settings.TIDBOK_RATE_LIMITS, "booking_user": "3/min"}
    free = [SlotFactory(appointment_type=appointment_type, resource=slot.resource) for _ in range(4)]

    answers = [api.post("/api/v1/holds/", {"slot": s.pk}, content_type="application/json") for s in free]

    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert problem_of(answers[-1])["code"] == "TOO_MANY_REQUESTS"
    assert api.get("/api/v1/bookings/").status_code == 200  # reading is not limited


def test_booking_posts_are_rate_limited_per_address_across_residents(settings, slot, appointment_type):
    from ..factories import ResidentFactory

    settings.TIDBOK_RATE_LIMITS = {**settings.TIDBOK_RATE_LIMITS, "booking_address": "2/min"}
    answers = []
    for _ in range(3):
        client = Client(REMOTE_ADDR="10.1.2.3")
        client.force_login(ResidentFactory())
        free = SlotFactory(appointment_type=appointment_type, resource=slot.resource)
        answers.append(client.post("/api/v1/holds/", {"slot": free.pk}, content_type="application/json").status_code)

    assert answers == [201, 201, 429]


def test_past_the_site_booking_rate_new_bookings_get_503_with_retry_after_and_change_nothing(
    settings, slot, appointment_type
):
    """Overload: beyond the site's admission rate a booking is turned away at once (503 with
    Retry-After, in Swedish) instead of queueing until it times out, and nothing is written."""
    from ..factories import ResidentFactory

    settings.TIDBOK_RATE_LIMITS = {**settings.TIDBOK_RATE_LIMITS, "booking_site": "2/min"}
    answers = []
    for _ in range(3):
        client = Client()
        client.force_login(ResidentFactory())
        free = SlotFactory(appointment_type=appointment_type, resource=slot.resource)
        answers.append(client.post("/api/v1/bookings/", {"slot": free.pk}, content_type="application/json"))

    assert [a.status_code for a in answers] == [201, 201, 503]
    assert int(answers[-1]["Retry-After"]) > 0
    body = problem_of(answers[-1])
    assert body["code"] == "SERVICE_BUSY"
    assert "Många bokar just nu" in body["detail"]
    assert Booking.objects.filter(status=BookingStatus.ACTIVE).count() == 2


def test_cancellations_are_never_turned_away_by_the_site_booking_rate(settings, appointment_type, slot):
    """In a rush a resident can still give a time back: cancelling is not counted."""
    from ..factories import ResidentFactory

    resident = ResidentFactory()
    bookings = [
        booking_create(
            resident=resident, slot_id=SlotFactory(appointment_type=appointment_type, resource=slot.resource).pk
        )
        for _ in range(3)
    ]
    settings.TIDBOK_RATE_LIMITS = {**settings.TIDBOK_RATE_LIMITS, "booking_site": "1/min"}
    client = Client()
    client.force_login(resident)
    assert client.post("/api/v1/holds/", {"slot": slot.pk}, content_type="application/json").status_code == 201
    assert client.post("/api/v1/holds/", {"slot": slot.pk}, content_type="application/json").status_code == 503

    cancelled = [client.post(f"/api/v1/bookings/{b.pk}/cancel/").status_code for b in bookings]

    assert cancelled == [204, 204, 204]


def test_staff_login_attempts_are_limited_per_account_and_per_address(client, settings, scheduler):
    settings.ACCOUNT_RATE_LIMITS = {"login": "6/m/ip", "login_failed": "3/5m/key"}
    scheduler.set_password("the-right-password-1")
    scheduler.save()
    for attempt in range(3):
        client.post("/accounts/login/", {"login": scheduler.email, "password": f"wrong-{attempt}"})

    # Per account (from this address, R-SEC-5): after three failures even the right password is
    # refused for a while, with 429 and Retry-After.
    blocked = client.post("/accounts/login/", {"login": scheduler.email, "password": "the-right-password-1"})
    assert "_auth_user_id" not in client.session
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0

    # Per address: the seventh attempt within a minute is turned away with 429 and Retry-After.
    for _ in range(2):
        client.post("/accounts/login/", {"login": "someone@example.se", "password": "x"})
    turned_away = client.post("/accounts/login/", {"login": "other@example.se", "password": "x"})
    assert turned_away.status_code == 429
    assert int(turned_away["Retry-After"]) > 0


def test_an_app_gets_a_token_with_the_eid_session_and_uses_it_without_cookies(api, resident, slot):
    token = api.post("/api/v1/auth/token/").json()["token"]
    app = Client()  # no session, no CSRF cookie: a phone app

    listed = app.get("/api/v1/bookings/", HTTP_AUTHORIZATION=f"Bearer {token}")
    booked = app.post(
        "/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    api.delete("/api/v1/auth/token/")
    revoked = app.get("/api/v1/bookings/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert listed.status_code == 200
    assert booked.status_code == 201 and Booking.objects.get().resident == resident
    assert problem_of(revoked)["status"] in (401, 403)


def test_stored_idempotent_answers_are_purged_after_a_day(api, resident, slot):
    from bookings.tasks import idempotency_purge
    from core.models import IdempotencyRecord

    api.post("/api/v1/bookings/", {"slot": slot.pk}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="a")
    api.post(f"/api/v1/bookings/{slot.bookings.get().pk}/cancel/", HTTP_IDEMPOTENCY_KEY="b")
    IdempotencyRecord.objects.filter(key="a").update(created_at=timezone.now() - dt.timedelta(days=1, seconds=1))

    assert idempotency_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["b"]
