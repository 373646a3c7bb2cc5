"""gunicorn's settings for every Tidbok web node: ``gunicorn -c python:tidbok.gunicorn_conf tidbok.wsgi``
(docker-compose.yml, the Dockerfile and the bench start it so).

The Prometheus client's multiprocess mode (core.metrics): each worker writes its metrics to files
in ``PROMETHEUS_MULTIPROC_DIR`` and a scrape of any worker reads them all. The directory is this
server's own (emptied when it starts, so a restart does not add up old workers), and a worker that
exits has its live gauges dropped. The variable is set here, in the master, before any worker
imports the client: the client picks its file-backed values when it is first imported.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

_default_dir = os.path.join(tempfile.gettempdir(), f"tidbok-metrics-{os.getpid()}")
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", _default_dir)


def on_starting(server: Any) -> None:
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    # Imported only here: at the top it would be imported before the variable above is read.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    # A directory of our own making goes with the server; one the operator named is theirs.
    if os.environ["PROMETHEUS_MULTIPROC_DIR"] == _default_dir:
        shutil.rmtree(_default_dir, ignore_errors=True)
