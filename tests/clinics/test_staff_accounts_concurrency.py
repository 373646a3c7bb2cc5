"""Region IT's staff changes under real parallel PostgreSQL connections: two revocations of a
person's last two roles leave one role (the person's row lock), and two invitations of one address
make one account (the unique username). The negative control takes the lock away and shows the
same race then leaves the person with no role at all."""

from __future__ import annotations

from collections import Counter
from functools import partial
from unittest import mock

import pytest

from accounts.models import Membership, Role, User
from clinics import staff_services
from clinics.staff_services import staff_invite, staff_role_revoke
from core.errors import ErrorCode

from ..bookings.test_concurrency import run_in_parallel
from ..factories import ClinicFactory, staff

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 5


def _outcome(results: list[object]) -> Counter:
    return Counter(r if isinstance(r, ErrorCode) else type(r).__name__ for r in results)


def _revoke_both_last_roles() -> tuple[Counter, int]:
    clinic = ClinicFactory()
    region_it = staff(Role.REGION_IT, clinic)
    member = staff(Role.SCHEDULER, clinic)
    second = Membership.objects.create(user=member, role=Role.SUPPORT, clinic=clinic)
    ids = [member.memberships.get(role=Role.SCHEDULER).pk, second.pk]

    results = run_in_parallel(
        [partial(staff_role_revoke, actor=region_it, clinic=clinic, member=member, membership_id=pk) for pk in ids]
    )
    return _outcome(results), Membership.objects.filter(user=member).count()


def test_two_revocations_at_once_never_take_the_last_role():
    for _ in range(ROUNDS):
        outcomes, left = _revoke_both_last_roles()
        assert left == 1
        assert outcomes == {"Membership": 1, ErrorCode.PERMISSION_DENIED: 1}  # one revoked, one refused


def test_without_the_person_lock_the_same_race_takes_every_role():
    """Negative control: the test above would catch a missing lock."""
    lost = 0
    with mock.patch.object(staff_services, "_lock", lambda member: None):
        for _ in range(ROUNDS * 4):
            _outcomes, left = _revoke_both_last_roles()
            lost += left == 0
            if lost:
                break
    assert lost, "the race never showed without the lock"


def test_two_invitations_of_one_address_at_once_make_one_account():
    clinic = ClinicFactory()
    admins = [staff(Role.REGION_IT, clinic) for _ in range(4)]
    invite = {"email": "samma@regionstockholm.se", "first_name": "Sam", "last_name": "Samtidig", "role": "support"}

    results = run_in_parallel(
        [partial(staff_invite, actor=a, clinic=clinic, role_clinic_id=clinic.pk, **invite) for a in admins]
    )

    assert _outcome(results) == {"User": 1, ErrorCode.INVALID_INPUT: 3}
    assert User.objects.filter(email="samma@regionstockholm.se").count() == 1
    assert Membership.objects.filter(user__email="samma@regionstockholm.se").count() == 1
