#!/usr/bin/env bash
# Start a Celery worker with beat in the background and the web server in the foreground.
# Ctrl-C stops both. HOST/PORT choose the address (default 127.0.0.1:8000).
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
export DEBUG=${DEBUG:-1}
mkdir -p .local/log
.venv/bin/celery -A salesintel worker -B --loglevel=INFO --concurrency=2 \
  --schedule=.local/celerybeat-schedule >.local/log/celery.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
echo
echo "salesintel is running at http://$HOST:$PORT/"
echo "Sign in as demo@salesintel.local / ${DEMO_PASSWORD:-demo-password-123}  (Ctrl-C stops it)"
echo "Celery worker + beat log: .local/log/celery.log"
echo
.venv/bin/python manage.py runserver "$HOST:$PORT" --noreload
