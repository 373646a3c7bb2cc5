"""Fixtures of the fault suite: processes a test starts, breaks and is sure to stop.

    redis_server      a redis-server of the test's own (stop()/start()/kill()/freeze()/url())
    app_on_redis      this test process's cache and Celery client pointed at ``redis_server``
    celery_worker     factory: a real worker process on the test database (needs committed data:
                      mark the test ``django_db(transaction=True)`` or use ``transactional_db``)
    celery_beat       factory: a real beat process
    web_server        factory: gunicorn on a free port, on the test database, production settings
    postgres_proxy    a TCP proxy in front of PostgreSQL: stop() makes "the database" refuse
    worker_env        factory: the environment those processes get

Everything started here is stopped at teardown, SIGKILLed if it does not stop in time.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tidbok.celery import app as celery_app

from .procs import (
    ROOT,
    VENV_BIN,
    CeleryBeat,
    CeleryWorker,
    ManagedProcess,
    RedisServer,
    TcpProxy,
    WebServer,
    app_env,
    database_url,
)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


def _point_celery_at(url: str) -> None:
    """Later sends from this process go to ``url`` (the app caches its connection pools)."""
    celery_app.conf.update(broker_url=url)
    # A private attribute of Celery (the producer pool), so not in the stubs.
    celery_app._pool = None  # type: ignore[attr-defined]
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@pytest.fixture
def app_on_redis(redis_server: RedisServer, settings) -> Iterator[RedisServer]:
    """The Django cache and Celery's client in this test process use the test's own Redis, and
    tasks are sent to the broker rather than run inline, as in production."""
    original = celery_app.conf.broker_url
    settings.REDIS_URL = redis_server.url()
    settings.CELERY_BROKER_URL = redis_server.url()
    # The production cache backend and its options (core.cache fails open), on the test's Redis.
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": redis_server.url()}}
    _point_celery_at(redis_server.url())
    celery_app.conf.task_always_eager = False
    yield redis_server
    _point_celery_at(original)


@pytest.fixture
def fault_queue() -> str:
    """The Celery queue this test's processes share: the process's own (set per run by make
    test) on the shared Redis, and equally safe on a private redis-server."""
    return celery_app.conf.task_default_queue or f"tidbok-fault-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def worker_env(fault_queue: str):
    """``worker_env(redis_url=..., **extra)``: environment for web/worker/beat on the test database."""

    def make(*, redis_url: str, database: str | None = None, email_backend: str | None = None, **extra: str):
        return app_env(
            database=database or database_url(connection.settings_dict),
            redis=redis_url,
            queue=fault_queue,
            extra=extra,
            **({"email_backend": email_backend} if email_backend else {}),
        )

    return make


@pytest.fixture
def _started() -> Iterator[list[ManagedProcess]]:
    processes: list[ManagedProcess] = []
    yield processes
    for process in reversed(processes):
        process.terminate(timeout=10)


@pytest.fixture
def celery_worker(worker_env, _started, fault_queue):
    """``celery_worker(redis_url=..., pool="solo", args=(), env=None, hostname=None, lean=True, **extra_env)``
    starts a worker and returns once it is ready (lean=False: with mingle and gossip, exactly as
    production runs it). ``.kill()`` SIGKILLs it and its pool children."""

    def start(
        *,
        redis_url: str,
        pool: str = "solo",
        args=(),
        env=None,
        hostname: str | None = None,
        lean: bool = True,
        **extra_env: str,
    ) -> CeleryWorker:
        worker = CeleryWorker(
            env or worker_env(redis_url=redis_url, **extra_env), pool=pool, args=args, hostname=hostname, lean=lean
        )
        _started.append(worker)
        return worker.start()

    return start


@pytest.fixture
def celery_beat(worker_env, _started, tmp_path):
    def start(*, redis_url: str, env=None, **extra_env: str) -> CeleryBeat:
        beat = CeleryBeat(env or worker_env(redis_url=redis_url, **extra_env), schedule=tmp_path / "beat-schedule")
        _started.append(beat)
        return beat.start()

    return start


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:
    """collectstatic of this checkout for the production static storage gunicorn runs with (the
    manifest in staticfiles/ may be older than the templates under test)."""
    root = tmp_path_factory.mktemp("static")
    env = app_env(database="sqlite://:memory:", redis="", queue="unused", extra={"STATIC_ROOT": str(root)})
    subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    return root


@pytest.fixture
def web_server(worker_env, _started, static_root):
    """``web_server(redis_url=..., workers=1, **extra_env)``: gunicorn, ready once /healthz/ answers."""

    def start(*, redis_url: str, workers: int = 1, threads: int = 1, env=None, **extra_env: str) -> WebServer:
        env = env or worker_env(redis_url=redis_url, **extra_env)
        env.setdefault("STATIC_ROOT", str(static_root))
        server = WebServer(env, workers=workers, threads=threads)
        _started.append(server)
        return server.start()

    return start


@pytest.fixture
def postgres_proxy() -> Iterator[TcpProxy]:
    """A port in front of the test database's PostgreSQL that a test can make refuse connections."""
    proxy = TcpProxy(
        int(connection.settings_dict.get("PORT") or 5432), target_host=connection.settings_dict["HOST"] or "127.0.0.1"
    )
    yield proxy.start()
    proxy.stop()
