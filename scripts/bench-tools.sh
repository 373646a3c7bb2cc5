#!/usr/bin/env bash
# `make bench` drives the portal with wrk through nginx (the front proxy, as in production) and
# PostgreSQL with pgbench (which comes with the PostgreSQL server package). wrk and nginx are
# installed from Debian's packages when they are missing.
set -euo pipefail
if ! command -v pgbench >/dev/null; then
  echo "pgbench is missing: it comes with the PostgreSQL server package (postgresql-15 on Debian)." >&2
  exit 1
fi
missing=()
command -v wrk >/dev/null || missing+=(wrk)
# nginx lives in /usr/sbin, which is not on every user's PATH.
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing ${missing[*]} for the benchmark…"
  # The bench starts nginx itself with its own configuration (bench/nginx.py), never the system's.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
  exit 0
fi
echo "${missing[*]} missing: install the Debian packages '${missing[*]}'." >&2
exit 1
