"""R-NOTE-5 under real parallel PostgreSQL connections: a double-click (or two tabs) on "make a
calendar address" gives one working address and no error."""

from __future__ import annotations

import pytest

from bookings.models import CalendarFeed
from bookings.selectors import calendar_feed_for_token
from bookings.services import calendar_feed_create

from .test_concurrency import run_in_parallel

pytestmark = pytest.mark.django_db(transaction=True)

ATTEMPTS = 12


@pytest.mark.parametrize("existing", [False, True], ids=["first-address", "new-address"])
def test_parallel_requests_for_an_address_leave_exactly_one_working_address(resident, existing):
    if existing:
        calendar_feed_create(resident=resident)

    results = run_in_parallel([lambda: calendar_feed_create(resident=resident) for _ in range(ATTEMPTS)])

    assert all(isinstance(token, str) for token in results), results
    assert CalendarFeed.objects.filter(resident=resident).count() == 1
    working = [token for token in results if calendar_feed_for_token(token=token) is not None]
    assert len(working) == 1
