"""R-OPS-5: processes restart. docker-compose.yml gives web, worker and beat a restart policy and
a health check (docker cannot run here, so the file is parsed and its checks are run against
real processes); ``make run``'s restart loop is exercised in test_run_command.py."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest
import yaml
from django.conf import settings
from django.db import connection

from .procs import ROOT, VENV_BIN, database_url

LONG_RUNNING = ("web", "worker", "beat")


def test_worker_and_beat_retry_the_broker_for_ever():
    """Celery's default gives up after 100 attempts (about 45 minutes) and exits; a Redis outage of
    any length must end with the worker and beat connected again, also if they start during it."""
    from tidbok.celery import app

    assert app.conf.broker_connection_retry is True
    assert app.conf.broker_connection_retry_on_startup is True
    assert app.conf.broker_connection_max_retries is None


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.mark.parametrize("service", [*LONG_RUNNING, "db", "redis"])
def test_long_running_services_restart_unless_stopped(compose, service):
    assert compose["services"][service]["restart"] == "unless-stopped"


def test_the_one_shot_migration_is_not_restarted(compose):
    assert compose["services"]["migrate"].get("restart", "no") == "no"


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_long_running_services_have_health_checks(compose, service):
    check = compose["services"][service]["healthcheck"]
    assert check["test"][0] in ("CMD", "CMD-SHELL")
    assert {"interval", "timeout", "retries"} <= check.keys()


def _check_command(compose, service: str) -> list[str]:
    test = compose["services"][service]["healthcheck"]["test"]
    assert test[0] == "CMD"
    command = test[1:]
    assert command[:2] == ["python", "scripts/healthcheck.py"]
    return [str(VENV_BIN / "python"), *command[1:]]


def _run(command: list[str], env: dict[str, str]) -> int:
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, timeout=60).returncode


@pytest.mark.django_db(transaction=True)
def test_web_health_check_passes_against_gunicorn_and_fails_without_it(compose, web_server):
    command = _check_command(compose, "web")
    # As in production: a named host only, TLS redirect on behind the proxy.
    server = web_server(redis_url=settings.REDIS_URL, ALLOWED_HOSTS="tidbok.example.se", SECURE_SSL_REDIRECT="1")
    env = {"PORT": str(server.port), "ALLOWED_HOSTS": "tidbok.example.se"}
    assert _run(command, env) == 0
    server.terminate()
    assert _run(command, env) == 1


def test_beat_health_check_follows_the_schedule_file(compose, tmp_path):
    command = _check_command(compose, "beat")
    env = {"TIDBOK_VAR_DIR": str(tmp_path)}
    assert _run(command, env) == 1  # beat never wrote it
    schedule = tmp_path / "celerybeat-schedule"
    schedule.write_bytes(b"")
    assert _run(command, env) == 0
    an_hour_ago = time.time() - 3600
    os.utime(schedule, (an_hour_ago, an_hour_ago))
    assert _run(command, env) == 1  # beat stopped ticking


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_health_check_pings_its_own_node_through_the_broker(compose, app_on_redis, celery_worker, worker_env):
    test = compose["services"]["worker"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    # Compose turns $$ into $; in the container HOSTNAME is the host part of the node celery@<host>.
    shell_command = test[1].replace("$$", "$")
    host = f"worker-{uuid.uuid4().hex[:8]}"
    env = {**worker_env(redis_url=app_on_redis.url()), "HOSTNAME": host, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}

    def check() -> int:
        return subprocess.run(
            ["sh", "-c", shell_command], cwd=ROOT, env=env, capture_output=True, timeout=60
        ).returncode

    worker = celery_worker(redis_url=app_on_redis.url(), hostname=f"celery@{host}")
    assert check() == 0
    worker.kill()
    assert check() != 0


# --- the scaled profile: web replicas behind nginx, several workers, one beat -------------------


@pytest.mark.parametrize("service", ["web-replica", "proxy"])
def test_the_scaled_profile_restarts_and_checks_its_services(compose, service):
    spec = compose["services"][service]
    assert spec["profiles"] == ["scaled"]
    assert spec["restart"] == "unless-stopped"
    assert spec["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
    assert {"interval", "timeout", "retries"} <= spec["healthcheck"].keys()


def test_the_scaled_profile_puts_n_replicas_behind_nginx_and_m_workers_beside_one_beat(compose):
    services = compose["services"]
    replica, proxy = services["web-replica"], services["proxy"]
    assert replica["deploy"]["replicas"] == "${WEB_REPLICAS:-2}"
    assert services["worker"]["deploy"]["replicas"] == "${WORKER_REPLICAS:-1}"
    assert "deploy" not in services["beat"]  # one beat, or every periodic task is sent twice
    # The replicas are the single web service's command, behind exactly one proxy they trust.
    assert replica["command"] == services["web"]["command"]
    assert "--bind=0.0.0.0:8001" in replica["command"]  # the cancellations' own port
    assert replica["environment"]["TIDBOK_TRUSTED_PROXIES"] == "1"
    assert "ports" not in replica
    # nginx is configured from the repository's template, the one the bench uses.
    assert "./deploy/nginx/tidbok.conf.template:/etc/nginx/templates/default.conf.template:ro" in proxy["volumes"]
    assert proxy["environment"]["TIDBOK_WEB_SERVERS"] == "server web-replica:8000;"
    assert proxy["environment"]["TIDBOK_PRIORITY_SERVERS"] == "server web-replica:8001;"
    assert proxy["depends_on"]["web-replica"]["condition"] == "service_healthy"
    assert (ROOT / "deploy" / "nginx" / "tidbok.conf.template").exists()


@pytest.mark.django_db(transaction=True)
def test_replica_readiness_check_fails_while_the_database_refuses_and_liveness_does_not(
    compose, web_server, postgres_proxy
):
    """A replica cut off from PostgreSQL is alive (a restart would not help; it recovers by
    itself, R-OPS-4) but not ready: nginx and compose see the difference."""
    ready = _check_command(compose, "web-replica")
    alive = _check_command(compose, "web")
    assert ready[-1] == "ready"
    database = database_url({**connection.settings_dict, "HOST": "127.0.0.1", "PORT": postgres_proxy.port})
    server = web_server(
        redis_url=settings.REDIS_URL, database=database, ALLOWED_HOSTS="tidbok.example.se", SECURE_SSL_REDIRECT="1"
    )
    env = {"PORT": str(server.port), "ALLOWED_HOSTS": "tidbok.example.se"}
    assert _run(ready, env) == 0
    postgres_proxy.stop()
    assert _run(ready, env) == 1
    assert _run(alive, env) == 0
