from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # Inside ready(): models can be imported only once every app is loaded.
        from allauth.mfa.models import Authenticator
        from django.db.models.signals import post_save

        from .mfa import on_authenticator_saved

        post_save.connect(on_authenticator_saved, sender=Authenticator, dispatch_uid="accounts.enrolment_counts")


class TidbokAdminConfig(admin_apps.AdminConfig):
    """The Django admin behind the workspace's own login and second factor (R-SEC-1)."""

    default = False
    default_site = "accounts.admin_site.TidbokAdminSite"
