#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (no browser can be downloaded any other way here).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Chromium is missing: run 'sudo apt-get install -y chromium' (the browser tests need it)." >&2
  exit 1
fi
echo "Installing Debian's chromium for the browser tests…"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
