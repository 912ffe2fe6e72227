#!/usr/bin/env bash
# Installs, migrates, creates the demo tenant and users, prints a token, then runs web + workers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
set -a; . ./.env; set +a
# A development system: webhooks may go to plain http receivers on this machine (production allows neither; .env
# can say otherwise). Link-local, where cloud metadata services answer, stays denied.
export VMS_WEBHOOK_ALLOW_HTTP="${VMS_WEBHOOK_ALLOW_HTTP:-true}"
export VMS_WEBHOOK_DENY_NETS="${VMS_WEBHOOK_DENY_NETS-169.254.0.0/16,fe80::/10}"
# MQTT to this machine's broker when one answers on 1883 (a VMS_MQTT_URL in .env wins; an empty one turns it off).
if [ -z "${VMS_MQTT_URL+set}" ] && (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  export VMS_MQTT_URL=mqtt://127.0.0.1:1883
  echo "==> MQTT: events and camera status to $VMS_MQTT_URL (mosquitto_sub -v -t 'vms/#')"
fi
mkdir -p var
.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py collectstatic --no-input -v 0
.venv/bin/python manage.py create_demo --password="$DEMO_PASSWORD"  # = : a password may begin with "-"
echo "==> web on http://127.0.0.1:${PORT:-8000}/ (API /v2/api/, docs /v2/api/docs, admin /admin/)"
# The demo camera (Procfile's `camera`: scripts/demo_camera.py on VMS_DEMO_CAMERA_PORT) runs unless VMS_DEMO_CAMERA
# is off; create_demo above added it to the demo tenant, or refused a VMS_DEMO_CAMERA other than these words.
processes=()
case "$(echo "${VMS_DEMO_CAMERA:-true}" | tr "[:upper:]" "[:lower:]" | tr -d "[:space:]")" in
  0|false|no|off) processes=(web worker record detect export notify relay beat) ;;
  *) echo "==> demo camera on rtsp://127.0.0.1:${VMS_DEMO_CAMERA_PORT:-8554}/demo, substream /demo/sub" \
       "(VMS_DEMO_CAMERA=0 turns it off)" ;;
esac
# -p: honcho hands each process a PORT from this base; only web uses it (its own default would be 5000).
exec .venv/bin/honcho start -f Procfile -p "${PORT:-8000}" "${processes[@]}"
