#!/usr/bin/env bash
# The production processes on one machine, in the foreground: gunicorn (the web, gunicorn.conf.py),
# a Celery worker and Celery beat, after migrate and collectstatic. `make serve` runs it with its
# environment (docs/operations.md, "Serving"). Ctrl-C, or SIGTERM to this script, stops all three;
# if one of them exits, the others are stopped and the script exits with its status.
# Environment: the settings' variables (DEBUG off: SECRET_KEY, DATABASE_URL, REDIS_URL, ...), PORT
# and the gunicorn ones (gunicorn.conf.py), PY (the Python of the virtualenv, default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
BIN=$(dirname "$PY")
if [ -z "${REDIS_URL:-}" ]; then
	echo "serve.sh: REDIS_URL (the Celery broker) is not set; the worker and beat need it" >&2
	exit 2
fi

"$PY" manage.py migrate --noinput
"$PY" manage.py collectstatic --noinput --verbosity 0
mkdir -p var

pids=()
stop() {
	trap - INT TERM
	kill -TERM "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

"$BIN/gunicorn" --config gunicorn.conf.py hdh_access.wsgi &
pids+=($!)
# The worker yields the cores to the web under load (nice 10, as Nice= in deploy/hdh-worker*.service):
# an email or a receipt PDF may wait a little, a page should not.
nice -n 10 "$BIN/celery" --app hdh_access worker --loglevel INFO &
pids+=($!)
# Beat keeps the time of each job's last run in var/ (not in the project folder).
"$BIN/celery" --app hdh_access beat --loglevel INFO --schedule var/celerybeat-schedule &
pids+=($!)

status=0
wait -n "${pids[@]}" || status=$?
echo "serve.sh: a process exited (status $status): stopping the others" >&2
stop
exit "$status"
