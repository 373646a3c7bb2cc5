#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer before the tests run.
# Starts them when they are installed but stopped; otherwise says how to get them.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "Starting PostgreSQL…"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 30); do pg_up && break; sleep 1; done
  fi
fi
if ! pg_up; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432. Start it, e.g. 'docker compose up -d db'." >&2
  exit 1
fi

if ! redis_up; then
  if command -v redis-server >/dev/null; then
    echo "Starting Redis…"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    for _ in $(seq 30); do redis_up && break; sleep 1; done
  fi
fi
if ! redis_up; then
  echo "Redis is not answering on 127.0.0.1:6379. Start it, e.g. 'docker compose up -d redis'." >&2
  exit 1
fi
