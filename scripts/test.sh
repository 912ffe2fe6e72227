#!/usr/bin/env bash
# Installs what the tests need, then runs the whole suite (real PostgreSQL, Redis, ffmpeg, RTSP).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh test
.venv/bin/ruff check .
# The apps form one stack (tenants <- cameras <- playback <- events): an import upward fails here (.importlinter).
.venv/bin/lint-imports --no-cache
.venv/bin/python manage.py makemigrations --check --dry-run -v 0
exec .venv/bin/pytest "$@"
