#!/usr/bin/env bash
# Quick start: install Protekt into .venv if needed, then run `protekt demo` (fresh SQLite
# database, a demo client and user printed on screen, server on http://127.0.0.1:8000).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_venv
exec "$VENV/bin/protekt" demo "$@"
