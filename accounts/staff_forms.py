"""Staff login and second-factor forms: allauth's own, with Tidbok's labels and hints.

allauth's widgets carry placeholders instead of hints and labels in its own Swedish ("Epost-adress"); the staff
pages render every field through the shared partial (``templates/_field.html``), which writes label, hint and
error the GOV.UK way, so these forms only say what each field is. The rules (rate limits, code checks, the
authentication records R-SEC-2 reads) stay allauth's.
"""

from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm, ReauthenticateForm
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.base.forms import ReauthenticateForm as MfaReauthenticateForm
from allauth.mfa.totp.forms import ActivateTOTPForm
from django import forms
from django.utils.translation import gettext_lazy as _


def _describe(field: forms.Field, label: Any, help_text: Any = "", **attrs: str) -> None:
    field.label = label
    field.help_text = help_text
    # A placeholder vanishes as the user types and is read inconsistently by screen readers: the hint says it.
    field.widget.attrs.pop("placeholder", None)
    field.widget.attrs.update(attrs)


_CODE_HINT = _("The six digits your authenticator app shows now, or one of your recovery codes.")


class StaffLoginForm(LoginForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _describe(self.fields["login"], _("E-mail address"), autocomplete="username", spellcheck="false")
        _describe(self.fields["password"], _("Password"), autocomplete="current-password")


class StaffReauthenticateForm(ReauthenticateForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _describe(self.fields["password"], _("Password"), autocomplete="current-password")


class StaffAuthenticateForm(AuthenticateForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _describe(self.fields["code"], _("Code"), _CODE_HINT, autocomplete="one-time-code", spellcheck="false")


class StaffMfaReauthenticateForm(MfaReauthenticateForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _describe(self.fields["code"], _("Code"), _CODE_HINT, autocomplete="one-time-code", spellcheck="false")


class StaffActivateTOTPForm(ActivateTOTPForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _describe(
            self.fields["code"],
            _("Code from the app"),
            _("Six digits. A new code appears every 30 seconds."),
            autocomplete="one-time-code",
            inputmode="numeric",
        )
