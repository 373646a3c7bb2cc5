"""The public clinic pages (R-CLINIC-1, R-CASE-3) and direct links (R-CLINIC-1, R-REL-1), through the
Django test client."""

from __future__ import annotations

from django.urls import reverse

from clinics.models import (
    Area,
    Audience,
    CaseKind,
    CaseType,
    ClinicRelation,
    DirectLink,
    RelationSource,
)
from clinics.services import relation_add

from ..factories import (
    ClinicFactory,
    RegionFactory,
    ResidentFactory,
)
from ..pages import login_url, sv, text

# --- 1. Public clinic pages (R-CLINIC-1, R-CASE-3) ----------------------------------------------


def test_search_filters_by_name_town_and_region(client, clinic):
    uppsala = RegionFactory(name="Region Uppsala", code="03")
    enkoping = ClinicFactory(name="Hälsocentralen Väster", town="Enköping", region=uppsala)
    url = reverse("clinics:search")

    def names(**params) -> tuple[bool, bool]:
        content = text(client.get(url, params))
        return clinic.name in content, enkoping.name in content

    assert names() == (True, True)
    assert names(q="Solna") == (True, False)
    assert names(q="enköping") == (False, True)  # town, any case
    assert names(q="Uppsala") == (False, True)  # region name
    assert names(region=uppsala.pk) == (False, True)
    assert names(region=clinic.region_id) == (True, False)
    assert names(q="Solna", region=uppsala.pk) == (False, False)
    content = text(client.get(url, {"q": "Finns inte"}))
    assert clinic.name not in content and enkoping.name not in content


def test_contact_card_shows_contact_details_to_anyone(client, clinic):
    clinic.street_address = "Solnavägen 1"
    clinic.postal_code = "171 64"
    clinic.town = "Solna"
    clinic.phone = "08-555 123 45"
    clinic.opening_hours = "Mån–fre 08–17"
    clinic.save()

    response = client.get(reverse("clinics:detail", args=[clinic.pk]))

    content = text(response)
    assert response.status_code == 200
    for value in ("Vårdcentralen Solna", "Solnavägen 1", "171 64 Solna", "08-555 123 45", "Mån–fre 08–17"):
        assert value in content
    assert 'href="tel:0855512345"' in content
    # Both case types are "for all residents": an anonymous visitor sees both, through the login.
    assert reverse("clinics:contact_card_login", args=[clinic.pk, "book"]) in content
    assert sv(CaseKind.BOOK.label) in content and sv(CaseKind.MANAGE.label) in content


def test_related_only_case_type_is_hidden_until_the_resident_has_a_relation(client, clinic, resident):
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(audience=Audience.RELATED)
    url = reverse("clinics:detail", args=[clinic.pk])
    book_url = reverse("bookings:book_conditions", args=[clinic.pk])

    anonymous = text(client.get(url))
    assert book_url not in anonymous and sv(CaseKind.BOOK.label) not in anonymous
    assert sv(CaseKind.MANAGE.label) in anonymous

    client.force_login(resident)
    without_relation = text(client.get(url))
    assert book_url not in without_relation and sv(CaseKind.BOOK.label) not in without_relation
    assert client.get(book_url).status_code == 404  # cannot start the flow either

    relation_add(resident=resident, clinic=clinic, source=RelationSource.START_PAGE)
    with_relation = text(client.get(url))
    assert book_url in with_relation and sv(CaseKind.BOOK.label) in with_relation
    assert client.get(book_url).status_code == 200


def test_region_only_case_type_is_hidden_from_residents_of_another_region(client, clinic):
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(area=Area.REGION)
    local = ResidentFactory(home_region_code=clinic.region.code)
    elsewhere = ResidentFactory(home_region_code="14")
    url = reverse("clinics:detail", args=[clinic.pk])
    book_url = reverse("bookings:book_conditions", args=[clinic.pk])

    client.force_login(local)
    assert book_url in text(client.get(url))
    assert client.get(book_url).status_code == 200

    client.force_login(elsewhere)
    content = text(client.get(url))
    assert book_url not in content and sv(CaseKind.BOOK.label) not in content
    assert sv(CaseKind.MANAGE.label) in content  # the country-wide MANAGE case type still shows
    assert client.get(book_url).status_code == 404


def test_search_lists_only_case_types_that_admit_the_viewer(client, clinic):
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(audience=Audience.RELATED)

    content = text(client.get(reverse("clinics:search"), {"q": "Solna"}))

    assert clinic.name in content
    assert sv(CaseKind.MANAGE.label) in content and sv(CaseKind.BOOK.label) not in content


def test_anonymous_visitor_starting_the_booking_flow_is_sent_to_login(client, clinic):
    path = reverse("bookings:book_conditions", args=[clinic.pk])

    response = client.get(path)

    assert response.status_code == 302
    assert response.url == login_url(path)
    assert response.url.startswith("/logga-in/?next=")


# --- 3. Direct links (R-CLINIC-1, R-REL-1) --------------------------------------------------------


def test_direct_link_sends_an_anonymous_visitor_to_login(client, clinic):
    link = DirectLink.objects.create(clinic=clinic, kind=CaseKind.BOOK)
    path = f"/l/{link.token}/"

    response = client.get(path)

    assert response.status_code == 302 and response.url == login_url(path)
    assert not ClinicRelation.objects.exists()


def test_book_direct_link_creates_the_relation_and_starts_booking(resident_client, clinic, resident):
    link = DirectLink.objects.create(clinic=clinic, kind=CaseKind.BOOK)

    response = resident_client.get(f"/l/{link.token}/")

    assert response.status_code == 302
    assert response.url == reverse("bookings:book_conditions", args=[clinic.pk])
    relation = ClinicRelation.objects.get(resident=resident, clinic=clinic)
    assert relation.source == RelationSource.DIRECT_LINK and relation.on_start_page
    assert clinic.name in text(resident_client.get(reverse("bookings:start")))


def test_manage_direct_link_creates_the_relation_and_opens_my_bookings(resident_client, clinic, resident):
    link = DirectLink.objects.create(clinic=clinic, kind=CaseKind.MANAGE)

    response = resident_client.get(f"/l/{link.token}/")

    assert response.status_code == 302 and response.url == reverse("bookings:my_bookings")
    relation = ClinicRelation.objects.get(resident=resident, clinic=clinic)
    assert relation.source == RelationSource.DIRECT_LINK and relation.on_start_page


def test_unknown_direct_link_is_not_found(resident_client, resident, clinic):
    assert resident_client.get("/l/finns-inte-alls/").status_code == 404
    assert not ClinicRelation.objects.filter(resident=resident).exists()


# --- 4. The contact card's e-service links (R-REL-1, guide 001) -----------------------------------


def test_contact_card_links_an_anonymous_visitor_through_the_login(client, clinic):
    through_login = reverse("clinics:contact_card_login", args=[clinic.pk, "book"])
    content = text(client.get(reverse("clinics:detail", args=[clinic.pk])))
    assert f'href="{through_login}"' in content

    response = client.get(through_login)

    assert response.status_code == 302 and response.url == login_url(through_login)
    assert not ClinicRelation.objects.exists()


def test_logging_in_through_the_contact_cards_book_link_creates_the_relation(resident_client, clinic, resident):
    response = resident_client.get(reverse("clinics:contact_card_login", args=[clinic.pk, "book"]))

    assert response.status_code == 302
    assert response.url == reverse("bookings:book_conditions", args=[clinic.pk])
    relation = ClinicRelation.objects.get(resident=resident, clinic=clinic)
    assert relation.source == RelationSource.CONTACT_CARD and relation.on_start_page
    assert clinic.name in text(resident_client.get(reverse("bookings:start")))


def test_the_contact_cards_manage_link_opens_my_bookings_with_the_relation(resident_client, clinic, resident):
    response = resident_client.get(reverse("clinics:contact_card_login", args=[clinic.pk, "manage"]))

    assert response.status_code == 302 and response.url == reverse("bookings:my_bookings")
    assert ClinicRelation.objects.get(resident=resident, clinic=clinic).on_start_page


def test_the_contact_card_is_no_back_door_into_a_case_type_that_does_not_admit(client, clinic):
    CaseType.objects.filter(clinic=clinic, kind=CaseKind.BOOK).update(area=Area.REGION)
    stranger = ResidentFactory(home_region_code="03")  # lives in another region (R-CASE-2)
    client.force_login(stranger)

    response = client.get(reverse("clinics:contact_card_login", args=[clinic.pk, "book"]))

    assert response.status_code == 302 and response.url == reverse("clinics:detail", args=[clinic.pk])
    assert not ClinicRelation.objects.filter(resident=stranger).exists()
    assert client.get(reverse("clinics:contact_card_login", args=[clinic.pk, "allt"])).status_code == 404


def test_a_logged_in_resident_goes_straight_to_the_flow_from_the_card(resident_client, clinic, resident):
    content = text(resident_client.get(reverse("clinics:detail", args=[clinic.pk])))

    assert f'href="{reverse("bookings:book_conditions", args=[clinic.pk])}"' in content
    assert reverse("clinics:contact_card_login", args=[clinic.pk, "book"]) not in content
