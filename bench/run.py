"""The phases of ``make bench``, in order, and the report."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg
import redis

from .notify import measure as notify_measure
from .offer_claim import measure as offer_claim_measure
from .profile import booking_statements

HERE = Path(__file__).resolve().parent
BASE = HERE.parent


# Residents at once: twice gunicorn's workers keeps every worker busy. wrk is a closed loop, so
# more connections only lengthen the queue in front of the workers (latency = connections /
# throughput) without adding throughput; the overload phase shows what happens beyond.
CONNECTIONS = 4 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class Plan:
    scale: float
    seconds: float  # each measured wrk run, and pgbench
    connections: int  # residents at once, for reads and bookings alike
    publish_resources: int
    purge_booking_seconds: float  # bookings prepared for the purge phase, at ~PREPARED_RATE
    contenders: int = 200
    warmup_seconds: float = 2
    notifications: int = 1000  # e-mails delivered for notify_per_s
    nodes: int = 1  # gunicorn instances behind nginx
    offer_rounds: int = 30  # cancellations whose waitlist offer is timed for offer_claim_p95_ms

    @classmethod
    def make(cls, scale: float, *, quick: bool, nodes: int = 1) -> Plan:
        return cls(
            scale=scale,
            nodes=nodes,
            seconds=3 if quick else 15,
            connections=CONNECTIONS,
            publish_resources=max(2, round(100 * scale)),
            purge_booking_seconds=10 if quick else 60,
            warmup_seconds=1 if quick else 2,
            notifications=100 if quick else 1000,
            offer_rounds=10 if quick else 30,
        )


# Residents (each with a session and a free slot) prepared per second of booking load: above any
# rate this machine reaches, so wrk never runs out (it would count it, see wrk.lua).
PREPARED_RATE = 800
# (resident, slot) pairs prepared per second of pgbench.
PG_PREPARED_RATE = 6000
# The minimal booking transaction (booking_min.sql) runs for the same time as booking.sql, on the
# pairs booking.sql left, when they would last at this rate (over twice the fastest it has run
# here); on fewer, a fixed count of them at this rate, so it never runs out of free slots.
PG_MIN_RATE = 4000
PG_RESIDENT_POOL = 20_000
# Overload: far more residents at once than the workers serve, and residents prepared for the
# fast refusals (a 503 costs a few milliseconds).
OVERLOAD_CONNECTIONS = 1024
OVERLOAD_PREPARED_RATE = 3000


def _recreate_database(database_url: str) -> None:
    url = urlparse(database_url)
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


_BEGAN = time.monotonic()


def _step(title: str) -> None:
    print(f"· {time.monotonic() - _BEGAN:4.0f} s  {title}", flush=True)


def _machine() -> str:
    from django.db import connection

    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    meminfo = Path("/proc/meminfo").read_text()
    total = re.search(r"MemTotal:\s+(\d+)", meminfo)
    if total is None:
        raise RuntimeError("/proc/meminfo has no MemTotal line")
    kib = int(total.group(1))
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0].split()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}), {kib / 1024 / 1024:.0f} GiB, {platform.system()} {platform.machine()}, "
        f"PostgreSQL {pg}, Python {platform.python_version()}"
    )


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=BASE, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=BASE, capture_output=True)
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _pg_pairs(first_resident: int, slot_ids: list[int]) -> None:
    """The (resident, slot) pairs pgbench books, in start order, residents dealt out cyclically
    from a pool far larger than the slots at any one time, so no resident's bookings overlap."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_pg_pairs")
        cursor.execute("DROP SEQUENCE IF EXISTS bench_pg_pair")
        cursor.execute("CREATE TABLE bench_pg_pairs (n bigint PRIMARY KEY, resident_id bigint, slot_id bigint)")
        cursor.execute("CREATE SEQUENCE bench_pg_pair")
        cursor.execute(
            """
            INSERT INTO bench_pg_pairs
            SELECT s.n, u.id, s.id FROM (
                SELECT id, row_number() OVER (ORDER BY start, id) AS n FROM schedules_slot WHERE id = ANY(%s)
            ) s JOIN accounts_user u ON u.username = 'bench-' || (%s + mod(s.n, %s))
            """,
            [slot_ids, first_resident, PG_RESIDENT_POOL],
        )
        cursor.execute("ANALYZE bench_pg_pairs")


def _pgbench_min(database_url: str, *, clients: int, seconds: float, pairs: int) -> dict[str, float]:
    """pg_min_booking_tps: the minimal booking transaction on the pairs booking.sql left over."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM bench_pg_pair")
        left = pairs - cursor.fetchone()[0]
    if left >= seconds * PG_MIN_RATE:
        # Timed: a fixed count sized for a fast machine ran five times as long on a slow one.
        return _pgbench(database_url, clients=clients, seconds=seconds, script="booking_min.sql")
    per_client = left // clients
    if per_client < 1:
        raise RuntimeError(f"no (resident, slot) pairs left for the minimal booking transaction ({left})")
    return _pgbench(database_url, clients=clients, seconds=seconds, script="booking_min.sql", per_client=per_client)


def _pgbench(
    database_url: str, *, clients: int, seconds: float, script: str = "booking.sql", per_client: int = 0
) -> dict[str, float]:
    """pgbench running ``script`` for ``seconds``, or ``per_client`` transactions per client."""
    url = urlparse(database_url)
    length = f"--transactions={per_client}" if per_client else f"--time={max(1, round(seconds))}"
    command = [
        "pgbench",
        "--no-vacuum",
        f"--host={url.hostname}",
        f"--port={url.port or 5432}",
        f"--username={url.username}",
        f"--client={clients}",
        "--jobs=2",
        length,
        f"--file={HERE / script}",
        url.path.lstrip("/"),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    out = result.stdout + result.stderr
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    done = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if result.returncode != 0 or tps is None or done is None:
        raise RuntimeError(f"pgbench failed:\n{out}")
    return {"tps": float(tps.group(1)), "done": int(done.group(1)), "failed": int(failed.group(1)) if failed else 0}


class _CeleryWorker:
    """The production worker, as it runs beside the web tier during a rush: it publishes freed
    times, invalidates the free-times lists, sends confirmations and refreshes the FHIR bulk
    export while the HTTP phases are measured, so their cost is inside the numbers."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.name = f"bench-{os.getpid()}@{platform.node()}"

    def __enter__(self) -> _CeleryWorker:
        from tidbok.celery import app

        app.control.purge()  # what an earlier phase left for a worker that is gone
        command = [
            str(Path(sys.executable).with_name("celery")),
            "--app=tidbok",
            "worker",
            f"--queues={os.environ['CELERY_QUEUE']}",
            f"--concurrency={os.cpu_count() or 2}",
            "--loglevel=WARNING",
            f"--hostname={self.name}",
            "--without-gossip",
            "--without-mingle",
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=BASE)
        # Measured only once it is up: its start (Django, the pool's processes) is no part of a rush.
        deadline = time.monotonic() + 120
        while not app.control.ping(destination=[self.name], timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start; see {self.log}")
        return self

    def __exit__(self, *exc: object) -> None:
        # A cold shutdown: the tasks it holds are the measured phases' leftovers, purged before the
        # next worker starts; a warm one would first finish them.
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _publish(plan: Plan, work: Path) -> dict[str, float]:
    """A scheduler publishes a 60-day schedule on each of ``publish_resources`` new resources;
    timed until every slot is on the web (the running worker's part included)."""
    from accounts.models import User
    from clinics.models import AppointmentType, Resource
    from schedules.models import PublishState, Schedule, Slot, SlotStatus
    from schedules.services import SchedulePattern, schedule_create_and_publish

    scheduler = User.objects.get(username="bench-scheduler")
    types = list(AppointmentType.objects.select_related("clinic").order_by("pk"))
    resources = Resource.objects.bulk_create(
        Resource(clinic=types[i % len(types)].clinic, name=f"Ny distriktssköterska {i}")
        for i in range(plan.publish_resources)
    )
    type_of = {t.clinic_id: t for t in types}
    first = dt.date.today() + dt.timedelta(days=1)
    began = time.perf_counter()
    schedules = [
        schedule_create_and_publish(
            actor=scheduler,
            pattern=SchedulePattern(
                resource=resource,
                appointment_type=type_of[resource.clinic_id],
                weekdays=range(1, 8),
                start_date=first,
                end_date=first + dt.timedelta(days=59),
                day_start=dt.time(7),
                day_end=dt.time(15),
                slot_minutes=20,
            ),
        )[0].pk
        for resource in resources
    ]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        running = Schedule.objects.filter(pk__in=schedules).exclude(publish_state=PublishState.DONE).exists()
        waiting = Slot.objects.filter(
            schedule_id__in=schedules, status=SlotStatus.FREE, is_published=False, is_blocked=False
        ).exists()
        if not running and not waiting:
            break
        time.sleep(0.1)
    else:
        raise RuntimeError(f"publishing did not finish in 10 minutes; see {work / 'celery.log'}")
    elapsed = time.perf_counter() - began
    published = Slot.objects.filter(schedule_id__in=schedules, is_published=True).count()
    return {"slots": published, "seconds": elapsed}


def _purge() -> dict[str, float]:
    from bookings.services import web_log_purge

    longest = 0.0

    def batch(rows: int, seconds: float) -> None:
        nonlocal longest
        longest = max(longest, seconds)

    began = time.perf_counter()
    rows = web_log_purge(on_batch=batch)
    seconds = time.perf_counter() - began
    # The rows are gone from the log when it returns; the worker then drops the days' tables
    # (the task the purge asked for), timed until none is left: the disk's share of the work.
    while _detached_day_tables():
        if time.perf_counter() - began > 600:
            raise RuntimeError("the worker did not drop the purged days' tables in 10 minutes")
        time.sleep(0.05)
    dropped = time.perf_counter() - began
    return {"rows": rows, "seconds": seconds, "max_lock_ms": longest * 1000, "files_dropped_s": dropped}


def _detached_day_tables() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relkind IN ('r', 'p') AND NOT relispartition "
            "AND relname ~ '^bookings_webbookinglogentry_(p[0-9]{8}|m[0-9]{6})$'"
        )
        return cursor.fetchone()[0]


def _overload(plan: Plan, server: Any, booked_by: list[Any], data: Path) -> tuple[Any, list[tuple[int, float]], int]:
    """OVERLOAD_CONNECTIONS residents book at once, far more than the workers serve, while
    residents from the booking phase cancel their bookings one after another. Also answers how
    many turned-away requests the nodes counted in the site-wide metric (core.metrics)."""
    from bookings.models import Booking, BookingStatus
    from core import metrics

    from .load import Cancellations, wrk

    by_user = {r.user_id: r for r in booked_by}
    own = Booking.objects.filter(resident_id__in=list(by_user), status=BookingStatus.ACTIVE)
    cancellations = [(by_user[user_id], pk) for user_id, pk in own.values_list("resident_id", "pk")]
    shed_before = metrics.shared_total("tidbok_shed_requests")
    cancelling = Cancellations(server.port, cancellations)
    result = wrk(server.url, path="/", mode="book", data=data, seconds=plan.seconds, connections=OVERLOAD_CONNECTIONS)
    answers = cancelling.stop()
    shed = metrics.shared_total("tidbok_shed_requests") - shed_before
    _step(f"overload: {result.statuses}, {result.timeouts} timeouts; {len(answers)} cancellations meanwhile")
    return result, answers, shed


def _explain() -> tuple[str, int]:
    from accounts.models import User
    from clinics.models import AppointmentType
    from clinics.selectors import WEB_TYPE_Q
    from schedules.selectors import offered_slots

    # A type residents can book on the web: the plan of a type nobody is offered is no query at all.
    appointment_type = AppointmentType.objects.filter(WEB_TYPE_Q).select_related("clinic").order_by("?").first()
    resident = User.objects.filter(username__startswith="bench-", personnummer__isnull=False).first()
    if appointment_type is None or resident is None:
        raise RuntimeError("the bench database has no appointment type or no resident")
    slots = offered_slots(
        clinic=appointment_type.clinic,
        appointment_type=appointment_type,
        resident=resident,
        until=dt.datetime.now(dt.UTC) + dt.timedelta(days=14),
    )
    return slots.explain(analyze=True, buffers=True), slots.count()


def _queue_drained(work: Path) -> float:
    """Wait until the worker has taken every task the phases before left in the queue, so the next
    phase measures its own work; returns the wait (the backlog a rush leaves, in seconds)."""
    began = time.perf_counter()
    # The broker is Redis: a queue is a list of the queue's name.
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    while broker.llen(os.environ["CELERY_QUEUE"]):
        if time.perf_counter() - began > 600:
            raise RuntimeError(f"the worker did not catch up in 10 minutes; see {work / 'celery.log'}")
        time.sleep(0.1)
    return time.perf_counter() - began


def run(plan: Plan, *, database_url: str, port: int, workers: int, output: Path) -> dict[str, Any]:
    _step(f"database {urlparse(database_url).path.lstrip('/')}: dropped and created")
    _recreate_database(database_url)

    import django

    django.setup()
    from django.core.management import call_command

    from .generate import Shape, build, clinic_types, free_slots, next_resident_number, residents_insert
    from .load import (
        Front,
        WrkInBackground,
        burst_on_one_slot,
        residents_log_in,
        sessions_on_every_node,
        throttled_after,
        write_lines,
        wrk,
    )

    shape = Shape(scale=plan.scale)
    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - began
    _step(f"migrated in {migrate_s:.1f} s; building {shape.slots:,} slots …")
    timings = build(shape)
    for name, seconds in timings.steps.items():
        print(f"    {name:<28} {seconds:6.1f} s")
    _step(f"region built in {timings.total:.1f} s")

    n_book = round(plan.seconds * PREPARED_RATE)
    n_purge = round(plan.purge_booking_seconds * PREPARED_RATE)
    n_pg = round(plan.seconds * PG_PREPARED_RATE)
    n_over = round(plan.seconds * OVERLOAD_PREPARED_RATE)
    first = next_resident_number()
    # The last resident is the one whose cancellations test the shared per-resident limit.
    with_sessions = n_book + n_purge + plan.contenders + n_over + 1
    residents_insert(first, with_sessions + PG_RESIDENT_POOL)
    residents = residents_log_in(first, with_sessions)
    slots = free_slots(n_book + n_purge + n_over + 1 + n_pg)
    book_residents, purge_residents, over_residents, contenders = (
        residents[:n_book],
        residents[n_book : n_book + n_purge],
        residents[n_book + n_purge : n_book + n_purge + n_over],
        residents[n_book + n_purge + n_over : -1],
    )
    throttled_resident = residents[-1]
    book_slots, purge_slots, over_slots, contended_slot, pg_slots = (
        slots[:n_book],
        slots[n_book : n_book + n_purge],
        slots[n_book + n_purge : n_book + n_purge + n_over],
        slots[n_book + n_purge + n_over],
        slots[n_book + n_purge + n_over + 1 :],
    )
    _pg_pairs(first + with_sessions, pg_slots)
    pairs = clinic_types()
    rng = random.Random(7)
    work = Path(tempfile.mkdtemp(prefix="tidbok-bench-"))
    readers = book_residents[:5000]
    hello_file = write_lines(work / "hello.txt", [f"{r.session} {r.csrf} /healthz/" for r in readers])
    free_times = write_lines(
        work / "availability.txt",
        [
            f"{r.session} {r.csrf} /api/v1/clinics/{clinic}/free-times/?type={type_id}"
            for r in readers
            for clinic, type_id in [rng.choice(pairs)]
        ],
    )
    bookings = write_lines(
        work / "bookings.txt", [f"{r.session} {r.csrf} {s}" for r, s in zip(book_residents, book_slots, strict=True)]
    )
    purge_bookings = write_lines(
        work / "purge-bookings.txt",
        [f"{r.session} {r.csrf} {s}" for r, s in zip(purge_residents, purge_slots, strict=True)],
    )
    overload_bookings = write_lines(
        work / "overload-bookings.txt",
        [f"{r.session} {r.csrf} {s}" for r, s in zip(over_residents, over_slots, strict=True)],
    )
    _step(f"{with_sessions:,} residents logged in, {len(slots):,} free slots set aside; files in {work}")

    workers = workers or 2 * (os.cpu_count() or 1)
    load = {"connections": plan.connections}
    front = Front(port, nodes=plan.nodes, workers=workers, work=work)
    with front as server:
        worker = _CeleryWorker(work / "celery.log")
        with worker:
            _step(f"nginx on {server.url} before {plan.nodes} gunicorn node(s), {server.workers} workers; warming up")
            wrk(server.url, path="/", mode="get", data=hello_file, seconds=plan.warmup_seconds, **load)
            wrk(server.url, path="/", mode="get", data=free_times, seconds=plan.warmup_seconds, **load)
            hello = wrk(server.url, path="/", mode="get", data=hello_file, seconds=plan.seconds, **load)
            _step(f"hello: {hello.rps:.0f}/s")
            availability = wrk(server.url, path="/", mode="get", data=free_times, seconds=plan.seconds, **load)
            _step(f"availability: {availability.rps:.0f}/s, p95 {availability.p95_ms:.1f} ms")
            booking = wrk(server.url, path="/", mode="book", data=bookings, seconds=plan.seconds, **load)
            booked = booking.count(201)
            _step(f"booking: {booked / booking.duration_s:.0f}/s, p95 {booking.p95_ms:.1f} ms")
            burst = burst_on_one_slot(port, contenders, contended_slot)
            _step(f"{burst.attempts} residents on one slot: {burst.statuses}")
            sessions = sessions_on_every_node(server.nodes, readers[:20])
            admitted = throttled_after(server.nodes, throttled_resident)
            _step(
                f"sessions answered on every node: {sessions}; one resident's POSTs admitted across nodes: {admitted}"
            )
            backlog_s = _queue_drained(work)
            _step(f"the worker caught up with the booking phases {backlog_s:.1f} s after them")
            pg = _pgbench(database_url, clients=plan.connections, seconds=plan.seconds)
            _step(f"pgbench, the same booking transaction: {pg['tps']:.0f} tps")
            pg_min = _pgbench_min(database_url, clients=plan.connections, seconds=plan.seconds, pairs=n_pg)
            _step(f"pgbench, the minimal booking transaction: {pg_min['tps']:.0f} tps")
            publish = _publish(plan, work)
            _step(f"published {publish['slots']:,} slots in {publish['seconds']:.1f} s")
        # The notification rate is one worker's alone: the production worker stops for it.
        notify = notify_measure(count=plan.notifications, log=work / "celery-notify.log")
        _step(f"notifications: {notify['per_s']:.0f}/s by one worker to an SMTP sink")
        # Like the notification rate, one worker's alone, with the production worker stopped.
        offer = offer_claim_measure(rounds=plan.offer_rounds, log=work / "celery-offer.log")
        _step(f"waitlist offers: p95 {offer['p95_ms']:.0f} ms from a cancellation to the offer e-mail")
        with worker:
            during = WrkInBackground(
                server.url,
                path="/",
                mode="book",
                data=purge_bookings,
                seconds=plan.purge_booking_seconds * 10,
                connections=plan.connections,
            )
            time.sleep(1)
            purge = _purge()
            during_purge = during.stop()
            _step(f"purged {purge['rows']:,} log rows in {purge['seconds']:.1f} s while booking")
            overload, cancels, shed_counted = _overload(plan, server, book_residents, overload_bookings)
    statements = booking_statements()
    _step(f"one web booking sent {len(statements)} SQL statements: " + "; ".join(s[:40] for s in statements))
    plan_text, offered = _explain()

    results: dict[str, Any] = {
        "hello_rps": round(hello.rps, 1),
        "availability_rps": round(availability.rps, 1),
        "availability_p95_ms": round(availability.p95_ms, 2),
        "availability_p99_ms": round(availability.p99_ms, 2),
        "booking_rps": round(booked / booking.duration_s, 1),
        "booking_p95_ms": round(booking.p95_ms, 2),
        "booking_errors": booking.requests - booked + booking.socket_errors + booking.timeouts,
        "booking_queries": len(statements),
        "contended_attempts": burst.attempts,
        "contended_successes": burst.successes,
        "contended_5xx": burst.server_errors,
        "pg_booking_tps": round(pg["tps"], 1),
        "pg_min_booking_tps": round(pg_min["tps"], 1),
        "publish_slots_per_s": round(publish["slots"] / publish["seconds"], 1),
        "notify_per_s": round(notify["per_s"], 1),
        "offer_claim_p95_ms": round(offer["p95_ms"], 1),
        "purge_rows_per_s": round(purge["rows"] / purge["seconds"], 1),
        "purge_max_lock_ms": round(purge["max_lock_ms"], 2),
        "purge_files_dropped_s": round(purge["files_dropped_s"], 2),
        "overload_cancel_p95_ms": round(_cancel_p95_ms(cancels), 1),
        "overload_503": overload.count(503),
        "overload_shed_counted": shed_counted,
        "worker_backlog_s": round(backlog_s, 1),
        "nodes": plan.nodes,
        "sessions_on_every_node": sessions,
        "throttle_admitted_across_nodes": admitted,
        "throttle_limit_per_resident": _user_limit(),
        "slots": shape.slots,
        "machine": _machine(),
        "git_commit": _git_commit(),
    }
    output.write_text(json.dumps(results, indent=2) + "\n")
    _report(
        results,
        timings=timings.steps,
        generate_s=timings.total,
        migrate_s=migrate_s,
        availability=availability,
        booking=booking,
        during_purge=during_purge,
        pg=pg,
        purge=purge,
        workers=front.workers,
        plan=plan,
        explain=plan_text,
        offered=offered,
        overload=overload,
        cancels=cancels,
    )
    return results


def _cancel_p95_ms(cancels: list[tuple[int, float]]) -> float:
    """The nearest-rank 95th percentile: with few cancellations it is the slowest, never the fastest."""
    cancelled = sorted(seconds for status, seconds in cancels if status == 204)
    return cancelled[math.ceil(0.95 * len(cancelled)) - 1] * 1000 if cancelled else 0.0


def _user_limit() -> int:
    """Requests a minute one resident may POST to the booking API (the throttle the nodes share)."""
    from django.conf import settings

    number, _, period = str(settings.TIDBOK_RATE_LIMITS["booking_user"]).partition("/")
    if not period.startswith("m"):
        raise RuntimeError("the bench's cross-node throttle check expects a per-minute limit")
    return int(number)


def _report(results: dict[str, Any], **context: Any) -> None:
    r = results
    plan: Plan = context["plan"]
    during = context["during_purge"]
    rows = [
        ("slots in the region", f"{r['slots']:,}", ""),
        ("region generated", f"{context['generate_s']:.1f} s", f"+ {context['migrate_s']:.1f} s migrations"),
        ("hello_rps", f"{r['hello_rps']:.0f}", "the web stack's ceiling"),
        ("availability_rps", f"{r['availability_rps']:.0f}", "goal ≥ 0.8 × hello_rps"),
        ("availability_p95_ms / p99", f"{r['availability_p95_ms']:.1f} / {r['availability_p99_ms']:.1f}", "goal < 50"),
        ("booking_rps", f"{r['booking_rps']:.0f}", "goal ≥ 333"),
        ("booking_p95_ms", f"{r['booking_p95_ms']:.1f}", ""),
        ("booking_errors", f"{r['booking_errors']}", "goal 0"),
        ("booking_queries", f"{r['booking_queries']}", "SQL statements of one web booking; goal ≤ 8"),
        ("worker_backlog_s", f"{r['worker_backlog_s']:.1f}", "the worker's catching up after the booking phases"),
        (
            "contended attempts/successes/5xx",
            f"{r['contended_attempts']}/{r['contended_successes']}/{r['contended_5xx']}",
            "goal n/1/0",
        ),
        ("sessions_on_every_node", f"{r['sessions_on_every_node']}", f"of {20 * r['nodes']} (20 residents per node)"),
        (
            "throttle_admitted_across_nodes",
            f"{r['throttle_admitted_across_nodes']}",
            f"goal {r['throttle_limit_per_resident']}: one resident's limit, counted on every node",
        ),
        ("pg_booking_tps", f"{r['pg_booking_tps']:.0f}", f"pgbench, {plan.connections} clients"),
        ("pg_min_booking_tps", f"{r['pg_min_booking_tps']:.0f}", "lock slot, insert booking, mark slot, log row"),
        ("publish_slots_per_s", f"{r['publish_slots_per_s']:.0f}", f"{plan.publish_resources} resources × 60 days"),
        ("notify_per_s", f"{r['notify_per_s']:.0f}", "e-mails (text, HTML, .ics) by one worker to an SMTP sink"),
        ("offer_claim_p95_ms", f"{r['offer_claim_p95_ms']:.0f}", "a cancellation until its waitlist offer is sent"),
        ("purge_rows_per_s", f"{r['purge_rows_per_s']:.0f}", f"{context['purge']['rows']:,} rows"),
        ("purge_max_lock_ms", f"{r['purge_max_lock_ms']:.1f}", "longest purge transaction"),
        (
            "purge_files_dropped_s",
            f"{r['purge_files_dropped_s']:.1f}",
            "from the purge's start until the worker dropped the days' tables",
        ),
        (
            "bookings during the purge",
            f"{during.count(201) / during.duration_s:.0f}/s",
            f"p95 {during.p95_ms:.1f} ms, {during.requests - during.count(201)} errors",
        ),
    ]
    over, cancels = context["overload"], context["cancels"]
    cancelled = [seconds for status, seconds in cancels if status == 204]
    missing = over.statuses.get("no_retry_after", 0)
    rows += [
        (
            f"overload, {OVERLOAD_CONNECTIONS} at once",
            f"{over.count(201)}/{over.count(503)}/{over.count(429)}",
            f"201/503/429; {over.timeouts} timeouts, {over.server_errors - over.count(503)} other 5xx, "
            f"{missing} without Retry-After, p99 {over.p99_ms:.0f} ms",
        ),
        (
            "overload_shed_counted",
            f"{r['overload_shed_counted']}",
            f"goal ≥ {r['overload_503']}: every 503 above (and any shed after wrk stopped), counted by whichever "
            "node shed it (metrics)",
        ),
        (
            "cancellations meanwhile",
            f"{len(cancelled)}/{len(cancels)}",
            f"answered 204, p95 {r['overload_cancel_p95_ms']:.0f} ms (goal < 500)",
        ),
    ]
    ratio_read = r["availability_rps"] / r["hello_rps"] if r["hello_rps"] else 0
    ratio_book = r["booking_rps"] / r["pg_booking_tps"] if r["pg_booking_tps"] else 0
    rows += [
        ("availability_rps / hello_rps", f"{ratio_read:.2f}", "goal ≥ 0.80"),
        ("booking_rps / pg_booking_tps", f"{ratio_book:.2f}", "goal ≥ 0.07"),
    ]
    print()
    print(f"Tidbok bench — {r['machine']}")
    print(
        f"commit {r['git_commit']}; nginx before {r['nodes']} gunicorn node(s), {context['workers']} workers in all; "
        f"{plan.connections} residents at once"
    )
    width = max(len(name) for name, _v, _n in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>12}  {note}")
    print("\nGeneration steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in context["timings"].items()))
    print(f"\nEXPLAIN ANALYZE of the free-times query ({context['offered']} slots offered in 14 days):")
    print(context["explain"])
