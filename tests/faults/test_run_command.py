"""R-OPS-7 and R-OPS-5: the README's run command works from a fresh clone in both of its modes,
and a process of it that dies is reported and started again.

Each case ``git clone``s this repository into a temporary directory (so nothing left in the
checkout, such as var/, can help), links the already-built virtualenv instead of installing
it again, and runs ``make run``:

* SQLite and the file broker (nothing set), and
* PostgreSQL and Redis (DATABASE_URL and REDIS_URL set): a database created for the case and a
  redis-server of its own.

It waits for the home page and for a task to travel through the real broker to the worker and
succeed, SIGKILLs the worker, waits for the restart to be reported and for the worker to be
ready again, makes a second round trip, checks the web server never stopped, and stops it all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid

import psycopg
import pytest
from django.db import connection

from .procs import (
    ROOT,
    VENV_BIN,
    ManagedProcess,
    ProcessFailed,
    database_url,
    descendants,
    free_port,
    http_get,
    port_open,
    wait_until,
)

pytestmark = [pytest.mark.worker]

# How long `make run` may take on a loaded machine: migrate a new database and seed the demo.
RUN_START_TIMEOUT = 300.0

# Run in the clone with its settings: send one task through the broker and print its id.
ROUND_TRIP = """
import django
django.setup()
from django.utils import timezone
from schedules.models import Slot
from schedules.tasks import slots_publish
slot = Slot.objects.filter(start__gt=timezone.now(), is_blocked=False).order_by("start").first()
print(slots_publish.delay([slot.pk]).id)
"""

# The outer `make test` must not leak into the run: its test settings, or its jobserver.
_NOT_INHERITED = {
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "SECRET_KEY",
    "SECURE_SSL_REDIRECT",
    "CELERY_QUEUE",
    "TIDBOK_VAR_DIR",
    "TIDBOK_DEV_LOGIN",
    "STATIC_ROOT",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "MAKEOVERRIDES",
}


@pytest.fixture
def fresh_clone(tmp_path):
    clone = tmp_path / "tidbok"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    assert not (clone / "var").exists()
    # The virtualenv this checkout built; make is told below not to rebuild it.
    (clone / ".venv").symlink_to(VENV_BIN.parent)
    return clone


@pytest.fixture
def run_database():
    """A PostgreSQL database of the case's own, dropped afterwards."""
    settings_dict = connection.settings_dict
    name = f"{settings_dict['NAME']}_run_{uuid.uuid4().hex[:6]}"
    admin_url = database_url({**settings_dict, "NAME": "postgres"})
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield database_url({**settings_dict, "NAME": name})
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class MakeRun(ManagedProcess):
    name = "make run"

    def __init__(self, clone, env):
        self.clone = clone
        self.port = int(env["TIDBOK_PORT"])
        super().__init__(["make", "--no-print-directory", "-o", ".venv/.installed", "run"], env=env, cwd=clone)

    def home_page(self) -> bool:
        if not self.running():
            raise ProcessFailed(f"make run exited:\n{self.tail(40)}")
        try:
            status, _, body = http_get(f"http://127.0.0.1:{self.port}/", timeout=5)
        except OSError:
            return False
        return status == 200 and b"Tidbok" in body

    def round_trip(self) -> None:
        """A task from a separate process, through the broker, to the worker: its success line."""
        mark = self.mark()
        sent = subprocess.run(
            [str(self.clone / ".venv" / "bin" / "python"), "-c", ROUND_TRIP],
            cwd=self.clone,
            env={**self.env, "DJANGO_SETTINGS_MODULE": "tidbok.settings", "DEBUG": "1"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sent.returncode == 0, sent.stderr
        task_id = sent.stdout.strip().splitlines()[-1]
        self.wait_for_line(rf"worker\.1 .*slots_publish\[{task_id}\] succeeded", timeout=120, after=mark)

    def processes(self, *words: str) -> list[int]:
        """Pids below make whose command line has all ``words`` (not the shells that start them)."""
        return sorted(
            pid
            for pid, cmd in descendants(self.pid)
            if all(word in cmd for word in words) and "keep-running" not in cmd and not cmd.startswith("/bin/sh")
        )


@pytest.mark.parametrize("mode", ["sqlite", "postgres-redis"])
def test_make_run_from_a_fresh_clone(fresh_clone, request, mode):
    env = {key: value for key, value in os.environ.items() if key not in _NOT_INHERITED}
    env.update(TIDBOK_PORT=str(free_port()), CELERY_QUEUE=f"tidbok-run-{uuid.uuid4().hex[:8]}", PYTHONUNBUFFERED="1")
    # The shared virtualenv's editable install points at this checkout; the clone's code must win.
    env["PYTHONPATH"] = str(fresh_clone)
    if mode == "postgres-redis":
        env["DATABASE_URL"] = request.getfixturevalue("run_database")
        env["REDIS_URL"] = request.getfixturevalue("redis_server").url()

    run = MakeRun(fresh_clone, env)
    run.spawn()
    try:
        run.wait_for_line(r"worker\.1 .* ready\.$", timeout=RUN_START_TIMEOUT)
        run.wait_for_line(r"beat\.1 .*beat: Starting", timeout=RUN_START_TIMEOUT)
        wait_until(run.home_page, timeout=RUN_START_TIMEOUT, what="the home page")
        run.round_trip()
        assert any((fresh_clone / "var").glob("celerybeat-schedule*"))

        # R-OPS-5: a worker killed outright is reported and started again; the rest keep running.
        web = run.processes("manage.py runserver")
        (worker,) = run.processes("celery", "worker")
        mark = run.mark()
        os.kill(worker, signal.SIGKILL)
        run.wait_for_line(r"keep-running: worker exited with status 137", after=mark)
        run.wait_for_line(r"worker\.1 .* ready\.$", timeout=RUN_START_TIMEOUT, after=mark)
        run.round_trip()
        assert run.home_page()
        assert web and run.processes("manage.py runserver") == web
        assert not [line for line in run.lines[mark:] if "stopped (rc=" in line]
    finally:
        run.terminate(timeout=30)
    wait_until(lambda: not port_open(run.port), timeout=30, what="the web server to stop")
