"""``make bench``: Tidbok under a booking rush, against this machine's own limits.

Builds a synthetic region in a PostgreSQL database of its own (``tidbok_bench``; never the demo or
test database), serves the portal as production does (nginx before one or more gunicorn nodes, a
Celery worker beside them, production settings minus HTTPS) on 127.0.0.1, drives it with wrk, and
measures PostgreSQL's own limit on the same booking transaction with pgbench. Writes
``bench/results.json`` and prints a table.

    python -m bench [--scale 1.0] [--quick] [--nodes 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
BASE = HERE.parent

# Production settings, minus HTTPS: wrk speaks plain HTTP to 127.0.0.1. All of the load comes from
# one address, so the per-address booking limit is lifted; the per-resident one stays. nginx is
# the one proxy in front (X-Forwarded-For is believed that far).
BENCH_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "tidbok.settings",
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-never-used-in-production",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_HSTS_SECONDS": "0",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
    "RATE_LIMIT_BOOKING_ADDRESS": "100000000/min",
    "TIDBOK_TRUSTED_PROXIES": "1",
}


def _configure(database_url: str) -> None:
    name = urlparse(database_url).path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"The bench database must have 'bench' in its name (got {name!r}); it is dropped and rebuilt.")
    for key, value in BENCH_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    # Named after the database, so two benches on one machine (another database) share neither
    # the Celery queue nor a cache key (a throttle counter of a resident with the same id).
    os.environ.setdefault("CELERY_QUEUE", f"tidbok-{name}")
    os.environ.setdefault("CACHE_KEY_PREFIX", name)
    os.environ["DATABASE_URL"] = database_url
    sys.path.insert(0, str(BASE))


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make bench ARGS=…", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, help="region size; 1 = 100 clinics, about 1.4 M slots")
    parser.add_argument("--quick", action="store_true", help="a small region and short runs (CI)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers in all (default: 2 per core)")
    parser.add_argument("--nodes", type=int, default=1, help="gunicorn instances behind nginx, the workers shared out")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tidbok_bench"),
    )
    parser.add_argument("--output", type=Path, default=HERE / "results.json")
    args = parser.parse_args(argv)
    if args.scale is None:
        args.scale = 0.05 if args.quick else 1.0
    return args


def main(argv: list[str]) -> int:
    args = _parse(argv)
    _configure(args.database_url)
    from .run import Plan, run

    began = time.perf_counter()
    plan = Plan.make(args.scale, quick=args.quick, nodes=args.nodes)
    run(plan, database_url=args.database_url, port=args.port, workers=args.workers, output=args.output)
    print(f"\nmake bench took {time.perf_counter() - began:.0f} s; results in {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
