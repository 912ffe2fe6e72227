#!/usr/bin/env bash
# Installs what running the system needs on a fresh Debian machine (`make run`), or with `test` what the tests and
# benchmarks need on top (`make test`: a browser, a private MQTT broker, pytest and the linters); safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-run}"

APT_PACKAGES=(
  ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
)
REQUIREMENTS=requirements.txt
if [ "$MODE" = test ]; then
  APT_PACKAGES+=(chromium mosquitto)
  REQUIREMENTS=requirements-test.txt
fi
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Any npm will do (a Node.js from elsewhere may already bring one); Debian's otherwise.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt: installing ${missing[*]}"
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo "sudo")
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> python: creating .venv"
  python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
# A stamp per mode holds the requirement files it installed; the tests' install covers running's too.
current() { cat requirements*.txt | cmp -s - "$1"; }
if ! current ".venv/.installed-$MODE" && ! current .venv/.installed-test; then
  echo "==> pip: installing $REQUIREMENTS"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r "$REQUIREMENTS"
  cat requirements*.txt > ".venv/.installed-$MODE"
fi

# The SPA's browser libraries (hls.js, Chart.js) come from npm, pinned by package-lock.json; Django serves them.
if ! cmp -s package-lock.json node_modules/.package-lock.installed; then
  echo "==> npm: installing package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.package-lock.installed
fi

scripts/services.sh

if [ ! -f .env ]; then
  echo "==> .env: writing fresh secrets (see .env.example for every variable)"
  {
    echo "SECRET_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    echo "METRICS_PASSWORD=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(16))')"
    echo "DEMO_PASSWORD=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')"
  } > .env
fi
