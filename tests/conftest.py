from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone, translation

from accounts.models import Role
from core.sms import LocmemBackend
from tidbok.celery import app as celery_app

from .factories import AppointmentTypeFactory, ClinicFactory, ResidentFactory, ResourceFactory, SlotFactory, staff
from .workspace import login as workspace_login


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Templates resolve {% static %} without a collectstatic manifest (make test builds one separately)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in Swedish, the default; a request in English must not leak into the next test."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _slot_times_start_tomorrow_morning():
    """Default slot times count up from tomorrow 08:00 in every test, whatever ran before."""
    SlotFactory.reset_sequence()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache (Redis); each test starts from zero."""
    cache.clear()


@pytest.fixture(autouse=True)
def _sms_in_memory(settings):
    """Text messages are kept in ``core.sms.LocmemBackend.outbox``, as e-mails in ``mail.outbox``."""
    settings.SMS_BACKEND = "core.sms.LocmemBackend"
    LocmemBackend.outbox.clear()
    yield
    LocmemBackend.outbox.clear()


@pytest.fixture(autouse=True)
def _bulk_refresh_every_time(settings):
    """Tests check the FHIR bulk files after each change, refreshed by eager tasks one after
    another; the once-a-minute limit has its own tests (tests/fhir/test_bulk_refresh_rate.py)."""
    settings.TIDBOK_BULK_REFRESH_SECONDS = 0


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run inline when their transaction commits; tests marked ``worker`` use a real one."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def clinic(db):
    return ClinicFactory(name="Vårdcentralen Solna")


@pytest.fixture
def other_clinic(db):
    return ClinicFactory(name="Vårdcentralen Nacka")


@pytest.fixture
def appointment_type(clinic):
    return AppointmentTypeFactory(clinic=clinic, internal_name="Uppföljning 30 min", web_name="Besök")


@pytest.fixture
def resource(clinic):
    return ResourceFactory(clinic=clinic, name="Distriktssköterska")


@pytest.fixture
def slot(appointment_type, resource):
    return SlotFactory(appointment_type=appointment_type, resource=resource)


@pytest.fixture
def resident(db):
    return ResidentFactory(first_name="Anna", last_name="Andersson")


@pytest.fixture
def other_resident(db):
    return ResidentFactory(first_name="Bertil", last_name="Berg")


@pytest.fixture
def scheduler(clinic):
    return staff(Role.SCHEDULER, clinic)


@pytest.fixture
def local_admin(clinic):
    return staff(Role.LOCAL_ADMIN, clinic)


@pytest.fixture
def support(clinic):
    return staff(Role.SUPPORT, clinic)


@pytest.fixture
def region_it(clinic):
    return staff(Role.REGION_IT, clinic)


@pytest.fixture
def other_scheduler(other_clinic):
    return staff(Role.SCHEDULER, other_clinic)


@pytest.fixture
def resident_client(client, resident):
    client.force_login(resident)
    return client


@pytest.fixture
def sched(client, scheduler):
    """A scheduler of ``clinic`` logged in with password and second factor."""
    return workspace_login(client, scheduler)


@pytest.fixture
def day_after_tomorrow() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=2)
