#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (a test tool's own browser download is not used).
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Chromium for the browser tests…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  exit 0
fi
echo "Chromium is missing: install the Debian packages 'chromium' and 'chromium-driver'." >&2
exit 1
