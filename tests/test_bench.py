"""`make bench ARGS=--quick` keeps working: the whole harness runs end to end against a small
region, and its results hold what must hold at any speed. No timing is asserted here; speed
is only ever measured by `make bench` itself. It runs scaled out (`--nodes 2`: two gunicorn
nodes behind nginx on one PostgreSQL and one Redis), so what must hold across nodes is checked
on every run; one node is the same code with one entry in the list."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

BASE = Path(__file__).resolve().parent.parent
METRICS = {
    "hello_rps",
    "availability_rps",
    "availability_p95_ms",
    "availability_p99_ms",
    "booking_rps",
    "booking_queries",
    "booking_p95_ms",
    "booking_errors",
    "contended_attempts",
    "contended_successes",
    "contended_5xx",
    "pg_booking_tps",
    "pg_min_booking_tps",
    "publish_slots_per_s",
    "notify_per_s",
    "offer_claim_p95_ms",
    "purge_rows_per_s",
    "purge_max_lock_ms",
    "purge_files_dropped_s",
    "overload_cancel_p95_ms",
    "overload_503",
    "overload_shed_counted",
    "worker_backlog_s",
    "nodes",
    "sessions_on_every_node",
    "throttle_admitted_across_nodes",
    "throttle_limit_per_resident",
    "slots",
}


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory) -> tuple[dict, str]:
    output = tmp_path_factory.mktemp("bench") / "results.json"
    # The bench sets its own production-like environment; nothing of the test settings leaks in.
    own: tuple[str, ...] = ("DJANGO_", "DATABASE_", "CELERY_", "DEBUG", "REDIS_", "SECRET_KEY", "SECURE_")
    own += ("ALLOWED_HOSTS", "RATE_LIMIT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    # A database, ports, queue and cache keys of this run's own: another run on the same machine
    # (a second checkout) would otherwise drop the database or take the port under it.
    database = f"tidbok_bench_ci_{os.getpid()}"
    env["BENCH_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    port = _free_ports(2 * 2 + 1)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench", "--quick", "--nodes", "2", "--port", str(port), "--output", str(output)],
            cwd=BASE,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return json.loads(output.read_text()), done.stdout


def _free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports on 127.0.0.1 (nginx, then each node's two)."""
    for first in range(20000 + os.getpid() % 20000, 60000, count):
        try:
            with contextlib.ExitStack() as stack:
                for port in range(first, first + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise RuntimeError("no free ports for the bench")


def test_results_have_every_metric_as_a_number(quick_bench):
    results, _ = quick_bench
    assert results.keys() >= METRICS
    for key in METRICS:
        assert isinstance(results[key], int | float) and not isinstance(results[key], bool), key
        assert results[key] >= 0, key
    assert isinstance(results["machine"], str) and "cores" in results["machine"]
    assert isinstance(results["git_commit"], str) and results["git_commit"]


def test_the_rush_is_correct_whatever_the_speed(quick_bench):
    """One slot, 200 residents: exactly one booking and no server errors; every distinct
    booking succeeds (R-BOOK-1)."""
    results, _ = quick_bench
    assert results["contended_attempts"] == 200
    assert results["contended_successes"] == 1
    assert results["contended_5xx"] == 0
    assert results["booking_errors"] == 0
    assert results["booking_rps"] > 0 and results["availability_rps"] > 0 and results["pg_booking_tps"] > 0
    # Counted in-process on a real booking: at least the session, the slot and the insert.
    assert results["booking_queries"] >= 3


def test_scaled_out_the_nodes_share_sessions_and_limits(quick_bench):
    """Two nodes behind nginx: every resident's session answers on both (sessions live in the
    database, not in a process), one resident's POSTs taking turns among the nodes are
    throttled at the one per-resident limit (counted in Redis), not at a multiple of it, and the
    requests the nodes shed under overload add up in one count.
    The contended race above ran through the same two nodes."""
    results, printed = quick_bench
    assert results["nodes"] == 2
    assert "nginx before 2 gunicorn node(s)" in printed
    assert results["sessions_on_every_node"] == 20 * 2
    assert results["throttle_limit_per_resident"] > 0
    assert results["throttle_admitted_across_nodes"] == results["throttle_limit_per_resident"]
    # Every booking either node turned away under the overload is in the one site-wide count; a
    # few more may be, shed after wrk stopped waiting for them (at most one per connection).
    assert results["overload_503"] > 0
    assert results["overload_503"] <= results["overload_shed_counted"] <= results["overload_503"] + 1024


def test_the_report_shows_the_ratios_and_the_free_times_plan(quick_bench):
    _, printed = quick_bench
    assert "availability_rps / hello_rps" in printed
    assert "booking_rps / pg_booking_tps" in printed
    assert "slot_offered_idx" in printed  # the free-times query uses its partial index


def test_the_bench_refuses_a_database_that_is_not_its_own():
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--database-url", "postgres://postgres@127.0.0.1:5432/tidbok"],
        cwd=BASE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "bench" in done.stderr
