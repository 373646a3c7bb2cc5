"""Driving the running portal: logged-in residents, gunicorn, wrk, and a burst on one slot."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import secrets
import shutil
import signal
import string
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from django.utils import timezone

from accounts.models import User
from accounts.sessions import SessionStore
from core.middleware import LAST_ACTIVITY_KEY

from .generate import BENCH_PASSWORD

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Resident:
    user_id: int
    session: str
    csrf: str


SESSION_COLUMNS = "session_key, session_data, expire_date, user_id"


def residents_log_in(first: int, count: int) -> list[Resident]:
    """Sessions for residents ``bench-<first>`` … as the e-ID login would leave them (the login
    counted as their last activity, so a request within the minute does not write the session
    again: core.middleware.session_touch), written in one COPY: logging in thousands of residents
    over HTTP would measure the identity provider."""
    user_hash = User(password=BENCH_PASSWORD).get_session_auth_hash()
    backend = settings.AUTHENTICATION_BACKENDS[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM accounts_user WHERE username = ANY(%s) ORDER BY id",
            [[f"bench-{n}" for n in range(first, first + count)]],
        )
        ids = [row[0] for row in cursor.fetchall()]
    if len(ids) != count:
        raise RuntimeError(f"expected {count} bench residents from bench-{first}, found {len(ids)}")
    store = SessionStore()
    expires = timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    logged_in_at = time.time()
    residents, rows = [], []
    for user_id in ids:
        key = secrets.token_hex(16)
        data = store.encode(
            {
                SESSION_KEY: str(user_id),
                BACKEND_SESSION_KEY: backend,
                HASH_SESSION_KEY: user_hash,
                LAST_ACTIVITY_KEY: logged_in_at,
            }
        )
        rows.append((key, data, expires, user_id))
        residents.append(Resident(user_id=user_id, session=key, csrf=secrets.token_hex(16)))
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY accounts_session (session_key, session_data, expire_date, user_id) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)
    return residents


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class WrkResult:
    duration_s: float
    requests: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int
    timeouts: int
    exhausted: int
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s

    def count(self, *statuses: int) -> int:
        return sum(self.statuses.get(str(s), 0) for s in statuses)

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s.isdigit() and int(s) >= 500)


def wrk_command(
    base_url: str, *, path: str, mode: str, data: Path, seconds: float, connections: int, threads: int = 2
) -> list[str]:
    return [
        shutil.which("wrk") or "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(HERE / "wrk.lua"),
        base_url + path,
        "--",
        mode,
        str(data),
        str(threads),
    ]


def wrk_result(output: str) -> WrkResult:
    line = next((line for line in output.splitlines() if line.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    raw: dict[str, Any] = json.loads(line.removeprefix("BENCH "))
    return WrkResult(
        duration_s=raw["duration_us"] / 1e6,
        requests=raw["requests"],
        p50_ms=raw["p50_us"] / 1000,
        p95_ms=raw["p95_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        socket_errors=raw["socket_errors"],
        timeouts=raw["timeouts"],
        exhausted=raw["exhausted"],
        statuses=raw["statuses"],
    )


def wrk(base_url: str, **options: Any) -> WrkResult:
    command = wrk_command(base_url, **options)
    return wrk_result(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


class WrkInBackground:
    """wrk running until stopped: SIGINT makes it finish its requests and print its result."""

    def __init__(self, base_url: str, **options: Any) -> None:
        self.process = subprocess.Popen(
            wrk_command(base_url, **options), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def stop(self) -> WrkResult:
        self.process.send_signal(signal.SIGINT)
        output, _ = self.process.communicate(timeout=60)
        return wrk_result(output)


@dataclass
class Burst:
    attempts: int
    statuses: dict[int, int]

    @property
    def successes(self) -> int:
        return self.statuses.get(201, 0)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def burst_on_one_slot(port: int, residents: list[Resident], slot_id: int) -> Burst:
    """Every resident posts a booking of the same slot at the same moment: each on its own
    connection, opened first, then all released together by a barrier."""
    barrier = threading.Barrier(len(residents))
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(resident: Resident) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        conn.connect()
        body = json.dumps({"slot": slot_id})
        headers = _resident_headers(resident)
        barrier.wait()
        try:
            conn.request("POST", "/api/v1/bookings/", body=body, headers=headers)
            status = conn.getresponse().status
        except OSError:
            status = 599  # no answer at all counts against the portal
        finally:
            conn.close()
        with lock:
            statuses.append(status)

    workers = [threading.Thread(target=attempt, args=(r,)) for r in residents]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    counted: dict[int, int] = {}
    for status in statuses:
        counted[status] = counted.get(status, 0) + 1
    return Burst(attempts=len(statuses), statuses=counted)


def _resident_headers(resident: Resident) -> dict[str, str]:
    return {
        "Cookie": f"sessionid={resident.session}; csrftoken={resident.csrf}",
        "X-CSRFToken": resident.csrf,
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


def _status(port: int, method: str, path: str, resident: Resident) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, headers=_resident_headers(resident))
        return conn.getresponse().status
    except OSError:
        return 599
    finally:
        conn.close()


def sessions_on_every_node(nodes: list[Gunicorn], residents: list[Resident]) -> int:
    """Each resident's own bookings, asked of every node directly with the one session cookie:
    how many of the answers were 200 (all of them when a session works on whichever node)."""
    return sum(_status(node.port, "GET", "/api/v1/bookings/", r) == 200 for r in residents for node in nodes)


def throttled_after(nodes: list[Gunicorn], resident: Resident) -> int:
    """One resident's cancellation POSTs (of a booking that is not there), taking turns among the
    nodes, until the first 429: how many were admitted. The per-resident limit when the nodes
    count in one place (Redis), a multiple of it when each counted its own."""
    for attempt in range(1000):
        node = nodes[attempt % len(nodes)]
        if _status(node.port, "POST", "/api/v1/bookings/999999999/cancel/", resident) == 429:
            return attempt
    raise RuntimeError("a thousand POSTs from one resident were never throttled")


class Cancellations:
    """Residents cancelling their bookings one after another, in a thread, while something else
    loads the portal: each answer's status and time."""

    def __init__(self, port: int, cancellations: list[tuple[Resident, int]]) -> None:
        self.port, self.cancellations = port, cancellations
        self.answers: list[tuple[int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        for resident, booking_id in self.cancellations:
            if self._stop.is_set():
                return
            began = time.perf_counter()
            conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            try:
                conn.request(
                    "POST",
                    f"/api/v1/bookings/{booking_id}/cancel/",
                    headers={
                        "Cookie": f"sessionid={resident.session}; csrftoken={resident.csrf}",
                        "X-CSRFToken": resident.csrf,
                    },
                )
                status = conn.getresponse().status
            except OSError:
                status = 599
            finally:
                conn.close()
            self.answers.append((status, time.perf_counter() - began))
            time.sleep(0.05)

    def stop(self) -> list[tuple[int, float]]:
        self._stop.set()
        self._thread.join()
        return self.answers


class Gunicorn:
    """The portal under the production WSGI server, on 127.0.0.1 only: one node, listening on
    ``port`` for everything and on ``priority_port`` for what the proxy sends to its own queue."""

    def __init__(self, port: int, priority_port: int, workers: int, log: Path) -> None:
        self.port, self.priority_port, self.workers, self.log = port, priority_port, workers, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> Gunicorn:
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "--config=python:tidbok.gunicorn_conf",
            "tidbok.wsgi:application",
            # The priority port first: a worker that finds both ready takes a cancellation first.
            f"--bind={HOST}:{self.priority_port}",
            f"--bind={HOST}:{self.port}",
            f"--workers={self.workers}",
            "--backlog=2048",
            "--timeout=60",
        ]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _wait_for(self.url, self.process, self.log)
        return self

    def __exit__(self, *exc: object) -> None:
        _stop(self.process)


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    name = log.stem.split("-")[0]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited; see {log}")
        try:
            with urllib.request.urlopen(url + "/healthz/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within a minute; see {log}")


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    # SIGINT is a quick shutdown for gunicorn and nginx alike: the measuring is over, and a
    # graceful one would first serve whatever the overload phase left queued.
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def nginx_config(*, listen: str, nodes: list[Gunicorn], work: Path) -> str:
    """nginx's whole configuration for the bench: a process of its own in ``work`` (pid, logs and
    buffers there, in the foreground), and the portal's server block from deploy/nginx, the same
    file production uses, with the nodes filled in."""
    template = (HERE.parent / "deploy" / "nginx" / "tidbok.conf.template").read_text()
    server = string.Template(template).safe_substitute(
        TIDBOK_LISTEN=listen,
        TIDBOK_WEB_SERVERS=" ".join(f"server {HOST}:{node.port};" for node in nodes),
        TIDBOK_PRIORITY_SERVERS=" ".join(f"server {HOST}:{node.priority_port};" for node in nodes),
    )
    temp = " ".join(f"{kind}_temp_path {work / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""daemon off;
pid {work / "nginx.pid"};
error_log {work / "nginx-error.log"} warn;
# One process: it only passes bytes on, and the cores are the portal's.
worker_processes 1;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    {temp}
{server}
}}
"""


class Front:
    """The portal as production runs it: ``nodes`` gunicorn instances behind nginx on ``port``,
    on one PostgreSQL and one Redis. ``workers`` is the total, shared out among the nodes."""

    def __init__(self, port: int, *, nodes: int, workers: int, work: Path) -> None:
        self.port, self.work = port, work
        per_node = max(1, workers // nodes)
        self.nodes = [
            Gunicorn(port + 1 + 2 * i, port + 2 + 2 * i, per_node, work / f"gunicorn-{i + 1}.log") for i in range(nodes)
        ]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def workers(self) -> int:
        return sum(node.workers for node in self.nodes)

    def __enter__(self) -> Front:
        try:
            for node in self.nodes:
                node.__enter__()
            config = self.work / "nginx.conf"
            config.write_text(nginx_config(listen=f"{HOST}:{self.port}", nodes=self.nodes, work=self.work))
            log = self.work / "nginx.log"
            with log.open("wb") as out:
                self.process = subprocess.Popen(
                    [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(config), "-p", str(self.work)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            _wait_for(self.url, self.process, self.work / "nginx-error.log")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        _stop(self.process)
        for node in self.nodes:
            node.__exit__()
