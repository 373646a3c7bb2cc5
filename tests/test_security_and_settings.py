"""R-AUTH-2 (staff need a second factor), R-AUTH-3 (production settings pass check --deploy),
and the settings module's handling of bad environment values."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.apps import apps
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from accounts.models import Role
from tidbok.settings import env_bool, env_int

from .factories import login_with_second_factor, staff

ROOT = Path(__file__).resolve().parent.parent


def test_staff_first_login_must_set_up_totp_before_using_the_site(client, clinic):
    user = staff(Role.SCHEDULER, clinic)
    user.set_password("a-long-demo-password")
    user.save()

    client.post(reverse("account_login"), {"login": user.email, "password": "a-long-demo-password"})
    blocked = client.get(reverse("clinics:search"))
    assert blocked.status_code == 302 and blocked.url == reverse("mfa_index")

    # allauth asks for the password once more before a factor is added.
    assert client.get(reverse("mfa_activate_totp")).url.startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": "a-long-demo-password"})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    secret = client.session["mfa.totp.secret"]
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    # Setting the factor up proves it: this session counts as having passed it (R-SEC-2).
    client.post(reverse("mfa_activate_totp"), {"code": code})

    assert client.get(reverse("clinics:search")).status_code == 200


def test_staff_whose_session_passed_totp_may_use_the_site(client, clinic):
    user = staff(Role.SUPPORT, clinic)
    login_with_second_factor(client, user)

    assert client.get(reverse("clinics:search")).status_code == 200


def test_superuser_without_second_factor_cannot_open_the_admin(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.se", "a-long-password-1234")
    client.force_login(user)

    response = client.get("/admin/")

    assert response.status_code == 302 and response.url == reverse("mfa_index")


def test_residents_are_not_asked_for_a_staff_second_factor(client, resident):
    client.force_login(resident)

    assert client.get(reverse("clinics:search")).status_code == 200


def test_staff_cannot_sign_themselves_up(client, db):
    response = client.post(
        "/accounts/signup/", {"email": "new@example.se", "password1": "x" * 14, "password2": "x" * 14}
    )

    assert response.status_code == 404  # the signup page does not exist (R-AUTH-1)
    assert not apps.get_model("accounts", "User").objects.filter(email="new@example.se").exists()


def test_every_model_has_a_working_admin_changelist(client, admin_user):
    admin_client = login_with_second_factor(client, admin_user)
    for model in apps.get_models():
        if model._meta.app_label not in {"accounts", "clinics", "schedules", "bookings"}:
            continue
        assert model in admin.site._registry, model
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert admin_client.get(url).status_code == 200, url


def test_production_settings_pass_check_deploy():
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"}
        and key != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": "p9$Kz!2vQx@7Lm#4Rt^8Wy&1Bn*6Hc(3Jd)5Fg_0Sa+Ue=Io-Pl~Ok`Mi",
            "ALLOWED_HOSTS": "tidbok.example.se",
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    result = subprocess.run(
        [sys.executable, "-c", "import tidbok.settings"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(("claim", "timeout", "starts"), [("30", "30", False), ("20", "30", False), ("31", "30", True)])
def test_a_notification_claim_must_outlast_the_e_mail_timeout(claim, timeout, starts):
    """R-OPS-2: a claim that runs out while its send may still be going would be sent again."""
    env = {**os.environ, "TIDBOK_NOTIFY_CLAIM_SECONDS": claim, "EMAIL_TIMEOUT": timeout}
    result = subprocess.run(
        [sys.executable, "-c", "import tidbok.settings"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert (result.returncode == 0) is starts, result.stderr
    assert ("TIDBOK_NOTIFY_CLAIM_SECONDS must be longer than EMAIL_TIMEOUT" in result.stderr) is not starts


@pytest.mark.parametrize(("claim", "timeout", "starts"), [("31", "31", False), ("32", "31", True)])
def test_a_notification_claim_must_outlast_the_sms_gateway_timeout(claim, timeout, starts):
    """R-NOTE-3: the same for text messages."""
    env = {**os.environ, "TIDBOK_NOTIFY_CLAIM_SECONDS": claim, "EMAIL_TIMEOUT": "5", "SMS_GATEWAY_TIMEOUT": timeout}
    result = subprocess.run(
        [sys.executable, "-c", "import tidbok.settings"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert (result.returncode == 0) is starts, result.stderr
    assert ("TIDBOK_NOTIFY_CLAIM_SECONDS must be longer than SMS_GATEWAY_TIMEOUT" in result.stderr) is not starts


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("off", False), ("", False)])
def test_env_bool_reads_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("TIDBOK_FLAG", raw)
    assert env_bool("TIDBOK_FLAG", not expected) is expected


def test_bad_environment_values_stop_start_up_with_the_variable_named(monkeypatch):
    monkeypatch.setenv("TIDBOK_FLAG", "maybe")
    monkeypatch.setenv("TIDBOK_NUMBER", "many")
    with pytest.raises(ImproperlyConfigured, match="TIDBOK_FLAG"):
        env_bool("TIDBOK_FLAG", False)
    with pytest.raises(ImproperlyConfigured, match="TIDBOK_NUMBER"):
        env_int("TIDBOK_NUMBER", 1)


def test_home_page_lists_clinics_with_the_case_types_they_offer(client, clinic, other_clinic):
    response = client.get(reverse("clinics:search"), {"q": "Solna"})

    content = response.content.decode()
    assert response.status_code == 200
    assert clinic.name in content and other_clinic.name not in content
    assert 'lang="sv"' in content


def test_manage_py_in_a_bare_shell_runs_in_development_mode_and_migrations_match_the_models():
    """No SECRET_KEY means a developer's shell: manage.py works there (and the models have no
    change without a migration). With DEBUG=0 and no SECRET_KEY the settings still refuse."""
    bare = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL"}}
    check = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env=bare,
        capture_output=True,
        text=True,
        timeout=120,
    )
    setup = "import django; django.setup()"
    refused = subprocess.run(
        [sys.executable, "-c", setup],
        cwd=ROOT,
        env={**bare, "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "tidbok.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert check.returncode == 0, check.stdout + check.stderr
    assert "No changes detected" in check.stdout
    assert refused.returncode != 0 and "SECRET_KEY must be set" in refused.stderr
