#!/usr/bin/env bash
# Shared by up.sh and test.sh: install and start RabbitMQ and PostgreSQL from Debian packages when missing
# (there may be no Docker), or use the ones already running. Idempotent.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="$REPO_ROOT/.run"
mkdir -p "$RUN_DIR"

# Local development credentials for the database this script creates; production sets its own through the environment.
PG_USER="${PG_USER:-worker}"
PG_PASSWORD="${PG_PASSWORD:-worker}"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # wait_for <what> <seconds> <command...>
  local what=$1 seconds=$2; shift 2
  for _ in $(seq 1 "$seconds"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  die "$what did not come up within ${seconds}s"
}

ensure_packages() {
  local missing=()
  command -v dotnet >/dev/null || die "the .NET 10 SDK is required (dotnet on PATH)"
  # The Worker build builds the ops console (src/Worker.Console) with npm.
  command -v npm >/dev/null && command -v node >/dev/null ||
    die "node and npm (Node 18 or later) are required to build the ops console: apt-get install nodejs npm, or https://nodejs.org"
  [ -x /usr/sbin/rabbitmq-server ] || [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && [ -d /etc/postgresql ] || missing+=(postgresql)
  command -v curl >/dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    log "Installing ${missing[*]} from Debian packages"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

ensure_rabbitmq() {
  if port_open 5672; then log "RabbitMQ is already listening on 5672"; else
    log "Starting RabbitMQ"
    as_root service rabbitmq-server start >/dev/null
  fi
  wait_for "RabbitMQ" 60 port_open 5672
  wait_for "RabbitMQ" 60 as_root rabbitmqctl await_startup
}

ensure_postgres() {
  if port_open 5432; then log "PostgreSQL is already listening on 5432"; else
    log "Starting PostgreSQL"
    as_root service postgresql start >/dev/null
  fi
  wait_for "PostgreSQL" 60 port_open 5432
  local psql=(as_root su postgres -c)
  if ! "${psql[@]}" "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$PG_USER'\"" | grep -q 1; then
    "${psql[@]}" "psql -qc \"CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'\""
  fi
}

ensure_database() { # ensure_database <name>
  if ! as_root su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='$1'\"" | grep -q 1; then
    as_root su postgres -c "createdb -O $PG_USER $1"
  fi
}

ensure_vhost() { # ensure_vhost <name>: a RabbitMQ virtual host of its own keeps tests away from a running demo
  as_root rabbitmqctl list_vhosts -q | grep -qx "$1" || as_root rabbitmqctl add_vhost "$1" >/dev/null
  as_root rabbitmqctl set_permissions -p "$1" guest '.*' '.*' '.*' >/dev/null
}

ensure_chromium() { # the browser tests drive Debian's Chromium (Playwright cannot download a browser of its own here)
  local path="${CHROMIUM_PATH:-/usr/bin/chromium}"
  if [ -x "$path" ]; then return 0; fi
  [ -z "${CHROMIUM_PATH:-}" ] || die "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable"
  log "Installing chromium from Debian packages (for the console's browser tests)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
  [ -x "$path" ] || die "apt-get installed chromium, but $path is not there"
}

ensure_services() {
  ensure_packages
  ensure_rabbitmq
  ensure_postgres
}
