#!/usr/bin/env bash
# keep-running.sh NAME COMMAND...: run COMMAND, and start it again whenever it exits.
#
# `make run` starts the web server, the Celery worker and beat under honcho, which stops all of
# them as soon as one ends. Each Procfile entry runs under this loop instead, so a dead process
# (a worker killed by the OOM killer, beat failing on a broker outage) is reported on a line of
# its own and restarted, and the others keep running. A command that keeps failing is restarted
# with a growing pause (1, 2, 4 … 30 s), so a broken setup shows its error without spinning.
# SIGTERM or SIGINT (honcho's Ctrl-C) stops the command and the loop.
set -u
name=$1
shift

child=0
stopping() {
  if [ "$child" -ne 0 ]; then
    kill -TERM "$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  exit 0
}
trap stopping TERM INT

pause=1
while true; do
  started=$SECONDS
  "$@" &
  child=$!
  wait "$child"
  status=$?
  child=0
  ran=$((SECONDS - started))
  # It ran for a while before dying: not a start-up failure, restart at once.
  if [ "$ran" -ge 30 ]; then pause=1; fi
  echo "keep-running: $name exited with status $status after ${ran}s; starting it again in ${pause}s" >&2
  sleep "$pause" &
  child=$!
  wait "$child"
  child=0
  pause=$((pause * 2 > 30 ? 30 : pause * 2))
done
