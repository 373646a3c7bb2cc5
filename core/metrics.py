"""Prometheus metrics, through the official client library (prometheus-client).

Two kinds, because a site runs many processes (gunicorn workers on several nodes, Celery workers
on others) and Prometheus scrapes the web nodes:

- **Per process**, the request latency histogram: every gunicorn worker observes its own requests.
  Under gunicorn the workers write to files in ``PROMETHEUS_MULTIPROC_DIR`` (set up by
  tidbok/gunicorn_conf.py) and a scrape of any worker adds up the whole node (the client's
  multiprocess mode); Prometheus adds up the nodes.
- **Site-wide**, the business counters (bookings and cancellations by channel, holds, shed
  requests, notifications sent or failed): counted in Redis wherever they happen, a web worker or a
  Celery worker on another machine, so one scrape shows the site. Every node reports the same
  value: aggregate them with ``max``, not ``sum``. A counter lost while Redis is away is a gap in a
  graph, never an error for the person booking (counting fails open, like the cache).

Gauges read at scrape time: the Celery queue's depth and the outbox's lag (core.outbox).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from functools import cache

import redis
from django.conf import settings
from django.db import transaction
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

REQUEST_LATENCY = Histogram(
    "tidbok_http_request_duration_seconds",
    "Time from the request's arrival in Django to its answer, by route pattern",
    ["route", "method", "status"],
    # Not registered globally: the scrape builds its registry (one process's, or the node's files).
    registry=None,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# Site-wide counters: name -> (help, label names). Kept in one Redis hash per counter.
SHARED_COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tidbok_bookings": ("Bookings made, by channel", ("channel",)),
    "tidbok_cancellations": ("Bookings cancelled, by channel", ("channel",)),
    "tidbok_holds": ("Times held for a resident", ()),
    "tidbok_shed_requests": ("Bookings turned away with 503 while the queue was long (core.overload)", ()),
    "tidbok_notifications": ("Notifications sent or failed for good, by channel", ("channel", "outcome")),
}
_KEY = "tidbok:metrics:{name}"
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


@cache
def redis_client() -> redis.Redis | None:
    """The Redis the site counts in (its cache and broker); None on the embedded default without one."""
    if not settings.REDIS_URL:
        return None
    # Short timeouts: a hung Redis costs a counter, not a request.
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)


def _key(name: str) -> str:
    return str(settings.CACHES["default"].get("KEY_PREFIX", "")) + _KEY.format(name=name)


def count(name: str, **labels: str) -> None:
    """Add one to a site-wide counter now (see the module's docstring)."""
    label_names = SHARED_COUNTERS[name][1]
    if set(labels) != set(label_names):
        raise ValueError(f"{name} takes the labels {label_names}, got {sorted(labels)}")
    client = redis_client()
    if client is None:
        return
    field = json.dumps([labels[label] for label in label_names])
    try:
        client.hincrby(_key(name), field, 1)
    except REDIS_ERRORS as error:
        logger.debug("metric %s not counted: %s", name, error)


def count_on_commit(name: str, **labels: str) -> None:
    """Count once the surrounding transaction commits: a rolled-back booking is no booking."""
    transaction.on_commit(lambda: count(name, **labels))


def shared_total(name: str) -> int:
    """A site-wide counter's value over all its labels (0 when Redis does not answer)."""
    client = redis_client()
    if client is None:
        return 0
    try:
        counted: dict[bytes, bytes] = client.hgetall(_key(name))  # type: ignore[assignment]
    except REDIS_ERRORS:
        return 0
    return sum(int(n) for n in counted.values())


def celery_queue_depth() -> int | None:
    """Tasks waiting in the Celery queue (a Redis list of the queue's name); None without Redis."""
    client = redis_client()
    if client is None:
        return None
    return int(client.llen(settings.CELERY_TASK_DEFAULT_QUEUE))


# Scrape-time gauges other apps add (core cannot import them): name, help, a function answering
# the value now. Registered from an AppConfig.ready().
_gauges: list[tuple[str, str, Callable[[], float | None]]] = []


def gauge_register(name: str, help_text: str, value: Callable[[], float | None]) -> None:
    if all(existing != name for existing, _h, _v in _gauges):
        _gauges.append((name, help_text, value))


class _SiteCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        client = redis_client()
        for name, (help_text, label_names) in SHARED_COUNTERS.items():
            family = CounterMetricFamily(name, help_text, labels=label_names)
            counted: dict[bytes, bytes] = {}
            if client is not None:
                try:
                    counted = client.hgetall(_key(name))  # type: ignore[assignment]
                except REDIS_ERRORS:
                    counted = {}
            if not label_names:
                family.add_metric([], sum(int(n) for n in counted.values()))
            for field, n in sorted(counted.items()):
                if label_names:
                    family.add_metric(json.loads(field), int(n))
            yield family
        for name, help_text, value in [
            ("tidbok_celery_queue_depth", "Tasks waiting in the Celery queue", _queue_depth_or_none),
            *_gauges,
        ]:
            now = value()
            if now is not None:
                gauge = GaugeMetricFamily(name, help_text)
                gauge.add_metric([], now)
                yield gauge


def _queue_depth_or_none() -> float | None:
    try:
        return celery_queue_depth()
    except REDIS_ERRORS:
        return None


def metrics_exposition() -> tuple[bytes, str]:
    """The text a scrape gets, and its content type."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # the whole node: every worker's files
    else:
        registry.register(REQUEST_LATENCY)  # this one process (the development server, tests)
    registry.register(_SiteCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


def observe_request(*, route: str, method: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(route=route, method=method, status=str(status)).observe(seconds)
