"""The local admin's workspace pages: case types (R-CASE-1…3, R-CLINIC-2), appointment types
(R-TYPE-1…7, R-VIS-1), resources (R-RES-1), direct links (R-CLINIC-1) and who may open them (R-ACL-1)."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext

from accounts.models import Role
from clinics.forms import TypeWaitlistForm
from clinics.models import AppointmentType, Area, Audience, CaseKind, CaseType, DirectLink, Resource, ResourceKind
from clinics.services import clinic_patient_comment_update
from core.errors import PermissionDeniedError

from ..factories import (
    AppointmentTypeFactory,
    ClinicFactory,
    ResidentFactory,
    ResourceFactory,
    login_with_second_factor,
    staff,
)
from ..pages import found, sv, text

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def logged_in(client, user):
    TOTP.activate(user, TOTP_SECRET)
    login_with_second_factor(client, user)
    return client


def url(name: str, clinic, **kwargs) -> str:
    return reverse(f"workspace:{name}", kwargs={"clinic_id": clinic.pk, **kwargs})


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def admin_client(client, local_admin):
    return logged_in(client, local_admin)


def type_post(**overrides) -> dict:
    data = {
        "internal_name": "Uppföljning 30 min",
        "web_name": "Besök",
        "web_info": "Kom tio minuter innan.",
        "bookable_on_web": "on",
        "cancellable_on_web": "on",
        "reschedulable_on_web": "on",
        "visibility_days": "14",
        "duration_minutes": "30",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- Case types -------------------------------------------------------------------------------


def test_case_types_page_lists_the_two_case_types_with_status(admin_client, clinic):
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.MANAGE).update(is_active=False)
    response = admin_client.get(url("case_types", clinic))
    assert response.status_code == 200
    content = response.content.decode()
    assert str(CaseKind.BOOK.label) in content and str(CaseKind.MANAGE.label) in content
    assert url("case_type_deactivate", clinic, kind="book") in content
    assert url("case_type_activate", clinic, kind="manage") in content


def test_case_types_page_creates_missing_case_types(admin_client, clinic):
    CaseType.objects.filter(clinic=clinic).delete()
    assert admin_client.get(url("case_types", clinic)).status_code == 200
    assert set(CaseType.objects.filter(clinic=clinic).values_list("kind", flat=True)) == set(CaseKind.values)


def test_edit_case_type_saves_conditions_audience_and_area(admin_client, clinic):
    response = admin_client.post(
        url("case_type_edit", clinic, kind="book"),
        {
            "conditions_text": "Ta med legitimation\nAvboka senast 24 timmar innan",
            "audience": "related",
            "area": "region",
        },
    )
    assert response.status_code == 302 and response.url == url("case_types", clinic)
    case_type = CaseType.objects.get(clinic=clinic, kind=CaseKind.BOOK)
    assert case_type.conditions_bullets == ["Ta med legitimation", "Avboka senast 24 timmar innan"]
    assert (case_type.audience, case_type.area) == (Audience.RELATED, Area.REGION)
    assert not case_type.one_booking_at_a_time


def test_edit_case_type_turns_one_booking_at_a_time_on_and_off(admin_client, clinic):
    edit_url = url("case_type_edit", clinic, kind="book")
    assert 'id="one_booking_at_a_time"' in admin_client.get(edit_url).content.decode()
    assert (
        'id="one_booking_at_a_time"'
        not in admin_client.get(url("case_type_edit", clinic, kind="manage")).content.decode()
    )
    values = {"conditions_text": "Boka bara en tid åt gången", "audience": "all", "area": "country"}

    admin_client.post(edit_url, {**values, "one_booking_at_a_time": "on"})
    assert CaseType.objects.get(clinic=clinic, kind=CaseKind.BOOK).one_booking_at_a_time
    admin_client.post(edit_url, values)
    assert not CaseType.objects.get(clinic=clinic, kind=CaseKind.BOOK).one_booking_at_a_time


def test_edit_case_type_shows_field_errors_and_saves_nothing(admin_client, clinic):
    before = CaseType.objects.get(clinic=clinic, kind=CaseKind.BOOK)
    response = admin_client.post(
        url("case_type_edit", clinic, kind="book"), {"conditions_text": "Ny text", "audience": "nobody", "area": "mars"}
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert 'id="audience_error"' in content and 'aria-describedby="audience_error"' in content
    assert 'id="area_error"' in content
    assert "Ny text" in content  # what was typed is kept
    after = CaseType.objects.get(pk=before.pk)
    assert (after.conditions_text, after.audience, after.area) == (before.conditions_text, before.audience, before.area)


def test_a_radio_group_shows_its_hint_and_names_it_with_its_error(admin_client, clinic):
    """The freed-times group (R-WAIT-2) is drawn by the shared group partial: its hint is on the page
    and the fieldset names the hint, and the error beside it, as _field.html ties one widget (WCAG 1.3.1)."""
    appointment_type = AppointmentTypeFactory(clinic=clinic)
    page = url("appointment_type_waitlist", clinic, type_id=appointment_type.pk)
    hint = sv(TypeWaitlistForm.base_fields["freed_times"].help_text)

    shown = text(admin_client.get(page))
    assert f'<p class="hint" id="id_freed_times_helptext">{hint}</p>' in shown
    assert found(r"<fieldset [^>]*>", shown)[0].endswith(' aria-describedby="id_freed_times_helptext">')

    refused = admin_client.post(page, {"freed_times": "lottery", "offer_minutes": "15"})
    assert refused.status_code == 400
    fieldset = found(r"<fieldset [^>]*>", text(refused))[0]
    assert 'aria-describedby="id_freed_times_helptext id_freed_times_error"' in fieldset
    assert 'id="id_freed_times_error"' in text(refused)


def test_active_case_type_cannot_lose_its_conditions_text(admin_client, clinic):
    response = admin_client.post(
        url("case_type_edit", clinic, kind="book"), {"conditions_text": "  ", "audience": "all", "area": "country"}
    )
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert CaseType.objects.get(clinic=clinic, kind=CaseKind.BOOK).conditions_text


def test_unknown_case_type_kind_is_not_found(admin_client, clinic):
    assert admin_client.get(url("case_type_edit", clinic, kind="other")).status_code == 404
    assert admin_client.post(url("case_type_activate", clinic, kind="other")).status_code == 404


def test_activate_case_type_after_confirmation(admin_client, clinic):
    CaseType.objects.filter(clinic=clinic).update(is_active=False)
    confirm = admin_client.get(url("case_type_activate", clinic, kind="book"))
    assert confirm.status_code == 200
    assert "<li>Ta med legitimation</li>" in confirm.content.decode()
    assert not CaseType.objects.get(clinic=clinic, kind=CaseKind.BOOK).is_active  # GET changes nothing
    response = admin_client.post(url("case_type_activate", clinic, kind="book"))
    assert response.status_code == 302 and response.url == url("case_types", clinic)
    assert CaseType.objects.get(clinic=clinic, kind=CaseKind.BOOK).is_active


def test_activation_needs_a_conditions_text(admin_client, clinic):
    CaseType.objects.filter(clinic=clinic).update(is_active=False, conditions_text="")
    page = admin_client.get(url("case_type_activate", clinic, kind="book"))
    assert url("case_type_edit", clinic, kind="book") in page.content.decode()
    response = admin_client.post(url("case_type_activate", clinic, kind="book"))
    assert response.status_code == 302 and response.url == url("case_type_edit", clinic, kind="book")
    assert message_texts(response)
    assert not CaseType.objects.get(clinic=clinic, kind=CaseKind.BOOK).is_active


def test_activation_refused_when_the_timebook_lacks_support(admin_client, clinic):
    """R-CLINIC-2: the page says why and the service refuses even a hand-made POST."""
    clinic.supports_booking = False
    clinic.save()
    CaseType.objects.filter(clinic=clinic).update(is_active=False)
    listing = admin_client.get(url("case_types", clinic)).content.decode()
    assert url("case_type_activate", clinic, kind="book") not in listing
    reason = gettext(
        "The clinic's timebook does not support booking on the web, so this case type cannot be activated."
    )
    assert admin_client.get(url("case_types", clinic)).context["rows"][0]["support_note"] == reason
    confirm = admin_client.get(url("case_type_activate", clinic, kind="book"))
    # No activation form in the page's own content (the session warning after <main> has its own).
    assert "<form" not in confirm.content.decode().split('id="main"')[1].split("</main>")[0]
    response = admin_client.post(url("case_type_activate", clinic, kind="book"))
    assert response.status_code == 302
    assert message_texts(response) == [
        gettext("The clinic's timebook does not support this case type, so it cannot be activated.")
    ]
    assert not CaseType.objects.get(clinic=clinic, kind=CaseKind.BOOK).is_active


def test_manage_case_type_with_partial_support_explains_what_is_missing(admin_client, clinic):
    clinic.supports_cancellation = False
    clinic.save()
    CaseType.objects.filter(clinic=clinic).update(is_active=False)
    rows = admin_client.get(url("case_types", clinic)).context["rows"]
    manage = next(row for row in rows if row["case_type"].kind == CaseKind.MANAGE)
    assert manage["can_activate"] and manage["support_note"]
    admin_client.post(url("case_type_activate", clinic, kind="manage"))
    assert CaseType.objects.get(clinic=clinic, kind=CaseKind.MANAGE).is_active


def test_deactivate_case_type_after_confirmation(admin_client, clinic):
    assert admin_client.get(url("case_type_deactivate", clinic, kind="manage")).status_code == 200
    assert CaseType.objects.get(clinic=clinic, kind=CaseKind.MANAGE).is_active
    response = admin_client.post(url("case_type_deactivate", clinic, kind="manage"))
    assert response.status_code == 302
    assert not CaseType.objects.get(clinic=clinic, kind=CaseKind.MANAGE).is_active


# --- Appointment types --------------------------------------------------------------------------


def test_appointment_types_page_lists_types(admin_client, clinic, appointment_type):
    response = admin_client.get(url("appointment_types", clinic))
    assert response.status_code == 200
    assert appointment_type.internal_name in response.content.decode()
    assert url("appointment_type_edit", clinic, type_id=appointment_type.pk) in response.content.decode()


def test_create_appointment_type(admin_client, clinic):
    response = admin_client.post(url("appointment_type_new", clinic), type_post())
    assert response.status_code == 302 and response.url == url("appointment_types", clinic)
    created = AppointmentType.objects.get(clinic=clinic, internal_name="Uppföljning 30 min")
    assert (created.web_name, created.visibility_days, created.duration_minutes) == ("Besök", 14, 30)
    assert created.bookable_on_web and created.cancellable_on_web and created.reschedulable_on_web


def test_bookable_but_not_cancellable_type_is_saved(admin_client, clinic, appointment_type):
    """R-TYPE-3."""
    response = admin_client.post(
        url("appointment_type_edit", clinic, type_id=appointment_type.pk),
        type_post(cancellable_on_web=None, requires_booking_basis="on", visibility_days=""),
    )
    assert response.status_code == 302
    appointment_type.refresh_from_db()
    assert appointment_type.bookable_on_web and appointment_type.reschedulable_on_web
    assert not appointment_type.cancellable_on_web
    assert appointment_type.requires_booking_basis and appointment_type.visibility_days is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"internal_name": "  "}, "internal_name"),
        ({"web_name": ""}, "web_name"),  # R-TYPE-5
        ({"web_info": "x" * 301}, "web_info"),  # R-TYPE-1
        ({"web_info": "<b>Hej</b>"}, "web_info"),
        ({"visibility_days": "två veckor"}, "visibility_days"),
        ({"visibility_days": "0"}, "visibility_days"),
        ({"visibility_days": "366"}, "visibility_days"),
        ({"visibility_days": "1e9"}, "visibility_days"),
        ({"duration_minutes": "abc"}, "duration_minutes"),
        ({"duration_minutes": "100000"}, "duration_minutes"),
    ],
)
def test_invalid_type_input_is_shown_beside_the_field_and_nothing_is_saved(admin_client, clinic, overrides, field):
    response = admin_client.post(url("appointment_type_new", clinic), type_post(**overrides))
    assert response.status_code == 400
    content = response.content.decode()
    assert f'id="{field}_error"' in content
    assert f'href="#field-{field}"' in content  # the error summary links to the field
    assert not AppointmentType.objects.filter(clinic=clinic).exists()


def test_invalid_edit_keeps_the_type_unchanged(admin_client, clinic, appointment_type):
    response = admin_client.post(
        url("appointment_type_edit", clinic, type_id=appointment_type.pk),
        type_post(internal_name="Nytt namn", web_name="", visibility_days="x"),
    )
    assert response.status_code == 400
    appointment_type.refresh_from_db()
    assert appointment_type.internal_name == "Uppföljning 30 min"


def test_hidden_clears_the_three_web_flags_on_the_server(admin_client, clinic, appointment_type):
    """R-TYPE-2: without JavaScript the browser posts all four ticked; hidden wins."""
    response = admin_client.post(
        url("appointment_type_edit", clinic, type_id=appointment_type.pk), type_post(hidden_for_patient="on")
    )
    assert response.status_code == 302
    appointment_type.refresh_from_db()
    assert appointment_type.hidden_for_patient
    assert not (
        appointment_type.bookable_on_web or appointment_type.cancellable_on_web or appointment_type.reschedulable_on_web
    )


def test_flags_cannot_be_set_on_a_type_that_stays_hidden(admin_client, clinic):
    hidden = AppointmentTypeFactory(
        clinic=clinic,
        internal_name="Intern",
        bookable_on_web=False,
        cancellable_on_web=False,
        reschedulable_on_web=False,
        hidden_for_patient=True,
    )
    response = admin_client.post(
        url("appointment_type_edit", clinic, type_id=hidden.pk),
        type_post(internal_name="Intern", hidden_for_patient="on", cancellable_on_web="on", bookable_on_web=None),
    )
    assert response.status_code == 400
    assert 'id="cancellable_on_web_error"' in response.content.decode()
    hidden.refresh_from_db()
    assert hidden.hidden_for_patient and not hidden.cancellable_on_web


def test_edit_page_explains_the_visibility_window(admin_client, clinic, appointment_type):
    """R-VIS-1: 14 days shows times up to and including today + 13."""
    appointment_type.visibility_days = 14
    appointment_type.save()
    response = admin_client.get(url("appointment_type_edit", clinic, type_id=appointment_type.pk))
    assert response.status_code == 200
    last = timezone.localdate() + dt.timedelta(days=13)
    assert response.context["last_visible_day"] == last
    assert date_format(last, "j F Y") in response.content.decode()
    appointment_type.visibility_days = None
    appointment_type.save()
    response = admin_client.get(url("appointment_type_edit", clinic, type_id=appointment_type.pk))
    assert response.context["last_visible_day"] == timezone.localdate() + dt.timedelta(days=60)


def test_edit_page_has_the_counter_and_the_hidden_flag_hooks(admin_client, clinic, appointment_type):
    content = admin_client.get(url("appointment_type_edit", clinic, type_id=appointment_type.pk)).content.decode()
    assert 'data-counter-max="300"' in content and 'id="web_info-count"' in content
    assert "data-hidden-flag" in content and content.count("data-web-flag") == 3
    assert "js/workspace-admin.js" in content


@pytest.fixture
def proxy_type(clinic):
    return AppointmentTypeFactory(clinic=clinic, internal_name="Ombud 1177", web_name="Besök via 1177")


def test_proxy_type_is_read_only_for_a_local_admin(admin_client, clinic, proxy_type):
    """R-TYPE-6."""
    page = admin_client.get(url("appointment_type_edit", clinic, type_id=proxy_type.pk))
    assert page.status_code == 200
    assert not page.context["may_edit"]
    assert 'name="web_name"' not in page.content.decode()
    response = admin_client.post(
        url("appointment_type_edit", clinic, type_id=proxy_type.pk),
        type_post(internal_name="Ombud 1177", web_name="Nytt namn"),
    )
    assert response.status_code == 302
    assert message_texts(response)
    proxy_type.refresh_from_db()
    assert proxy_type.web_name == "Besök via 1177"


def test_local_admin_cannot_create_a_proxy_type(admin_client, clinic):
    response = admin_client.post(url("appointment_type_new", clinic), type_post(internal_name="Ombud akut"))
    assert response.status_code == 400
    assert message_texts(response)
    assert not AppointmentType.objects.filter(clinic=clinic).exists()


def test_region_it_edits_a_proxy_type(client, clinic, region_it, proxy_type):
    logged_in(client, region_it)
    page = client.get(url("appointment_type_edit", clinic, type_id=proxy_type.pk))
    assert page.context["may_edit"]
    response = client.post(
        url("appointment_type_edit", clinic, type_id=proxy_type.pk),
        type_post(internal_name="Ombud 1177", web_name="Nytt namn"),
    )
    assert response.status_code == 302
    proxy_type.refresh_from_db()
    assert proxy_type.web_name == "Nytt namn"


def test_proxy_type_must_keep_all_three_flags(client, clinic, region_it, proxy_type):
    logged_in(client, region_it)
    response = client.post(
        url("appointment_type_edit", clinic, type_id=proxy_type.pk),
        type_post(internal_name="Ombud 1177", cancellable_on_web=None),
    )
    assert response.status_code == 400
    proxy_type.refresh_from_db()
    assert proxy_type.cancellable_on_web


def test_patient_comment_setting_is_saved_for_the_clinic(admin_client, clinic):
    """R-TYPE-7."""
    response = admin_client.post(url("appointment_types", clinic), {"patient_comment_on_web": "on"})
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert clinic.patient_comment_on_web
    admin_client.post(url("appointment_types", clinic), {})
    clinic.refresh_from_db()
    assert not clinic.patient_comment_on_web


def test_patient_comment_service_needs_the_admin_role(clinic, scheduler):
    with pytest.raises(PermissionDeniedError):
        clinic_patient_comment_update(actor=scheduler, clinic=clinic, enabled=True)
    clinic.refresh_from_db()
    assert not clinic.patient_comment_on_web


def test_pages_speak_english_when_asked(admin_client, clinic, appointment_type):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    content = admin_client.get(url("case_types", clinic)).content.decode()
    assert 'lang="en"' in content and "Book a time directly" in content
    content = admin_client.get(url("appointment_type_edit", clinic, type_id=appointment_type.pk)).content.decode()
    assert "Today residents see times up to and including" in content


# --- Resources ----------------------------------------------------------------------------------


def test_resources_page_lists_resources(admin_client, clinic, resource):
    response = admin_client.get(url("resources", clinic))
    assert response.status_code == 200
    assert "Distriktssköterska" in response.content.decode()


def test_create_and_rename_a_resource(admin_client, clinic):
    response = admin_client.post(url("resource_new", clinic), {"name": "Dr Eva Ek", "kind": "practitioner"})
    assert response.status_code == 302 and response.url == url("resources", clinic)
    resource = Resource.objects.get(clinic=clinic)
    assert (resource.name, resource.kind) == ("Dr Eva Ek", ResourceKind.PRACTITIONER)
    response = admin_client.post(
        url("resource_edit", clinic, resource_id=resource.pk), {"name": "Barnmorska", "kind": "position"}
    )
    assert response.status_code == 302
    resource.refresh_from_db()
    assert (resource.name, resource.kind) == ("Barnmorska", ResourceKind.POSITION)


@pytest.mark.parametrize("name", ["DSK", "Mottagning DSK 2", "Rumsnamn 4", "STAFETTLÄKARE", "Bemanningspersonal", ""])
def test_resource_names_must_be_written_out(admin_client, clinic, name):
    """R-RES-1: refused with a reason beside the field."""
    response = admin_client.post(url("resource_new", clinic), {"name": name, "kind": "position"})
    assert response.status_code == 400
    content = response.content.decode()
    assert 'id="name_error"' in content and 'aria-invalid="true"' in content
    assert not Resource.objects.filter(clinic=clinic).exists()


def test_resource_edit_refused_keeps_the_old_name(admin_client, clinic, resource):
    response = admin_client.post(url("resource_edit", clinic, resource_id=resource.pk), {"name": "DSK", "kind": "x"})
    assert response.status_code == 400
    resource.refresh_from_db()
    assert resource.name == "Distriktssköterska"


# --- Direct links -------------------------------------------------------------------------------


def test_create_a_direct_link_and_show_the_full_address(admin_client, clinic):
    response = admin_client.post(url("direct_links", clinic), {"kind": "book", "label": "Vår webbplats"})
    assert response.status_code == 302
    link = DirectLink.objects.get(clinic=clinic)
    assert (link.kind, link.label) == (CaseKind.BOOK, "Vår webbplats")
    page = admin_client.get(url("direct_links", clinic)).content.decode()
    assert f'value="http://testserver/l/{link.token}/"' in page
    assert "Vår webbplats" in page


def test_direct_link_needs_a_case_type(admin_client, clinic):
    response = admin_client.post(url("direct_links", clinic), {"kind": "everything"})
    assert response.status_code == 400
    assert 'id="kind_error"' in response.content.decode()
    assert not DirectLink.objects.exists()


def test_direct_link_to_an_inactive_case_type_is_flagged(admin_client, clinic):
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.MANAGE).update(is_active=False)
    admin_client.post(url("direct_links", clinic), {"kind": "manage"})
    page = admin_client.get(url("direct_links", clinic))
    assert page.context["links"][0]["active"] is False


# --- Who may open the pages (R-ACL-1) -----------------------------------------------------------


def every_admin_url(clinic, type_id: int, resource_id: int) -> list[str]:
    return [
        url("case_types", clinic),
        url("case_type_edit", clinic, kind="book"),
        url("case_type_activate", clinic, kind="book"),
        url("case_type_deactivate", clinic, kind="manage"),
        url("appointment_types", clinic),
        url("appointment_type_new", clinic),
        url("appointment_type_edit", clinic, type_id=type_id),
        url("resources", clinic),
        url("resource_new", clinic),
        url("resource_edit", clinic, resource_id=resource_id),
        url("direct_links", clinic),
    ]


@pytest.fixture
def admin_urls(clinic, appointment_type, resource):
    return every_admin_url(clinic, appointment_type.pk, resource.pk)


def test_local_admin_and_region_it_open_every_page(client, clinic, local_admin, region_it, admin_urls):
    for user in (local_admin, region_it):
        logged_in(client, user)
        for address in admin_urls:
            assert client.get(address).status_code == 200, address


@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.SUPPORT])
def test_other_roles_of_the_same_clinic_are_forbidden(client, clinic, admin_urls, role):
    logged_in(client, staff(role, clinic))
    for address in admin_urls:
        assert client.get(address).status_code == 403, address
        assert client.post(address, type_post()).status_code == 403, address
    assert CaseType.objects.filter(clinic=clinic, is_active=True).count() == 2
    assert AppointmentType.objects.filter(clinic=clinic).count() == 1


def test_local_admin_of_another_clinic_gets_not_found(client, clinic, other_clinic, admin_urls):
    logged_in(client, staff(Role.LOCAL_ADMIN, other_clinic))
    for address in admin_urls:
        assert client.get(address).status_code == 404, address
        assert client.post(address, {"name": "Barnmorska", "kind": "position"}).status_code == 404, address


def test_region_it_of_another_region_gets_not_found(client, clinic, admin_urls):
    uppsala = ClinicFactory(region__code="03", region__name="Region Uppsala")
    logged_in(client, staff(Role.REGION_IT, uppsala))
    for address in admin_urls:
        assert client.get(address).status_code == 404, address


def test_another_clinics_objects_are_not_found_in_this_clinics_urls(admin_client, clinic, other_clinic):
    their_type = AppointmentTypeFactory(clinic=other_clinic)
    their_resource = ResourceFactory(clinic=other_clinic)
    for address in (
        url("appointment_type_edit", clinic, type_id=their_type.pk),
        url("resource_edit", clinic, resource_id=their_resource.pk),
    ):
        assert admin_client.get(address).status_code == 404
        assert admin_client.post(address, {"name": "Barnmorska", "kind": "position"}).status_code == 404
    their_resource.refresh_from_db()
    assert their_resource.name != "Barnmorska"


def test_residents_are_forbidden_and_anonymous_visitors_sent_to_login(client, admin_urls):
    for address in admin_urls:
        anonymous = client.get(address)
        assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url
    client.force_login(ResidentFactory())
    for address in admin_urls:
        assert client.get(address).status_code == 403, address
