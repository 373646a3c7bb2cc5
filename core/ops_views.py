"""The operators' probes and metrics. Liveness is ``/healthz/`` (core.views.healthz: the process
serves requests); readiness is ``/readyz/`` (this node can do its work now: PostgreSQL and Redis
answer and the outbox is not far behind), which a load balancer uses to take a node out of the
pool and a deployment to wait on, without restarting it; ``/metrics/`` is Prometheus's."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from core import metrics
from core.outbox.selectors import outbox_lag_seconds

READY_RETRY_AFTER_SECONDS = 10


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str | float] = {}
    ready = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        lag = outbox_lag_seconds()
        checks["database"] = "ok"
        checks["outbox_lag_seconds"] = round(lag, 1)
        # Side effects of committed changes (confirmations, publishing) are piling up unsent.
        ready = lag <= settings.TIDBOK_READY_OUTBOX_LAG_SECONDS
    except DatabaseError:
        checks["database"] = "unavailable"
        ready = False
    client = metrics.redis_client()
    if client is not None:
        try:
            client.ping()
            checks["redis"] = "ok"
        except metrics.REDIS_ERRORS:
            checks["redis"] = "unavailable"
            ready = False
    response = JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)
    if not ready:
        response["Retry-After"] = str(READY_RETRY_AFTER_SECONDS)
    return response


@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """Only with ``Authorization: Bearer <TIDBOK_METRICS_TOKEN>``; without a token set, or with a
    wrong one, there is nothing here (404, as for any unknown address). The public proxy does not
    pass /metrics on at all (deploy/nginx/)."""
    token = settings.TIDBOK_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise Http404
    body, content_type = metrics.metrics_exposition()
    return HttpResponse(body, content_type=content_type)
