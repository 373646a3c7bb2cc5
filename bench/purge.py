"""``python -m bench.purge``: the web booking log purge (R-LOG-3) alone, on a database of its own.

Fills the log as ``make bench`` does (bench.generate: ``--rows`` rows evenly over ``--days``
days), copies it as a template, and then for each of ``--runs`` runs restores the copy and
purges it while a writer adds a log row every few milliseconds, as bookings do. Reports the
median of the runs: rows gone from the log per second (until no row older than 31 days is
visible), the longest transaction the purge held the log's locks in, the writer's longest
wait, and how long the follow-up drop of the taken-off days' tables took.

    python -m bench.purge [--rows 1100000] [--days 365] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import redis

BASE = Path(__file__).resolve().parent.parent


def _admin(database_url: str) -> str:
    return urlparse(database_url)._replace(path="/postgres").geturl()


def _copy(database_url: str, source: str, target: str) -> None:
    with psycopg.connect(_admin(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}" STRATEGY FILE_COPY')


class Writer(threading.Thread):
    """A log row every few milliseconds on its own connection; keeps the longest insert."""

    def __init__(self, database_url: str) -> None:
        super().__init__(daemon=True)
        self.database_url = database_url
        self.longest = 0.0
        self.rows = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            row = conn.execute("SELECT min(id), (SELECT min(id) FROM accounts_user) FROM clinics_clinic").fetchone()
            if row is None:
                raise RuntimeError("the purge bench database has no clinic")
            clinic, resident = row
            while not self.stopping.is_set():
                began = time.perf_counter()
                conn.execute(
                    "INSERT INTO bookings_webbookinglogentry (changed_at, status, previous_resource, "
                    "previous_type, new_resource, new_type, channel, changed_by, is_late, late_fee_text, "
                    "clinic_id, resident_id, acting_as) "
                    "VALUES (now(), 'booked', '', '', 'r', 't', 'web', '', false, '', %s, %s, 'self')",
                    [clinic, resident],
                )
                self.longest = max(self.longest, time.perf_counter() - began)
                self.rows += 1
                time.sleep(0.003)

    def stop(self) -> float:
        self.stopping.set()
        self.join()
        return self.longest


def _build(rows: int, days: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from .generate import Shape, _region, _restore, _strip, _web_log, residents_insert

    call_command("migrate", verbosity=0)
    shape = Shape(scale=rows / Shape(scale=1.0).log_rows, log_days=days)
    _region(shape)
    residents_insert(1, shape.history_residents)
    saved = _strip(("bookings_webbookinglogentry",))
    _web_log(shape, first_resident=1)
    _restore(saved)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()


def _once(database_url: str) -> dict[str, float]:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from bookings import services

    longest = 0.0

    def batch(_rows: int, seconds: float) -> None:
        nonlocal longest
        longest = max(longest, seconds)

    writer = Writer(database_url)
    writer.start()
    time.sleep(0.2)
    # What must be gone is what was older than the retention when the purge began: a row that
    # crosses the boundary while it runs is for the next purge.
    cutoff = timezone.now() - dt.timedelta(days=settings.TIDBOK_LOG_RETENTION_DAYS)
    began = time.perf_counter()
    rows = services.web_log_purge(on_batch=batch)
    purged = time.perf_counter() - began
    drop = getattr(services, "web_log_detached_drop", None)
    began = time.perf_counter()
    dropped = drop() if drop is not None else 0
    drop_seconds = time.perf_counter() - began
    writer_longest = writer.stop()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bookings_webbookinglogentry WHERE changed_at < %s", [cutoff])
        left = cursor.fetchone()[0]
    connection.close()
    return {
        "rows": rows,
        "purge_s": purged,
        "rows_per_s": rows / purged,
        "max_lock_ms": longest * 1000,
        "writer_max_ms": writer_longest * 1000,
        "tables_dropped": dropped,
        "drop_s": drop_seconds,
        "until_files_dropped_s": purged + drop_seconds,
        "left_older": left,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.purge", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep the template of an earlier call")
    args = parser.parse_args(argv)
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tidbok")
    name = urlparse(base_url).path.lstrip("/") + "_purge_bench"
    template = f"{name}_template"
    url = urlparse(base_url)._replace(path=f"/{name}").geturl()
    os.environ["DATABASE_URL"] = url
    # The drop each purge asks for is run here, timed, not by a worker: its task waits in a queue
    # of this run's own, emptied at the end.
    os.environ["CELERY_QUEUE"] = name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tidbok.settings")
    sys.path.insert(0, str(BASE))
    import django

    django.setup()
    if not args.reuse:
        with psycopg.connect(_admin(base_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        began = time.perf_counter()
        _build(args.rows, args.days)
        print(f"built {args.rows:,} rows over {args.days} days in {time.perf_counter() - began:.0f} s", flush=True)
        _copy(base_url, name, template)
    results = []
    for run in range(args.runs):
        _copy(base_url, template, name)
        result = _once(url)
        results.append(result)
        print(f"run {run + 1}: " + ", ".join(f"{k} {v:,.1f}" for k, v in result.items()), flush=True)
    redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")).delete(name)
    print("median: " + ", ".join(f"{k} {statistics.median(r[k] for r in results):,.1f}" for k in results[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
