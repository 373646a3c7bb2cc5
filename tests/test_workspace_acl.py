"""R-ACL-1 as a persona matrix: every workspace URL × each role at this clinic, at another clinic,
a resident and an anonymous visitor. Any page added to the workspace must be listed in
ALLOWED, so no page can slip in without its role being decided and tested here."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import URLPattern, URLResolver, reverse

from accounts.models import Role
from bookings.models import BookingBasis, WaitlistEntry
from bookings.services import booking_create
from notifications.models import Notification, NotificationEvent
from schedules.models import Block, Schedule
from tidbok import workspace_urls

from .factories import (
    AppointmentTypeFactory,
    ClinicFactory,
    ResidentFactory,
    ResourceFactory,
    SlotFactory,
    login_with_second_factor,
    staff,
)

ADMIN = {Role.LOCAL_ADMIN, Role.REGION_IT}
EVERY_ROLE = {Role.LOCAL_ADMIN, Role.SCHEDULER, Role.SUPPORT, Role.REGION_IT}
PROXY = {Role.PROXY_BOOKER}
# Who issues and revokes booking bases and open summons.
ISSUERS = {Role.SCHEDULER, Role.LOCAL_ADMIN, Role.REGION_IT}

# Which clinic roles may open each workspace page.
ALLOWED: dict[str, set[Role]] = {
    "picker": EVERY_ROLE,
    "clinic": EVERY_ROLE,
    # local admin (and region IT in its region)
    "case_types": ADMIN,
    "case_type_edit": ADMIN,
    "case_type_activate": ADMIN,
    "case_type_deactivate": ADMIN,
    "appointment_types": ADMIN,
    "appointment_type_new": ADMIN,
    "appointment_type_edit": ADMIN,
    "video_settings": ADMIN,
    "appointment_type_waitlist": ADMIN,
    "resources": ADMIN,
    "resource_new": ADMIN,
    "resource_edit": ADMIN,
    "direct_links": ADMIN,
    # scheduler
    "timebook": {Role.SCHEDULER},
    "booking_detail": {Role.SCHEDULER},
    "booking_cancel": {Role.SCHEDULER},
    "booking_meeting_link": {Role.SCHEDULER},
    "schedules": {Role.SCHEDULER},
    "schedule_new": {Role.SCHEDULER},
    "schedule_detail": {Role.SCHEDULER},
    "schedule_remove_type": {Role.SCHEDULER},
    "slot_new": {Role.SCHEDULER},
    "block_new": {Role.SCHEDULER},
    "block_delete": {Role.SCHEDULER},
    "slots_change_type": {Role.SCHEDULER},
    "book_for_resident": {Role.SCHEDULER},
    "waitlist": {Role.SCHEDULER},
    "waitlist_priority": {Role.SCHEDULER},
    # reception marks attendance from the timebook's day view (R-ATT-1)
    "attendance_mark": {Role.SCHEDULER},
    "attendance_undo": {Role.SCHEDULER},
    # the attendance and no-show figures: local admins and schedulers (R-ATT-2)
    "attendance_figures": ISSUERS,
    "attendance_figures_csv": ISSUERS,
    # support
    "web_log": {Role.SUPPORT},
    "web_log_csv": {Role.SUPPORT},
    # booking bases and open summons: support reads (the web log's "open booking basis"), the
    # schedulers and local admins who issue them read too
    "booking_bases": EVERY_ROLE,
    "booking_basis": EVERY_ROLE,
    "booking_basis_new": ISSUERS,
    "booking_basis_revoke": ISSUERS,
    "open_summons_new": ISSUERS,
    "failed_notifications": {Role.SUPPORT},
    "notification_resend": {Role.SUPPORT},
    # the resident page: schedulers and local admins (region IT as local admin) find a resident
    "resident_page": ISSUERS,
    "resident_approve": ISSUERS,
    "resident_withdraw": ISSUERS,
    "resident_message": ISSUERS,
    # region IT
    "audit_log": {Role.REGION_IT},
    "audit_log_csv": {Role.REGION_IT},
    # who holds which role: read-only for a local admin; region IT manages the region's staff
    "clinic_roles": ADMIN,
    "staff_accounts": {Role.REGION_IT},
    "staff_invite": {Role.REGION_IT},
    "staff_member": {Role.REGION_IT},
    "staff_role_grant": {Role.REGION_IT},
    "staff_role_revoke": {Role.REGION_IT},
    "staff_deactivate": {Role.REGION_IT},
    "staff_reactivate": {Role.REGION_IT},
    "staff_second_factor_reset": {Role.REGION_IT},
    "staff_invitation_resend": {Role.REGION_IT},
    # proxy bookers act for a region, not at a clinic (R-TYPE-6): their pages take no clinic
    "proxy_home": PROXY,
    "proxy_resident": PROXY,
    "proxy_times": PROXY,
    "proxy_book": PROXY,
    "proxy_cancel": PROXY,
}


def workspace_patterns() -> list[tuple[str, list[str]]]:
    """(url name, its URL keyword arguments) for every page under /personal/."""
    found: list[tuple[str, list[str]]] = []

    def walk(patterns, inherited: list[str]) -> None:
        for entry in patterns:
            params = inherited + list(entry.pattern.converters)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, params)
            elif isinstance(entry, URLPattern) and entry.name:
                found.append((entry.name, params))

    walk(workspace_urls.urlpatterns, [])
    return found


def test_every_workspace_page_has_its_roles_decided():
    names = {name for name, _params in workspace_patterns()}
    assert names, "no workspace pages found"
    assert names <= set(ALLOWED), f"pages without a decided role: {sorted(names - set(ALLOWED))}"


class World:
    """Two clinics in two regions, each with one of everything a workspace URL can point at."""

    def __init__(self) -> None:
        self.clinic = ClinicFactory(name="Vårdcentralen Solna")
        self.other = ClinicFactory(name="Vårdcentralen Uppsala", region__code="03", region__name="Region Uppsala")
        self.objects = {clinic.pk: self._objects(clinic) for clinic in (self.clinic, self.other)}

    def _objects(self, clinic) -> dict[str, int | str]:
        appointment_type = AppointmentTypeFactory(clinic=clinic)
        resource = ResourceFactory(clinic=clinic)
        slot = SlotFactory(appointment_type=appointment_type, resource=resource)
        resident = ResidentFactory()
        booking = booking_create(resident=resident, slot_id=slot.pk)
        schedule = Schedule.objects.create(
            clinic=clinic,
            resource=resource,
            appointment_type=appointment_type,
            weekdays=[1, 2, 3, 4, 5],
            start_date=dt.date.today(),
            end_date=dt.date.today() + dt.timedelta(days=7),
            day_start=dt.time(8),
            day_end=dt.time(9),
            slot_minutes=20,
        )
        block = Block.objects.create(
            clinic=clinic,
            resource=resource,
            start=slot.start + dt.timedelta(days=30),
            end=slot.end + dt.timedelta(days=30),
        )
        basis = BookingBasis.objects.create(clinic=clinic, resident=resident, appointment_type=appointment_type)
        member = staff(Role.SUPPORT, clinic)
        proxy_type = AppointmentTypeFactory(clinic=clinic, internal_name="Ombud 1177", web_name="Besök via 1177")
        proxy_start = slot.start + dt.timedelta(hours=3)
        proxy_slot = SlotFactory(appointment_type=proxy_type, resource=resource, start=proxy_start)
        event = NotificationEvent.objects.create(
            key=f"acl-{clinic.pk}", kind="booked", resident=resident, clinic=clinic, booking=booking
        )
        failed = Notification.objects.create(event=event, channel="email", to="anna@exempel.se", state="failed")
        entry = WaitlistEntry.objects.create(clinic=clinic, resident=resident, appointment_type=appointment_type)
        return {
            "clinic_id": clinic.pk,
            "kind": "book",
            "type_id": appointment_type.pk,
            "resource_id": resource.pk,
            "booking_id": booking.pk,
            "schedule_id": schedule.pk,
            "block_id": block.pk,
            "basis_id": basis.pk,
            "member_id": member.pk,
            "membership_id": member.memberships.get().pk,
            "slot_id": proxy_slot.pk,
            "notification_id": failed.pk,
            "entry_id": entry.pk,
        }

    def url(self, name: str, params: list[str], clinic) -> str:
        objects = self.objects[clinic.pk]
        missing = [p for p in params if p not in objects]
        assert not missing, f"{name}: the matrix does not know how to fill {missing}"
        return reverse(f"workspace:{name}", kwargs={p: objects[p] for p in params})


@pytest.fixture
def world(db):
    return World()


def logged_in(client, user):
    if not user.authenticator_set.exists():
        TOTP.activate(user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    login_with_second_factor(client, user)
    return client


@pytest.mark.parametrize("role", sorted(EVERY_ROLE))
def test_each_role_reaches_exactly_its_pages_at_its_own_clinic(client, world, role):
    logged_in(client, staff(role, world.clinic))
    for name, params in workspace_patterns():
        url = world.url(name, params, world.clinic)
        status = client.get(url).status_code
        if role in ALLOWED[name]:
            # POST-only actions answer 405 to a GET; everything else renders or redirects.
            assert status in (200, 302, 405), f"{role} {name} {url}: {status}"
        else:
            assert status == 403, f"{role} {name} {url}: {status}"
            assert client.post(url).status_code == 403, f"{role} POST {name} {url}"


@pytest.mark.parametrize("role", sorted(EVERY_ROLE))
def test_no_role_reaches_another_clinics_pages(client, world, role):
    logged_in(client, staff(role, world.clinic))
    for name, params in workspace_patterns():
        if "clinic_id" not in params:
            continue
        url = world.url(name, params, world.other)
        assert client.get(url).status_code == 404, f"{role} GET {name} {url}"
        assert client.post(url).status_code == 404, f"{role} POST {name} {url}"


def test_own_clinic_url_with_another_clinics_object_is_not_found(client, world):
    """An object id from another clinic inside this clinic's URL is never served."""
    for role in EVERY_ROLE:
        logged_in(client, staff(role, world.clinic))
        for name, params in workspace_patterns():
            object_params = [p for p in params if p not in ("clinic_id", "kind")]
            if not object_params or role not in ALLOWED[name]:
                continue
            kwargs = {p: world.objects[world.other.pk][p] for p in object_params}
            url = reverse(f"workspace:{name}", kwargs={"clinic_id": world.clinic.pk, **kwargs})
            assert client.get(url).status_code in (404, 405), f"{role} GET {name} {url}"
            assert client.post(url).status_code == 404, f"{role} POST {name} {url}"


def test_residents_and_anonymous_visitors_get_no_workspace(client, world):
    resident = ResidentFactory()
    for name, params in workspace_patterns():
        url = world.url(name, params, world.clinic)
        client.logout()
        anonymous = client.get(url)
        assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url, f"anonymous {name}"
        client.force_login(resident)
        assert client.get(url).status_code == 403, f"resident {name}"


def test_proxy_bookers_reach_their_pages_and_no_clinic_page(client, world):
    """R-ACL-1, R-TYPE-6: a proxy booker's workspace is theirs alone; every clinic page is, for
    them, a clinic they have no membership at (404), and the picker sends them to their pages."""
    proxy = staff(Role.PROXY_BOOKER, world.clinic, unit_name="1177 Vårdguiden på telefon")
    logged_in(client, proxy)
    for name, params in workspace_patterns():
        url = world.url(name, params, world.clinic)
        status = client.get(url).status_code
        if name == "picker":
            assert client.get(url).url == reverse("workspace:proxy_home")
        elif Role.PROXY_BOOKER in ALLOWED[name]:
            assert status in (200, 302), f"proxy booker {name} {url}: {status}"
        else:
            assert status == 404, f"proxy booker {name} {url}: {status}"
            assert client.post(url).status_code == 404, f"proxy booker POST {name} {url}"


def test_proxy_bookers_do_not_reach_another_regions_times_or_bookings(client, world):
    """A proxy booker of Region Uppsala is refused Region Stockholm's proxy time and booking (404)."""
    proxy = staff(Role.PROXY_BOOKER, world.other, unit_name="Akuten Uppsala")
    logged_in(client, proxy)
    for name, params in workspace_patterns():
        if not name.startswith("proxy_") or not set(params) - {"kind"}:
            continue
        url = world.url(name, params, world.clinic)
        assert client.get(url).status_code == 404, f"GET {name} {url}"
        assert client.post(url).status_code == 404, f"POST {name} {url}"
        # The same page for their own region's object is theirs (a redirect: no search yet).
        assert client.get(world.url(name, params, world.other)).status_code == 302, name
