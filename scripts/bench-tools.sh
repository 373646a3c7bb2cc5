#!/usr/bin/env bash
# `make bench` drives the portal with wrk and PostgreSQL with pgbench (which comes with the
# PostgreSQL server package). wrk is installed from Debian's packages when it is missing.
set -euo pipefail
if ! command -v pgbench >/dev/null; then
  echo "pgbench is missing: it comes with the PostgreSQL server package (postgresql-15 on Debian)." >&2
  exit 1
fi
if command -v wrk >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing wrk for the benchmark…"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
  exit 0
fi
echo "wrk is missing: install the Debian package 'wrk'." >&2
exit 1
