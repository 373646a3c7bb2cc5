"""Staff accounts and roles under /personal/<clinic_id>/: who holds which role at the clinic (local
admin, read-only) and region IT's management of the region's staff."""

from django.urls import path

from . import staff_views as views

MEMBER = "personalkonton/<int:member_id>/"

urlpatterns = [
    path("behorigheter/", views.clinic_roles, name="clinic_roles"),
    path("personalkonton/", views.staff_accounts, name="staff_accounts"),
    path("personalkonton/bjud-in/", views.staff_invite_view, name="staff_invite"),
    path(MEMBER, views.staff_member, name="staff_member"),
    path(f"{MEMBER}roller/", views.staff_role_grant_view, name="staff_role_grant"),
    path(f"{MEMBER}roller/<int:membership_id>/ta-bort/", views.staff_role_revoke_view, name="staff_role_revoke"),
    path(f"{MEMBER}avaktivera/", views.staff_deactivate_view, name="staff_deactivate"),
    path(f"{MEMBER}aktivera/", views.staff_reactivate_view, name="staff_reactivate"),
    path(f"{MEMBER}aterstall-tvafaktor/", views.staff_second_factor_reset_view, name="staff_second_factor_reset"),
    path(f"{MEMBER}skicka-inbjudan-igen/", views.staff_invitation_resend_view, name="staff_invitation_resend"),
]
