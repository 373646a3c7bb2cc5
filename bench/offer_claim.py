"""``offer_claim_p95_ms``: from a cancellation to the first waitlist offer being sent (R-WAIT-3), with a
real Celery worker: the cancellation commits, the worker's publisher hands the freed time to the
waitlist, the offer is recorded and its e-mail delivered to a local SMTP sink. Measured per freed
time, one after another, from just before the cancellation to the offer e-mail's ``sent_at``.

Standalone (a database of its own, migrated here): ``python -m bench.offer_claim [--rounds N]``.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

from .notify import SmtpSink, mail_worker, standalone_setup


def _prepare(rounds: int) -> tuple[Any, list[tuple[int, int]]]:
    """A clinic whose type offers freed times to the waitlist first, a scheduler, and per round a
    booked time and a waiting resident with a verified e-mail address who is offered it."""
    from django.utils import timezone

    from accounts.models import ContactDetails, Membership, Role, User
    from bookings.models import Booking, Channel, WaitlistEntry
    from clinics.models import AppointmentType, Clinic, FreedTimes, Region, Resource
    from schedules.models import Slot, SlotStatus

    now = timezone.now()
    stamp = f"{time.time_ns()}"
    region, _ = Region.objects.get_or_create(code="01", defaults={"name": "Region Stockholm"})
    clinic = Clinic.objects.create(hsa_id=f"SE-OFFER-{stamp}", name="Vårdcentralen Kö", region=region, town="Solna")
    kind = AppointmentType.objects.create(
        clinic=clinic, internal_name="Läkarbesök 20", web_name="Läkarbesök", freed_times=FreedTimes.WAITLIST
    )
    resource = Resource.objects.create(clinic=clinic, name="Distriktsläkare")
    scheduler = User.objects.create(username=f"offer-scheduler-{stamp}", email=f"schema-{stamp}@example.se")
    Membership.objects.create(user=scheduler, clinic=clinic, role=Role.SCHEDULER)
    bookers = User.objects.bulk_create(User(username=f"offer-{stamp}-b{i}") for i in range(rounds))
    waiting = User.objects.bulk_create(User(username=f"offer-{stamp}-w{i}") for i in range(rounds))
    ContactDetails.objects.bulk_create(
        ContactDetails(user=user, email=f"ko{i}@example.se", email_verified_at=now) for i, user in enumerate(waiting)
    )
    first = now + dt.timedelta(days=2)
    slots = Slot.objects.bulk_create(
        Slot(
            clinic=clinic,
            appointment_type=kind,
            resource=resource,
            start=first + dt.timedelta(minutes=20 * i),
            end=first + dt.timedelta(minutes=20 * i + 20),
            status=SlotStatus.BOOKED,
        )
        for i in range(rounds)
    )
    bookings = Booking.objects.bulk_create(
        Booking(
            slot=slot,
            resident=user,
            clinic=clinic,
            appointment_type=kind,
            resource=resource,
            start=slot.start,
            end=slot.end,
            channel=Channel.STAFF,
            created_by=scheduler,
        )
        for slot, user in zip(slots, bookers, strict=True)
    )
    for user in waiting:
        WaitlistEntry.objects.create(clinic=clinic, resident=user, appointment_type=kind)
    return scheduler, [(b.pk, user.pk) for b, user in zip(bookings, waiting, strict=True)]


def measure(*, rounds: int, log: Path) -> dict[str, Any]:
    """Cancel ``rounds`` bookings one at a time; for each, the time until its offer e-mail is sent."""
    from django.utils import timezone

    from bookings.services import booking_cancel
    from notifications.models import Notification, NotificationState
    from tidbok.celery import app

    scheduler, pairs = _prepare(rounds)
    latencies: list[float] = []
    with SmtpSink() as sink:
        app.control.purge()
        with mail_worker(sink, log):
            for booking_id, waiting_id in pairs:
                began = timezone.now()
                booking_cancel(actor=scheduler, booking_id=booking_id)
                sent = Notification.objects.filter(
                    event__kind="waitlist_offer", event__resident_id=waiting_id, state=NotificationState.SENT
                )
                deadline = time.monotonic() + 120
                while (sent_at := sent.values_list("sent_at", flat=True).first()) is None:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"no offer was sent within 2 minutes of a cancellation; see {log}")
                    time.sleep(0.01)
                latencies.append((sent_at - began).total_seconds() * 1000)
    ordered = sorted(latencies)
    return {
        "rounds": rounds,
        "p50_ms": ordered[len(ordered) // 2],
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))],
        "received": sink.received,
    }


def main(argv: list[str] | None = None) -> None:
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench.offer_claim", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tidbok_bench_offer"),
    )
    args = parser.parse_args(argv)
    standalone_setup(args.database_url)
    result = measure(rounds=args.rounds, log=Path(tempfile.mkdtemp(prefix="tidbok-offer-")) / "celery.log")
    print(
        f"offer_claim_p95_ms {result['p95_ms']:.0f} (p50 {result['p50_ms']:.0f} ms over {result['rounds']} "
        f"cancellations, {result['received']} offer e-mails received by the SMTP sink)"
    )


if __name__ == "__main__":
    main()
