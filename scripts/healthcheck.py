"""Container health checks (docker-compose.yml): ``python scripts/healthcheck.py web|ready|beat``.

web   /healthz/ answers 200: the process serves requests. It does not ask the database: while
      PostgreSQL is away the portal answers 503 and recovers by itself (core.outage), and a
      restart would not help.
ready /readyz/ answers 200: the node can do its work now (PostgreSQL, Redis, the outbox not far
      behind). The scaled profile's replicas report this, so nginx starts only in front of
      replicas that can serve, and `docker compose ps` shows a replica cut off from its database.
beat  the schedule file was written within BEAT_STALE_SECONDS: beat saves it every three minutes
      while it is sending its periodic tasks.

The worker's check is ``celery inspect ping`` against its own node name (see docker-compose.yml).
Standard library only, so it runs in the slim image without curl.
"""

from __future__ import annotations

import glob
import os
import sys
import time
import urllib.request

BEAT_STALE_SECONDS = 600


def web() -> bool:
    return _answers_200("/healthz/")


def ready() -> bool:
    return _answers_200("/readyz/")


def _answers_200(path: str) -> bool:
    port = os.environ.get("PORT", "8000")
    # Django refuses a Host it does not serve: ask as the first allowed host, and as the TLS
    # proxy would, so that SECURE_SSL_REDIRECT does not turn the answer into a redirect.
    host = (os.environ.get("ALLOWED_HOSTS") or "127.0.0.1").split(",")[0].strip().lstrip(".") or "127.0.0.1"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Host": host, "X-Forwarded-Proto": "https"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status == 200


def beat() -> bool:
    var = os.environ.get("TIDBOK_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var"))
    files = glob.glob(os.path.join(var, "celerybeat-schedule*"))
    return bool(files) and time.time() - max(os.path.getmtime(name) for name in files) < BEAT_STALE_SECONDS


if __name__ == "__main__":
    checks = {"web": web, "ready": ready, "beat": beat}
    if len(sys.argv) != 2 or sys.argv[1] not in checks:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(checks)}")
    try:
        healthy = checks[sys.argv[1]]()
    except OSError as exc:
        print(exc, file=sys.stderr)
        healthy = False
    sys.exit(0 if healthy else 1)
