"""Profile the hot paths in-process against the bench database (after `make bench` built it).

    .venv/bin/python -m bench.profile booking 200
    .venv/bin/python -m bench.profile availability 200
    .venv/bin/python -m bench.profile availability-statements
    .venv/bin/python -m bench.profile hello 200

Runs the requests through Django's test client (the same middleware and views gunicorn serves)
once to warm up, then again under pyinstrument, and prints the time per request and the profile.
New residents are created for the bookings; the database is the bench's own.

``booking_statements`` (``make bench``'s ``booking_queries``) lists the SQL statements one web
booking sends the same way, in-process.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable

from . import __main__ as entry


def main(argv: list[str]) -> int:
    what, count = argv[0], int(argv[1]) if len(argv) > 1 else 100
    entry._configure(os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tidbok_bench"))
    import django

    django.setup()
    from django.test import Client
    from pyinstrument import Profiler

    from accounts.models import User

    from .generate import clinic_types, free_slots, next_resident_number, residents_insert

    if what == "availability-statements":
        for sql in availability_statements():
            print(sql)
        return 0
    first = next_resident_number()
    residents_insert(first, 2 * count)
    clients: list[Client] = []
    for user in User.objects.filter(username__in=[f"bench-{n}" for n in range(first, first + 2 * count)]):
        client = Client(HTTP_HOST="127.0.0.1")
        if clients:
            # One handler for all, as a gunicorn worker has: a new client loads the middleware
            # again on its first request (WhiteNoise scans the static files), which is no part
            # of a request.
            client.handler = clients[0].handler
        client.force_login(user)
        clients.append(client)
    if what == "booking":
        slots = free_slots(2 * count)

        def request(i: int) -> int:
            path = "/api/v1/bookings/"
            return clients[i].post(path, {"slot": slots[i]}, content_type="application/json").status_code

        expected = 201
    elif what == "availability":
        pairs = clinic_types()

        def request(i: int) -> int:
            clinic, type_id = random.choice(pairs)
            return clients[i].get(f"/api/v1/clinics/{clinic}/free-times/", {"type": type_id}).status_code

        expected = 200
    elif what == "hello":
        # The bench's hello_rps: the whole middleware stack with a resident's session, the floor
        # under every other read (availability_rps is measured as a share of it).

        def request(i: int) -> int:
            return clients[i].get("/healthz/").status_code

        expected = 200
    else:
        sys.exit("profile what? booking | availability | availability-statements | hello")
    _run(request, range(count), expected)
    if what != "booking":
        # A read can be asked again by the same residents: timed once more without the profiler,
        # in this process's CPU time (the test client's share included, the same for every read).
        cpu, began = time.process_time(), time.perf_counter()
        _run(request, range(count), expected)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - began
        per_request = f"{cpu / count * 1000:.2f} ms CPU, {wall / count * 1000:.2f} ms wall per request"
        print(f"{what}: {per_request}, without the profiler")
    profiler = Profiler()
    profiler.start()
    began = time.perf_counter()
    _run(request, range(count, 2 * count), expected)
    elapsed = time.perf_counter() - began
    profiler.stop()
    print(f"{what}: {elapsed / count * 1000:.2f} ms per request, in-process, one at a time (with the profiler)")
    print(profiler.output_text(unicode=True, color=False))
    return 0


def booking_statements() -> list[str]:
    """The SQL statements one resident's ``POST /api/v1/bookings/`` sends, session to answer,
    ``BEGIN`` and ``COMMIT`` and the outbox's relay after the commit included: a second booking,
    after one that warmed the process up as gunicorn's workers are, each by a resident whose
    session has already served a page (as the bench's residents' have)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    from .generate import free_slots, next_resident_number, residents_insert

    first = next_resident_number()
    residents_insert(first, 2)
    slots = free_slots(2)
    statements: list[str] = []
    for user, slot in zip(
        User.objects.filter(username__in=[f"bench-{first}", f"bench-{first + 1}"]), slots, strict=True
    ):
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        client.get("/api/v1/bookings/")
        with CaptureQueriesContext(connection) as captured:
            status = client.post("/api/v1/bookings/", {"slot": slot}, content_type="application/json").status_code
        if status != 201:
            raise RuntimeError(f"the counted booking answered {status}, expected 201")
        statements = [query["sql"] for query in captured.captured_queries]
    return statements


def availability_statements() -> list[str]:
    """The SQL statements one resident's ``GET /api/v1/clinics/<id>/free-times/?type=<id>``
    sends, session to answer, when the clinic's list is already cached (as it is for all but
    the first reader after a change): the resident's second read, the first having warmed the
    process and the cache."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    from .generate import clinic_types, next_resident_number, residents_insert

    first = next_resident_number()
    residents_insert(first, 1)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=f"bench-{first}"))
    clinic, type_id = clinic_types()[0]
    path = f"/api/v1/clinics/{clinic}/free-times/"
    client.get(path, {"type": type_id})
    with CaptureQueriesContext(connection) as captured:
        status = client.get(path, {"type": type_id}).status_code
    if status != 200:
        raise RuntimeError(f"the counted read answered {status}, expected 200")
    return [query["sql"] for query in captured.captured_queries]


def _run(request: Callable[[int], int], indexes: range, expected: int) -> None:
    for i in indexes:
        status = request(i)
        if status != expected:
            raise SystemExit(f"request {i} answered {status}, expected {expected}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
