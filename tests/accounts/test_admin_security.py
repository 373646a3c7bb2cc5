"""R-SEC-1 (the Django admin behind the workspace's own login and second factor, audited,
bookings and slots read-only there) and R-SEC-2 (a staff session counts only after its own
second factor)."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter

import pytest
from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.contrib import admin
from django.urls import reverse

from accounts.models import AuditEvent, Role, User
from bookings.models import (
    Attendance,
    AttendanceState,
    Booking,
    BookingBasis,
    InboxMessage,
    WaitlistEntry,
    WaitlistOffer,
    WebBookingLogEntry,
)
from bookings.services import booking_create
from clinics.models import ClinicRelation, RelationSource, Resource
from schedules.models import Block, Hold, Schedule, Slot
from schedules.services import hold_create
from tidbok import api_urls

from ..factories import (
    STAFF_TOTP_SECRET,
    ClinicFactory,
    ResidentFactory,
    SlotFactory,
    login_with_second_factor,
    staff,
)
from ..test_workspace_acl import World, workspace_patterns

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-admin-password-2026"


@pytest.fixture
def superuser(db) -> User:
    user = User.objects.create_superuser("root", "root@tidbok.test", PASSWORD)
    TOTP.activate(user, STAFF_TOTP_SECRET)
    return user


def current_code() -> str:
    if time.time() % 30 > 27:  # never type a code that is about to change
        time.sleep(30 - time.time() % 30 + 0.2)
    return format_hotp_value(hotp_value(STAFF_TOTP_SECRET, int(time.time()) // 30))


def password_only_session(client, user: User) -> None:
    """A session that is logged in and whose record shows the password, but no second factor."""
    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [{"method": "password", "at": time.time(), "email": user.email}]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()


# --- R-SEC-1: no admin login of its own ---------------------------------------------------------


def test_the_admin_login_form_never_accepts_a_password(client, superuser):
    for attempt in range(15):
        response = client.post("/admin/login/", {"username": "root", "password": PASSWORD if attempt == 14 else "x"})
        # Sent to the staff login; the password posted here is not even read.
        assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").url.startswith("/admin/login/")


def test_the_admin_login_sends_to_the_staff_login_and_back(client):
    response = client.get("/admin/login/?next=/admin/bookings/booking/")

    assert response.status_code == 302
    assert response.url == reverse("account_login") + "?next=%2Fadmin%2Fbookings%2Fbooking%2F"
    # Only a path on this site is passed on.
    assert client.get("/admin/login/?next=https://evil.example/").url.endswith("?next=%2Fadmin%2F")


def test_password_and_totp_through_the_staff_login_open_the_admin(client, superuser):
    client.post(reverse("account_login"), {"login": superuser.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session  # the second factor is still due
    client.post(reverse("mfa_authenticate"), {"code": current_code()})

    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("how", ["force_login", "password_only"])
def test_a_superuser_without_this_sessions_second_factor_cannot_open_the_admin(client, superuser, how):
    if how == "force_login":
        client.force_login(superuser)
    else:
        password_only_session(client, superuser)

    for path in ("/admin/", "/admin/accounts/user/", "/admin/bookings/booking/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.url.startswith(reverse("mfa_reauthenticate")), path

    # Entering the code in this session opens it.
    client.post(reverse("mfa_reauthenticate"), {"code": current_code()})
    assert client.get("/admin/").status_code == 200


def test_an_admin_site_check_does_not_rely_on_the_middleware(rf, superuser):
    """has_permission itself asks for the session's second factor (R-SEC-1), so the admin stays
    closed even if the middleware were left out."""
    from django.contrib.sessions.backends.db import SessionStore

    request = rf.get("/admin/")
    request.user = superuser
    request.session = SessionStore()

    assert admin.site.has_permission(request) is False


def test_a_workspace_staff_member_who_is_not_an_admin_is_refused(client, clinic):
    scheduler = staff(Role.SCHEDULER, clinic)
    login_with_second_factor(client, scheduler)

    # The admin's own check sends to its login, which refuses a properly logged-in non-admin.
    assert client.get("/admin/", follow=True).status_code == 403


# --- R-SEC-1: audited, read-only ---------------------------------------------------------------


@pytest.fixture
def booked(clinic, appointment_type, resource):
    residents = [ResidentFactory(), ResidentFactory()]
    slots = [SlotFactory(appointment_type=appointment_type, resource=resource) for _ in residents]
    return [booking_create(resident=r, slot_id=s.pk) for r, s in zip(residents, slots, strict=True)]


def test_admin_pages_with_residents_on_them_are_audited(client, superuser, booked):
    login_with_second_factor(client, superuser)
    AuditEvent.objects.all().delete()

    assert client.get("/admin/bookings/booking/").status_code == 200
    listed = AuditEvent.objects.filter(actor=superuser, action="admin.list")
    assert Counter(e.resident_id for e in listed) == Counter(b.resident_id for b in booked)
    assert {e.clinic_id for e in listed} == {booked[0].clinic_id}
    assert all(e.role == "superuser" and "bookings.Booking" in e.detail for e in listed)

    booking = booked[0]
    assert client.get(f"/admin/bookings/booking/{booking.pk}/change/").status_code == 200
    read = AuditEvent.objects.get(actor=superuser, action="admin.read")
    assert read.resident_id == booking.resident_id

    AuditEvent.objects.all().delete()
    assert client.get("/admin/accounts/user/").status_code == 200
    shown = set(AuditEvent.objects.filter(action="admin.list").values_list("resident_id", flat=True))
    assert shown == {b.resident_id for b in booked}  # residents only, not the superuser's own row
    assert client.get(f"/admin/accounts/user/{booking.resident_id}/change/").status_code == 200
    assert AuditEvent.objects.filter(action="admin.read", resident_id=booking.resident_id).count() == 1

    # The web booking log lists the same residents: each page read is recorded again.
    AuditEvent.objects.all().delete()
    assert client.get("/admin/bookings/webbookinglogentry/").status_code == 200
    assert AuditEvent.objects.filter(action="admin.list").count() == len(booked)


def test_attendance_marks_in_the_admin_are_audited_by_resident_and_clinic(client, superuser, booked, scheduler):
    """R-ATT-1, R-LOG-4: a mark names its booking's resident, so its admin pages are on record."""
    booking = booked[0]
    Attendance.objects.create(
        booking=booking, state=AttendanceState.ARRIVED, marked_at=booking.start, marked_by=scheduler
    )
    login_with_second_factor(client, superuser)
    AuditEvent.objects.all().delete()

    assert client.get("/admin/bookings/attendance/").status_code == 200
    listed = AuditEvent.objects.get(actor=superuser, action="admin.list")
    assert (listed.resident_id, listed.clinic_id) == (booking.resident_id, booking.clinic_id)
    assert client.get(f"/admin/bookings/attendance/{booking.pk}/change/").status_code == 200
    assert AuditEvent.objects.get(actor=superuser, action="admin.read").resident_id == booking.resident_id


def test_an_admin_page_without_residents_records_nothing(client, superuser, clinic):
    login_with_second_factor(client, superuser)
    AuditEvent.objects.all().delete()

    assert client.get("/admin/clinics/clinic/").status_code == 200
    assert client.get("/admin/schedules/slot/").status_code == 200
    assert not AuditEvent.objects.exists()


@pytest.fixture
def one_of_each(booked, clinic, appointment_type, resource, scheduler):
    """A row of every model the admin only shows, beside the bookings."""
    resident = booked[0].resident
    start = booked[0].start + dt.timedelta(days=7)
    Schedule.objects.create(
        clinic=clinic,
        resource=resource,
        appointment_type=appointment_type,
        weekdays=[1],
        start_date=start.date(),
        end_date=start.date(),
        day_start=dt.time(8),
        day_end=dt.time(9),
        slot_minutes=30,
        created_by=scheduler,
    )
    Block.objects.create(clinic=clinic, resource=resource, start=start, end=start + dt.timedelta(hours=1))
    hold_create(resident=resident, slot_id=SlotFactory(appointment_type=appointment_type, resource=resource).pk)
    BookingBasis.objects.create(clinic=clinic, resident=resident, appointment_type=appointment_type)
    entry = WaitlistEntry.objects.create(clinic=clinic, resident=resident, appointment_type=appointment_type)
    offered = SlotFactory(appointment_type=appointment_type, resource=resource, start=start + dt.timedelta(hours=2))
    WaitlistOffer.objects.create(entry=entry, slot=offered, token="admin-test-token", expires_at=start)
    InboxMessage.objects.create(clinic=clinic, resident=resident, kind="info", subject="Hej", body="Hej")
    Attendance.objects.create(
        booking=booked[0], state=AttendanceState.NO_SHOW, marked_at=booked[0].start, marked_by=scheduler
    )
    ClinicRelation.objects.get_or_create(
        clinic=clinic, resident=resident, defaults={"source": RelationSource.START_PAGE, "on_start_page": True}
    )


READ_ONLY_IN_THE_ADMIN = [
    Booking,
    Slot,
    Hold,
    WebBookingLogEntry,
    # A change here would bypass the no-overlap rule (R-OPS-6) and the slots a block marks.
    Schedule,
    Block,
    BookingBasis,
    WaitlistEntry,
    InboxMessage,
    ClinicRelation,
    WaitlistOffer,
    # A mark changes only on its day and through reception's pages (R-ATT-1).
    Attendance,
]


@pytest.mark.parametrize("model", READ_ONLY_IN_THE_ADMIN)
def test_rows_that_change_only_through_services_are_read_only_in_the_admin(client, superuser, one_of_each, model):
    login_with_second_factor(client, superuser)
    model_admin = admin.site._registry[model]
    request = client.get("/admin/").wsgi_request
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)

    prefix = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    assert client.get(f"{prefix}add/").status_code == 403
    obj = model.objects.first()
    assert obj is not None
    before = model.objects.count()
    assert client.post(f"{prefix}{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    changed = client.post(f"{prefix}{obj.pk}/change/", {})
    assert changed.status_code in (200, 403)  # a view-only page; nothing is saved
    assert model.objects.count() == before
    assert "delete_selected" not in client.get(prefix).content.decode()


def test_no_admin_search_takes_a_personnummer(superuser):
    """The admin's search is a GET query: a personnummer never goes in a URL (R-SEC-3)."""
    for model, model_admin in admin.site._registry.items():
        fields = model_admin.search_fields or ()
        # A resident's username is "pnr-" and the number.
        assert not [f for f in fields if "personnummer" in f or "username" in f or f == "uid"], model


@pytest.mark.parametrize("typed", ["pnr", "pnr-1985", "1985", "0314", "1234"])
def test_no_part_of_a_residents_username_finds_the_resident(client, superuser, typed):
    resident = ResidentFactory(personnummer="198503141234", username="pnr-198503141234", last_name="Lind")
    login_with_second_factor(client, superuser)

    for path in ("/admin/accounts/user/", "/admin/account/emailaddress/", "/admin/authtoken/tokenproxy/"):
        response = client.get(path, {"q": typed})
        assert response.status_code == 200, path
        assert resident.personnummer_display not in response.content.decode(), path
    assert resident.username not in client.get("/admin/accounts/user/", {"q": typed}).content.decode()


def test_membership_autocomplete_never_lists_residents(client, superuser, resident):
    login_with_second_factor(client, superuser)
    url = reverse("admin:autocomplete")
    params = {"app_label": "accounts", "model_name": "membership", "field_name": "user", "term": ""}

    found = client.get(url, params).json()["results"]

    assert str(resident.pk) not in {item["id"] for item in found}
    assert str(superuser.pk) in {item["id"] for item in found}


# --- R-SEC-2: every staff page and the staff API ----------------------------------------------


@pytest.fixture
def world(db):
    return World()


@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.SUPPORT, Role.LOCAL_ADMIN, Role.REGION_IT])
@pytest.mark.parametrize("how", ["force_login", "password_only"])
def test_a_staff_session_without_its_second_factor_is_sent_to_it_on_every_staff_page(client, world, role, how):
    user = staff(role, world.clinic)
    TOTP.activate(user, STAFF_TOTP_SECRET)  # enrolled, but this session never used it
    if how == "force_login":
        client.force_login(user)
    else:
        password_only_session(client, user)

    for name, params in workspace_patterns():
        url = world.url(name, params, world.clinic)
        for response in (client.get(url), client.post(url)):
            assert response.status_code == 302, url
            assert response.url.startswith(reverse("mfa_reauthenticate")), url

    for url in staff_api_urls(world):
        for refused in (client.get(url), client.post(url, {}, content_type="application/json")):
            assert refused.status_code == 403, url
            assert refused["Content-Type"] == "application/problem+json"
            assert refused.json()["code"] == "SECOND_FACTOR_REQUIRED"


def staff_api_urls(world) -> list[str]:
    """Every operation of the staff API, with the ids of the world's own clinic."""
    ids = world.objects[world.clinic.pk]
    urls = [
        "/api/" + re.sub(r"<int:(\w+)>", lambda m: str(ids[m.group(1)]), str(pattern.pattern))
        for pattern in api_urls.urlpatterns
        if str(pattern.pattern).startswith("v1/staff/")
    ]
    assert len(urls) >= 10
    return urls


@pytest.mark.parametrize(("language", "title"), [("sv", "Andra faktorn krävs"), ("en", "Second factor required")])
def test_the_staff_api_refusal_speaks_the_chosen_language(client, clinic, settings, language, title):
    user = staff(Role.SCHEDULER, clinic)
    TOTP.activate(user, STAFF_TOTP_SECRET)
    password_only_session(client, user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    refused = client.get(f"/api/v1/staff/clinics/{clinic.pk}/slots/")

    assert refused.status_code == 403 and refused.json()["title"] == title


def test_another_users_second_factor_record_does_not_count(client, clinic):
    """The session's records name the user they were made for."""
    first, second = staff(Role.SUPPORT, clinic), staff(Role.SUPPORT, clinic)
    TOTP.activate(second, STAFF_TOTP_SECRET)
    login_with_second_factor(client, first)
    session = client.session
    records = session[AUTHENTICATION_METHODS_SESSION_KEY]
    client.force_login(second)  # a new session; carry the first user's records over
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = records
    session["account_authentication_methods_user"] = str(first.pk)
    session.save()

    assert client.get(reverse("workspace:picker")).url.startswith(reverse("mfa_reauthenticate"))


def test_after_the_code_the_same_session_reaches_its_pages(client, clinic):
    user = staff(Role.SCHEDULER, clinic)
    TOTP.activate(user, STAFF_TOTP_SECRET)
    password_only_session(client, user)
    target = reverse("workspace:clinic", args=[clinic.pk])
    sent = client.get(target)

    done = client.post(sent.url, {"code": current_code()})

    assert done.status_code == 302 and done.url == target
    assert client.get(target).status_code == 200
    assert client.get(f"/api/v1/staff/clinics/{clinic.pk}/slots/").status_code == 200


def test_an_app_token_of_a_staff_member_never_reaches_the_staff_api(clinic):
    """A token made for a staff account (the admin can make one) skips the browser's second
    factor, so the staff API refuses it (R-SEC-2)."""
    from django.test import Client
    from rest_framework.authtoken.models import Token

    scheduler = staff(Role.SCHEDULER, clinic)
    TOTP.activate(scheduler, STAFF_TOTP_SECRET)
    token = Token.objects.create(user=scheduler)

    refused = Client().get(f"/api/v1/staff/clinics/{clinic.pk}/slots/", HTTP_AUTHORIZATION=f"Bearer {token.key}")

    assert refused.status_code == 403
    assert refused.json()["code"] == "PERMISSION_DENIED"


def test_without_its_second_factor_a_session_cannot_change_the_password_or_e_mail(client, clinic):
    user = staff(Role.SUPPORT, clinic)
    TOTP.activate(user, STAFF_TOTP_SECRET)
    password_only_session(client, user)

    for path in ("/accounts/password/change/", "/accounts/email/"):
        response = client.get(path)
        assert response.status_code == 302 and response.url.startswith(reverse("mfa_reauthenticate")), path
    # The second-factor step itself and logging out stay open.
    assert client.get(reverse("mfa_reauthenticate")).status_code == 200
    assert client.post(reverse("account_logout")).status_code == 302


def test_each_reauthentication_page_asks_for_its_own_proof(client, clinic):
    """The password and the authenticator-code confirmations share one page (templates/_reauthenticate.html);
    each asks for its own proof and posts it to its own address."""
    by_password = staff(Role.SCHEDULER, clinic)
    password_only_session(client, by_password)
    page = client.get(reverse("account_reauthenticate"))
    assert page.status_code == 200
    assert f'<form method="post" action="{reverse("account_reauthenticate")}" novalidate>' in page.content.decode()
    assert 'type="password" name="password"' in page.content.decode()

    by_code = staff(Role.SCHEDULER, clinic)
    TOTP.activate(by_code, STAFF_TOTP_SECRET)
    password_only_session(client, by_code)
    page = client.get(reverse("mfa_reauthenticate"))
    assert page.status_code == 200
    assert f'<form method="post" action="{reverse("mfa_reauthenticate")}" novalidate>' in page.content.decode()
    assert 'name="code"' in page.content.decode() and 'name="password"' not in page.content.decode()


FACTOR_MANAGEMENT_PAGES = [
    "account_reauthenticate",  # the password-only check that opens the pages below
    "mfa_index",
    "mfa_activate_totp",
    "mfa_deactivate_totp",
    "mfa_add_webauthn",
    "mfa_list_webauthn",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
]


def test_a_session_that_never_used_the_factor_cannot_remove_or_add_one(client, clinic):
    """R-SEC-2: the account has a factor (set up in another session); this session knows only
    the password. It may not reach the pages that remove the factor or add one of its own, nor
    the password-only reauthentication before them: only the factor step and logging out."""
    user = staff(Role.SCHEDULER, clinic)
    user.set_password(PASSWORD)
    user.save()
    TOTP.activate(user, STAFF_TOTP_SECRET)
    password_only_session(client, user)

    for name in FACTOR_MANAGEMENT_PAGES:
        for response in (client.get(reverse(name)), client.post(reverse(name), {"password": PASSWORD})):
            assert response.status_code == 302, name
            assert response.url.startswith(reverse("mfa_reauthenticate")), name
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert client.get(reverse("workspace:picker")).url.startswith(reverse("mfa_reauthenticate"))
    assert client.get(reverse("mfa_reauthenticate")).status_code == 200


def enrol(request, user: User, kind: str) -> None:
    """Save a new factor for ``user`` as allauth does, inside ``request``."""
    from allauth.core import context

    with context.request_context(request):
        Authenticator.objects.create(user=user, type=kind, data={})


@pytest.mark.parametrize("kind", [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN])
def test_only_the_accounts_first_factor_counts_as_passed_when_it_is_set_up(rf, client, clinic, kind):
    from accounts.mfa import session_passed_second_factor

    newcomer, veteran = staff(Role.SCHEDULER, clinic), staff(Role.SCHEDULER, clinic)
    other_kind = Authenticator.Type.WEBAUTHN if kind == Authenticator.Type.TOTP else Authenticator.Type.TOTP
    Authenticator.objects.create(user=veteran, type=other_kind, data={})  # set up in another session
    for user in (newcomer, veteran):
        password_only_session(client, user)
        request = rf.get("/")
        request.user, request.session = user, client.session
        enrol(request, user, kind)
        # The newcomer proved the factor they just set up; the veteran's session has not
        # used the factor the account already had.
        assert session_passed_second_factor(request) is (user == newcomer), user


def test_a_staff_member_without_a_factor_sets_one_up_and_reaches_the_workspace(client, clinic):
    """First login: password only, no factor yet. The set-up pages stay open, and the factor
    set up in this session counts as passed (R-AUTH-2)."""
    user = staff(Role.SCHEDULER, clinic)
    user.set_password(PASSWORD)
    user.save()
    password_only_session(client, user)
    assert client.get(reverse("workspace:picker")).url == reverse("mfa_index")

    assert client.get(reverse("mfa_index")).status_code == 200
    reauthenticated = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert reauthenticated.status_code == 302 and not reauthenticated.url.startswith(reverse("mfa_reauthenticate"))
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    secret = client.session["mfa.totp.secret"]
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    activated = client.post(reverse("mfa_activate_totp"), {"code": code})

    assert activated.status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert client.get(reverse("workspace:clinic", args=[clinic.pk])).status_code == 200


def test_the_delete_selected_confirmation_over_all_pages_is_audited(client, superuser, monkeypatch):
    residents = [ResidentFactory(), ResidentFactory()]
    monkeypatch.setattr(admin.site._registry[User], "list_per_page", 1)
    login_with_second_factor(client, superuser)
    AuditEvent.objects.all().delete()

    confirm = client.post(
        "/admin/accounts/user/",
        {"action": "delete_selected", "select_across": "1", "_selected_action": [residents[0].pk]},
    )

    assert confirm.status_code == 200 and User.objects.filter(personnummer__isnull=False).count() == 2  # only asked
    shown = set(AuditEvent.objects.filter(action="admin.list").values_list("resident_id", flat=True))
    assert shown == {r.pk for r in residents}  # the page showed one; the confirmation lists both


@pytest.mark.parametrize(
    "typed",
    [
        "197211051234",
        "721105-1234",
        "19721105-1234",
        "19721105 1234",
        "721105 1234",
        "721105+1234",
        "7211 05-12 34",
        "pnr-197211051234",
        "Lind 721105",  # a birth date next to a name picks a resident out too
        "19721105",
    ],
)
def test_a_personnummer_typed_into_the_admin_search_is_neither_searched_nor_echoed(client, superuser, typed):
    resident = ResidentFactory(last_name="Lind")  # not the number typed, so any echo would show
    login_with_second_factor(client, superuser)
    AuditEvent.objects.all().delete()

    response = client.get("/admin/accounts/user/", {"q": typed})

    assert response.status_code == 302 and response.url == "/admin/accounts/user/"
    assert not AuditEvent.objects.exists()  # nothing was listed
    page = client.get(response.url)
    assert typed not in page.content.decode() and resident.personnummer_display in page.content.decode()
    # Other searches are untouched.
    assert client.get("/admin/accounts/user/", {"q": "Andersson"}).status_code == 200


def test_a_resource_stays_with_its_clinic_in_the_admin(client, superuser, clinic, resource, appointment_type):
    """A resource's slots carry its clinic, and their key to the resource refuses any other: the
    admin offers no clinic to move it to, and a posted one changes nothing (no error page)."""
    slot = SlotFactory(appointment_type=appointment_type, resource=resource)
    other = ClinicFactory(region=clinic.region)
    login_with_second_factor(client, superuser)
    url = f"/admin/clinics/resource/{resource.pk}/change/"
    assert 'name="clinic"' not in client.get(url).content.decode()

    answer = client.post(url, {"name": "Ny resurs", "kind": resource.kind, "clinic": other.pk, "is_active": "on"})

    assert answer.status_code == 302
    resource.refresh_from_db()
    slot.refresh_from_db()
    assert (resource.name, resource.clinic_id, slot.clinic_id) == ("Ny resurs", clinic.pk, clinic.pk)
    assert client.get("/admin/clinics/resource/add/").content.decode().count('name="clinic"') == 1
    assert Resource.objects.filter(pk=resource.pk).count() == 1
