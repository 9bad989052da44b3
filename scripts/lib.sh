# Shared by scripts/test.sh and scripts/demo.sh: a virtual environment, Debian packages,
# and the services the tests use. Sourced, not run.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PG_URL_DEFAULT="postgresql+psycopg://postgres@127.0.0.1:5432/test"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# ensure_packages CMD:PACKAGE ... -- install the Debian package of each missing command.
ensure_packages() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
  else
    say "missing: ${missing[*]} (install them with apt-get as root); the tests needing them skip"
  fi
}

# ensure_venv [EXTRAS] -- .venv with the Protekt server and the Python SDK installed (editable),
# reinstalled when either pyproject.toml changes.
ensure_venv() {
  local extras="${1:-}" stamp
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    { say "Python 3.11 or newer is required"; exit 1; }
  [ -x "$VENV/bin/python" ] || { say "creating $VENV"; python3 -m venv "$VENV"; }
  stamp="$(cat "$ROOT/pyproject.toml" "$ROOT/sdk/python/pyproject.toml" | sha256sum | cut -c1-16)"
  stamp="$VENV/.installed-$stamp-${extras:-none}"
  if [ ! -f "$stamp" ]; then
    say "installing Protekt${extras:+ with [$extras]} and its Python SDK into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT${extras:+[$extras]}" \
      -e "$ROOT/sdk/python[flask]"
    rm -f "$VENV"/.installed-*-"${extras:-none}"
    touch "$stamp"
  fi
}

# ensure_node_modules -- the npm dependencies of the JavaScript SDK and of the openid-client web
# app that tests/e2e/test_relying_parties.py runs, each from its package-lock.json.
ensure_node_modules() {
  local dir
  command -v npm >/dev/null 2>&1 || { say "npm is missing; the JavaScript tests will skip"; return 0; }
  for dir in "$ROOT/sdk/js" "$ROOT/tests/e2e/fixtures/openid_client_app"; do
    [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ] && continue
    say "installing the npm dependencies of ${dir#"$ROOT"/} (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  done
}

redis_answers() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }

ensure_redis() {
  ensure_packages redis-server:redis-server redis-cli:redis-tools
  redis_answers && return 0
  say "starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --logfile "${TMPDIR:-/tmp}/protekt-redis.log"
  for _ in $(seq 50); do redis_answers && return 0; sleep 0.1; done
  say "redis-server did not start; see ${TMPDIR:-/tmp}/protekt-redis.log"
}

pg_answers() { "$VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, sqlalchemy as sa
sa.create_engine(sys.argv[1], connect_args={"connect_timeout": 3}).connect().close()
PY
}

# ensure_postgres -- a PostgreSQL answering at PROTEKT_TEST_POSTGRES_URL: the local server,
# started if it is installed but stopped; else a private instance in .cache/postgres.
ensure_postgres() {
  local url="${PROTEKT_TEST_POSTGRES_URL:-$PG_URL_DEFAULT}"
  pg_answers "$url" && return 0
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    say "starting the local PostgreSQL cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start \
      >/dev/null 2>&1 || true
    for _ in $(seq 50); do pg_answers "$url" && return 0; sleep 0.2; done
  fi
  [ -n "${PROTEKT_TEST_POSTGRES_URL:-}" ] && return 0  # someone else's server: leave it be
  start_private_postgres
}

postgres_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

start_private_postgres() {
  local bin data port=55432 run=""
  [ -n "$(postgres_bin)" ] || ensure_packages __postgresql__:postgresql
  bin="$(postgres_bin)"
  [ -x "$bin/initdb" ] || { say "PostgreSQL is not installed; its tests will skip"; return 0; }
  data="$ROOT/.cache/postgres"
  mkdir -p "$data"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$data"; run="runuser -u postgres --"; fi
  [ -f "$data/PG_VERSION" ] || $run "$bin/initdb" -D "$data" -A trust -U postgres >/dev/null
  say "starting a private PostgreSQL on 127.0.0.1:$port"
  $run "$bin/pg_ctl" -D "$data" -l "$data/log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null || true
  $run "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres test 2>/dev/null || true
  export PROTEKT_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/test"
}
