#!/usr/bin/env bash
# Fuzz the REST API against its own OpenAPI schema (/v2/api/schema) with schemathesis, every check on: no request
# may get a 5xx, and every response must match what the schema declares (status, content type, headers, body).
#
# It uses a database of its own (created here, dropped at the end, never the dev one), a fresh tenant with one
# camera and an all-scopes token, and one daphne process on a free port. schemathesis is not a project dependency:
# it lives in its own virtualenv ($ST_VENV, default /tmp/st), created here when missing.
#
#   REDIS_URL=redis://127.0.0.1:6379/9 VMS_REDIS_PREFIX=vms-schema bench/schemathesis.sh [extra schemathesis options]
#
# Environment: ST_VENV, ST_DB (default vms_schemathesis), BENCH_POSTGRES (server URL, default
# postgres://postgres@127.0.0.1:5432), ST_MAX_EXAMPLES (per operation, default 50), ST_MAX_TIME (seconds per
# run, default 300), ST_LOGIN_RATE. The login endpoints (/v2/api/auth/) are fuzzed in a second run, without the
# token. It prints, per run, the operations and test cases and the failures by check, then the server errors
# (5xx) in daphne's log with their causes. Failures a stored state explains are configured in bench/schemathesis.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VENV=${ST_VENV:-/tmp/st}
ST_DB=${ST_DB:-vms_schemathesis}
SERVER=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-50}
MAX_TIME=${ST_MAX_TIME:-300}
CONFIG=$PWD/bench/schemathesis.toml
if [ ! -x "$ST_VENV/bin/schemathesis" ]; then
    python3 -m venv "$ST_VENV"
    "$ST_VENV/bin/pip" install -q schemathesis==4.32.5
fi

export DATABASE_URL="$SERVER/$ST_DB" DEBUG=false DJANGO_SETTINGS_MODULE=vms.settings
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/9} VMS_REDIS_PREFIX=${VMS_REDIS_PREFIX:-vms-schema}
SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
METRICS_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(16))')
WORK=$(mktemp -d)
export SECRET_KEY METRICS_PASSWORD VMS_RECORDINGS_ROOT="$WORK/recordings"
# A throttle-free login, so the fuzz reaches the logic behind it (its 429 with Retry-After is in the schema and in
# tests/tenants/): ST_LOGIN_RATE=10/min runs it with the default throttle instead.
export VMS_LOGIN_RATE_PER_USER=${ST_LOGIN_RATE:-1000000/min} VMS_LOGIN_RATE_PER_ADDRESS=${ST_LOGIN_RATE:-1000000/min}
DAPHNE_PID=

cleanup() {
    [ -n "$DAPHNE_PID" ] && kill "$DAPHNE_PID" 2>/dev/null && wait "$DAPHNE_PID" 2>/dev/null
    psql "$SERVER/postgres" -q -c "DROP DATABASE IF EXISTS $ST_DB WITH (FORCE)"
    redis-cli -u "$REDIS_URL" --scan --pattern "$VMS_REDIS_PREFIX*" | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

psql "$SERVER/postgres" -q -c "DROP DATABASE IF EXISTS $ST_DB WITH (FORCE)" -c "CREATE DATABASE $ST_DB"
.venv/bin/python manage.py migrate --no-input -v 0
# A limit above what one run can create, so creates are not all 403 once the fuzz has made a few cameras.
.venv/bin/python manage.py create_tenant fuzz --camera-limit 100000 --features person,vehicle,license_plate,motion
TOKEN=$(.venv/bin/python manage.py issue_token --tenant fuzz --ttl 7200)

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.venv/bin/daphne -b 127.0.0.1 -p "$PORT" vms.asgi:application >"$WORK/daphne.log" 2>&1 &
DAPHNE_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -sf -o /dev/null "$BASE/v2/health" && break; sleep 0.2; done
curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" "$BASE/v2/api/cameras" \
    -d '{"id": "cam-fuzz-01", "name": "fuzz", "rtsp_url": "rtsp://user:secret@127.0.0.1:8554/fuzz"}'

run() {  # label, schemathesis options...
    local label=$1
    shift
    echo "==> $label"
    # From $WORK: schemathesis keeps a cache of failures in the working directory.
    (cd "$WORK" && "$ST_VENV/bin/schemathesis" --config-file "$CONFIG" run "$BASE/v2/api/schema" --checks all \
        --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME" --request-timeout 20 --seed 1 --no-color \
        --report json --report-json-path "$WORK/$label.json" "$@") || true
    python3 - "$WORK/$label.json" "$label" <<'EOF'
import json
import sys

report = json.load(open(sys.argv[1]))
ops, cases = report["operations"], report["test_cases"]
print(f"{sys.argv[2]}: {ops['tested']} operations tested, {cases['generated']} test cases, "
      f"{cases['unique_failures']} unique failures (stopped by: {report['stop_reason']})")
for failure in report["failures"]:
    print(f"  {failure['code']} {failure['title']}: {failure['count']} ({', '.join(failure['operations'])})")
EOF
}
run api -H "Authorization: Bearer $TOKEN" --exclude-path-regex '^/v2/api/auth/' "$@"
run auth --include-path-regex '^/v2/api/auth/' "$@"
echo "==> PostgreSQL connections to $ST_DB now: $(psql "$SERVER/postgres" -Atc \
    "SELECT count(*) FROM pg_stat_activity WHERE datname = '$ST_DB'")"
echo "==> server errors in the daphne log: $(grep -c 'Internal Server Error' "$WORK/daphne.log" || true)"
# Why, from the last line of each traceback (the requests are among the failures above).
grep -A200 'Internal Server Error' "$WORK/daphne.log" | grep -E '^[A-Za-z_.]+(Error|Exception)' | sort | uniq -c || true
