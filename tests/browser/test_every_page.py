"""Every resident page and every staff page is photographed at 360 and 1280 px (test-artifacts/)
with axe at 0: the flow tests photograph most pages on their way; the pages and states they do not
reach are walked here. ``test_every_page_has_a_screenshot`` names, for every page of the portal and
the workspace, the screenshot that shows it, so a new page without one fails."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone, translation
from playwright.sync_api import Page, expect

from accounts.models import Membership, Role
from bookings.models import BookingBasis
from bookings.services import booking_create
from core import dates

from ..factories import AppointmentTypeFactory, ClinicFactory, ResidentFactory, ResourceFactory, staff, tomorrow_at
from ..pages import make_slot
from .conftest import check_page, dev_login, make_staff_login_ready, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THIS = Path(__file__).name

# URL name → the screenshot (test-artifacts/screenshots/<name>-360.png and -1280.png) a flow test
# in tests/browser/ takes of it.
SHOWN_BY_FLOW_TESTS = {
    "info:contact": "contact",
    "info:privacy": "privacy",
    "info:cookies": "cookies",
    "info:accessibility": "accessibility",
    "clinics:search": "search",
    "clinics:detail": "clinic-card",
    "bookings:start": "start",
    "bookings:remove_clinic": "remove-clinic-confirm",
    "bookings:book_conditions": "book-1-conditions",
    "bookings:book_types": "book-2-types",
    "bookings:book_days": "book-3-calendar",
    "bookings:book_times": "book-4-times",
    "bookings:book_slot": "deep-link-1-conditions",
    "bookings:confirm": "book-5-confirm",
    "bookings:my_bookings": "my-bookings",
    "bookings:detail": "booking-detail",
    "bookings:cancel": "cancel",
    "bookings:cancel_conditions": "cancel-conditions-error",
    "bookings:rebook_conditions": "rebook-conditions",
    "bookings:rebook_days": "rebook-days",
    "bookings:rebook_times": "rebook-times",
    "bookings:calendar": "calendar-1-none",
    "bookings:inbox": "inbox",
    "bookings:message": "message",
    "resident_login": "login",
    "dev_login": "dev-login",
    "contact_details": "contact-1-empty",
    "contact_email": "contact-2-email-error",
    "contact_mobile": "contact-4-code",
    "contact_mobile_code": "contact-5-code-error",
    "workspace:picker": "workspace-picker",
    "workspace:audit_log": "support-audit-log",
    "workspace:case_types": "admin-case-types",
    "workspace:case_type_edit": "admin-case-type-edit",
    "workspace:case_type_activate": "admin-case-type-activate",
    "workspace:appointment_types": "admin-appointment-types",
    "workspace:appointment_type_edit": "admin-appointment-type-edit",
    "workspace:resources": "admin-resources",
    "workspace:resource_new": "admin-resource-new",
    "workspace:direct_links": "admin-direct-links",
    "workspace:clinic_roles": "staff-clinic-roles",
    "workspace:staff_accounts": "staff-accounts",
    "workspace:staff_invite": "staff-invite",
    "workspace:staff_member": "staff-member",
    "workspace:staff_role_revoke": "staff-confirm-revoke",
    "workspace:staff_deactivate": "staff-confirm-deactivate",
    "workspace:staff_second_factor_reset": "staff-confirm-second-factor-reset",
    "workspace:timebook": "scheduler-timebook-grid",
    "workspace:block_new": "scheduler-block-new",
    "workspace:schedules": "scheduler-schedules",
    "workspace:schedule_new": "scheduler-schedule-collisions",
    "workspace:schedule_detail": "scheduler-schedule-detail",
    "workspace:web_log": "support-web-log",
    "workspace:booking_bases": "bases-list",
    "workspace:booking_basis_new": "basis-new-step2",
    "workspace:booking_basis": "basis-detail",
    "workspace:booking_detail": "scheduler-booking-detail",
    "workspace:booking_cancel": "scheduler-booking-cancel-confirm",
    "workspace:book_for_resident": "scheduler-book-find",
    "workspace:waitlist": "scheduler-waitlist",
    "workspace:resident_page": "resident-page",
    "workspace:resident_withdraw": "resident-withdraw-confirm",
    "workspace:resident_message": "resident-message-error",
    "workspace:failed_notifications": "failed-messages-1-none",
    "workspace:proxy_home": "proxy-home",
    "workspace:proxy_resident": "proxy-resident",
    "workspace:proxy_times": "proxy-times",
    "workspace:proxy_book": "proxy-book",
    "workspace:proxy_cancel": "proxy-cancel-en",
    "bookings:waitlist_join": "waitlist-2-join",
    "bookings:my_waitlist": "waitlist-4-mine",
    "bookings:waitlist_offer": "waitlist-6-offer",
    "bookings:attorneys": "attorneys-1-errors",
    "workspace:attendance_figures": "attendance-figures-sv",
}

# URL name → the screenshot this module takes of it.
SHOWN_HERE = {
    "app_tokens": "page-app-tokens",
    "contact_email_confirm": "page-contact-link-expired",
    "resident_logged_out": "page-logged-out",
    "workspace:clinic": "page-workspace-clinic",
    "workspace:appointment_type_new": "page-appointment-type-new",
    "workspace:resource_edit": "page-resource-edit",
    "workspace:slot_new": "page-slot-new",
    "workspace:open_summons_new": "page-open-summons-new",
    "workspace:video_settings": "page-video-settings",
    "workspace:appointment_type_waitlist": "page-appointment-type-waitlist",
}

# Addresses that are not pages: actions that take a POST and answer with a redirect or with the
# page they belong to (photographed there), files, and redirects into a page above.
NOT_PAGES = {
    "clinics:add", "clinics:remove", "clinics:direct_link", "clinics:contact_card_login",
    "bookings:hold", "bookings:release", "bookings:basis_book", "bookings:ics", "bookings:calendar_feed",
    "contact_remove", "dev_outbox",  # dev_outbox: development only, a 404 unless DEBUG
    "workspace:audit_log_csv", "workspace:web_log_csv", "workspace:case_type_deactivate",
    "workspace:staff_role_grant", "workspace:staff_reactivate", "workspace:staff_invitation_resend",
    "workspace:slots_change_type", "workspace:block_delete", "workspace:schedule_remove_type",
    "workspace:booking_basis_revoke", "workspace:resident_approve", "workspace:notification_resend",
    "workspace:booking_meeting_link", "workspace:waitlist_priority", "workspace:attendance_mark",
    "workspace:attendance_undo", "workspace:attendance_figures_csv", "bookings:attorney_change",
}  # fmt: skip

# The portal's and the workspace's own addresses (the API, FHIR, the Django admin, allauth's
# staff login pages and health checks are tested elsewhere).
_OWN_NAMESPACES = {"info", "clinics", "bookings", "workspace"}
_OWN_ROOT_NAMES = {
    "resident_login", "dev_login", "resident_logged_out", "app_tokens", "contact_details", "contact_email",
    "contact_email_confirm", "contact_mobile", "contact_mobile_code", "contact_remove", "dev_outbox",
}  # fmt: skip


def _url_names(resolver: URLResolver, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace else pattern.namespace
            names |= _url_names(pattern, inner or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
    return names


def test_every_page_has_a_screenshot():
    own = {
        name for name in _url_names(get_resolver()) if name.split(":")[0] in _OWN_NAMESPACES or name in _OWN_ROOT_NAMES
    }
    shown = set(SHOWN_BY_FLOW_TESTS) | set(SHOWN_HERE)
    assert own - shown - NOT_PAGES == set(), "pages without a screenshot"
    assert (shown | NOT_PAGES) - own == set(), "names that are no longer pages"
    assert shown & NOT_PAGES == set()
    # Each screenshot named above is taken by a browser test (a name in an f-string or a
    # parametrised list is found by its fixed part).
    sources = "".join(path.read_text() for path in Path(__file__).parent.glob("test_*.py") if path.name != THIS)
    missing = [
        name for name in SHOWN_BY_FLOW_TESTS.values() if name.removesuffix("-sv").removesuffix("-en") not in sources
    ]
    assert missing == [], "screenshots no browser test takes"


def _shoot(page: Page, url_name: str) -> None:
    """The page is the one named, and is photographed under the name SHOWN_HERE gives it."""
    assert resolve(urlparse(page.url).path).view_name == url_name, page.url
    check_page(page, SHOWN_HERE[url_name])


@pytest.fixture
def solna(db):
    return ClinicFactory(name="Vårdcentralen Solna")


def test_resident_pages_the_flows_do_not_reach(page: Page, solna):
    anna = ResidentFactory(first_name="Anna", last_name="Andersson")
    dev_login(page, anna.personnummer)

    page.goto(reverse("app_tokens"))
    _shoot(page, "app_tokens")
    # A link from an old e-mail: the page says it has run out and offers a new one.
    page.goto(reverse("contact_email_confirm", args=["an-old-or-tampered-link"]))
    _shoot(page, "contact_email_confirm")
    page.locator("form[action$='/logout/'] button[type=submit]").first.click()
    # Where the e-ID provider sends the resident back after logging out there too.
    page.goto(reverse("resident_logged_out"))
    _shoot(page, "resident_logged_out")


def test_calendar_greys_past_days_and_says_when_more_times_come(page: Page, solna):
    """Booking and rebooking: days gone by are crossed out and named so, never links; days past the
    window are striped, and the page says that more times are published later."""
    anna = ResidentFactory(first_name="Anna", last_name="Andersson")
    visit = AppointmentTypeFactory(clinic=solna, web_name="Besök hos sjuksköterska", visibility_days=10)
    resource = ResourceFactory(clinic=solna, name="Distriktssköterska")
    booked = booking_create(resident=anna, slot_id=make_slot(visit, resource, tomorrow_at(9)).pk)
    make_slot(visit, resource, tomorrow_at(10, 0, days=2))
    last = timezone.localdate() + dt.timedelta(days=9)
    with translation.override("sv"):
        published_until = dates.when(last, "date")
    dev_login(page, anna.personnummer)

    page.goto(reverse("bookings:book_conditions", args=[solna.pk]))
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()
    for month in sorted({timezone.localdate().replace(day=1), last.replace(day=1)}):
        page.goto(f"{reverse('bookings:book_days', args=[solna.pk, visit.pk])}?manad={month:%Y-%m}")
        expect(page.locator(".calendar td.past a")).to_have_count(0)
        if month == last.replace(day=1) and last.day < 28:
            expect(page.locator("#more-later")).to_contain_text(published_until)
            expect(page.locator(".calendar td.later").first).to_contain_text("tiderna är inte publicerade än")
        check_page(page, f"book-3-calendar-window-{month:%Y-%m}")

    page.goto(reverse("bookings:rebook_conditions", args=[booked.pk]))
    page.get_by_label("Jag har läst och förstått villkoren").check()
    page.get_by_role("button", name="Fortsätt").click()
    page.goto(f"{reverse('bookings:rebook_days', args=[booked.pk])}?manad={last:%Y-%m}")
    expect(page.locator(".calendar td.later").first).to_be_visible()
    check_page(page, "rebook-days-window")


def test_staff_pages_the_flows_do_not_reach(page: Page, solna):
    admin = staff(Role.LOCAL_ADMIN, solna)
    Membership.objects.create(user=admin, role=Role.SCHEDULER, clinic=solna)
    make_staff_login_ready(admin)
    resource = ResourceFactory(clinic=solna, name="Distriktssköterska")
    talk = AppointmentTypeFactory(
        clinic=solna, web_name="Hälsosamtal", requires_booking_basis=True, bookable_on_web=False
    )
    staff_login(page, admin, next_url=reverse("workspace:clinic", args=[solna.pk]))

    _shoot(page, "workspace:clinic")
    page.goto(reverse("workspace:appointment_type_new", args=[solna.pk]))
    _shoot(page, "workspace:appointment_type_new")
    page.goto(reverse("workspace:resource_edit", args=[solna.pk, resource.pk]))
    _shoot(page, "workspace:resource_edit")
    page.goto(reverse("workspace:slot_new", args=[solna.pk]))
    _shoot(page, "workspace:slot_new")
    # Sent empty: the errors named at the top, each message beside its field.
    page.get_by_role("button", name="Lägg till tiden").click()
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator(".field .error").first).to_be_visible()
    check_page(page, "page-slot-new-error")
    page.goto(reverse("workspace:open_summons_new", args=[solna.pk]))
    _shoot(page, "workspace:open_summons_new")
    page.goto(reverse("workspace:video_settings", args=[solna.pk]))
    _shoot(page, "workspace:video_settings")
    page.goto(reverse("workspace:appointment_type_waitlist", args=[solna.pk, talk.pk]))
    _shoot(page, "workspace:appointment_type_waitlist")
    assert not BookingBasis.objects.exists()
