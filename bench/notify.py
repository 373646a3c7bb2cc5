"""``notify_per_s``: notifications rendered and delivered per second by one Celery worker process
(R-NOTE-3), each a full e-mail (text, HTML and the booking's .ics) sent over SMTP to a local sink.

The sink is a minimal SMTP server in this process (the standard library only: `make bench` installs
no dev dependencies) that accepts and counts messages. The worker is a real ``celery worker`` with
one process, started with the sink as its mail server; each message goes through the same claim,
render, send and mark as in production.

Standalone (a database of its own, migrated here): ``python -m bench.notify [--count N]``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BASE = Path(__file__).resolve().parent.parent


class _SmtpHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(b"220 sink ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 sink\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                while self.rfile.readline() not in (b".\r\n", b""):
                    pass  # the message itself is not kept: only counted
                self.server.received += 1  # type: ignore[attr-defined]
                self.wfile.write(b"250 OK\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                self.wfile.write(b"250 OK\r\n")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.received = 0
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self) -> SmtpSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def _prepare(count: int) -> list[int]:
    """``count`` pending e-mail notifications about real bookings of residents with a verified
    address: a clinic, a type, a resource, one slot and one booking per resident."""
    from django.utils import timezone

    from accounts.models import ContactDetails, User
    from bookings.models import Booking, Channel
    from clinics.models import AppointmentType, Clinic, Region, Resource
    from notifications.models import Notification, NotificationChannel, NotificationEvent
    from schedules.models import Slot, SlotStatus

    now = timezone.now()
    stamp = f"{time.time_ns()}"
    region, _ = Region.objects.get_or_create(code="01", defaults={"name": "Region Stockholm"})
    clinic = Clinic.objects.create(hsa_id=f"SE-NOTIFY-{stamp}", name="Vårdcentralen Notis", region=region, town="Solna")
    kind = AppointmentType.objects.create(clinic=clinic, internal_name="Besök 20", web_name="Besök")
    resource = Resource.objects.create(clinic=clinic, name="Distriktssköterska")
    residents = User.objects.bulk_create(User(username=f"notify-{stamp}-{i}") for i in range(count))
    ContactDetails.objects.bulk_create(
        ContactDetails(user=user, email=f"invanare{i}@example.se", email_verified_at=now)
        for i, user in enumerate(residents)
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
            is_published=True,
        )
        for i in range(count)
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
            channel=Channel.WEB,
            created_by=user,
        )
        for slot, user in zip(slots, residents, strict=True)
    )
    events = NotificationEvent.objects.bulk_create(
        NotificationEvent(
            key=f"bench-{stamp}-{b.pk}",
            kind="booked",
            by="resident",
            resident_id=b.resident_id,
            clinic=clinic,
            booking=b,
        )
        for b in bookings
    )
    notifications = Notification.objects.bulk_create(
        Notification(event=event, channel=NotificationChannel.EMAIL, to=f"invanare{i}@example.se")
        for i, event in enumerate(events)
    )
    return [n.pk for n in notifications]


@contextlib.contextmanager
def mail_worker(sink: SmtpSink, log: Path) -> Iterator[None]:
    """One real ``celery worker`` process (solo pool) on this run's queue, with ``sink`` as its mail
    server and its output in ``log``; stopped when the block ends."""
    env = {
        **os.environ,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "TIDBOK_PUBLIC_URL": "https://tidbok.example.se",
    }
    command = [
        str(Path(sys.executable).with_name("celery")),
        "--app=tidbok",
        "worker",
        f"--queues={os.environ['CELERY_QUEUE']}",
        "--concurrency=1",
        "--pool=solo",
        "--loglevel=WARNING",
        "--without-gossip",
        "--without-mingle",
    ]
    with log.open("wb") as out:
        worker = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=BASE, env=env)
    try:
        yield
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()


def standalone_setup(database_url: str) -> None:
    """Django on a freshly made and migrated database of its own, for a part run alone."""
    from bench.__main__ import _configure
    from bench.run import _recreate_database

    _configure(database_url)
    _recreate_database(database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def measure(*, count: int, log: Path) -> dict[str, Any]:
    """Deliver ``count`` e-mails with one worker process; returns the rate and what the sink got."""
    from notifications.models import Notification, NotificationState
    from tidbok.celery import app

    ids = _prepare(count)
    with SmtpSink() as sink:
        app.control.purge()
        # Queued before the worker starts, so the clock measures delivery, not the queueing.
        for pk in ids:
            app.send_task("notifications.tasks.notification_deliver", args=[pk])
        with mail_worker(sink, log):
            deadline = time.monotonic() + 600
            began = None
            while time.monotonic() < deadline:
                if began is None and (
                    sink.received
                    or Notification.objects.filter(pk__in=ids).exclude(state=NotificationState.PENDING).exists()
                ):
                    began = time.perf_counter()
                if Notification.objects.filter(pk__in=ids, state=NotificationState.SENT).count() == count:
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError(f"notifications not delivered in 10 minutes; see {log}")
            elapsed = time.perf_counter() - (began or time.perf_counter())
    if sink.received != count:
        # Speed means nothing if a message went twice or not at all (R-NOTE-3).
        raise RuntimeError(f"the SMTP sink received {sink.received} e-mails for {count} notifications; see {log}")
    return {"count": count, "seconds": elapsed, "received": sink.received, "per_s": count / max(elapsed, 1e-9)}


def main(argv: list[str] | None = None) -> None:
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench.notify", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tidbok_bench_notify"),
    )
    args = parser.parse_args(argv)
    standalone_setup(args.database_url)
    result = measure(count=args.count, log=Path(tempfile.mkdtemp(prefix="tidbok-notify-")) / "celery.log")
    print(
        f"notify_per_s {result['per_s']:.1f} ({result['count']} e-mails in {result['seconds']:.1f} s, "
        f"{result['received']} received by the SMTP sink)"
    )


if __name__ == "__main__":
    main()
