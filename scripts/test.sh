#!/usr/bin/env bash
# The whole test suite, on a fresh machine as on ours: makes .venv, installs the Debian packages
# the tests use when missing (as root), starts Redis and PostgreSQL when they are not running,
# lints, then runs pytest. Extra arguments go to pytest (e.g. ./scripts/test.sh -k refresh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_venv test
# oathtool plays the user's authenticator app; zbarimg reads the enrollment QR codes; curl and jq
# run the README's walk-through; Node.js runs the JavaScript SDK's tests; Chromium (driven by
# Playwright, which downloads no browser of its own) runs the example app's browser test.
ensure_packages oathtool:oathtool zbarimg:zbar-tools curl:curl jq:jq node:nodejs npm:npm \
  chromium:chromium
ensure_node_modules
ensure_redis
ensure_postgres

say "ruff"
"$VENV/bin/ruff" check .
say "pytest"
# Three processes (most tests wait on servers, clocks and browsers more than they compute), each
# running whole files (their servers and fixtures stay together), handed out
# in collection order (end-to-end files first, tests/conftest.py) rather than the largest files
# first; PROTEKT_TEST_PROCESSES=0 runs everything in one.
exec "$VENV/bin/pytest" -n "${PROTEKT_TEST_PROCESSES:-3}" --dist loadfile --no-loadscope-reorder "$@"
