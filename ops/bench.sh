#!/usr/bin/env bash
# Benchmarks against a bare baseline (not part of the test suite): throughput, in-flight capacity, failover cost,
# recovery time, overhead, partial failures, healthy traffic, routing, priorities and memory, with the Release worker and simulator as separate processes on real RabbitMQ and
# PostgreSQL. Starts what is missing (like ops/test.sh), builds, migrates a fresh database of its own and runs
# tests/Worker.Benchmarks. Results: bench/results/latest.md and latest.json (partial.* for --quick or --scenario).
#   ops/bench.sh                       every scenario, about 14 minutes with the build on 2 cores
#   ops/bench.sh --quick               smaller sizes: a smoke run of about 2 minutes
#   ops/bench.sh --scenario overhead   one scenario (drain, inflight, outage, recovery, overhead, partial-5xx, partial-429,
#                                      partial-both, partial-junk, scale, healthy, routing, priority); repeatable
#   ops/bench.sh --help                every size that can be set, e.g. --drain-requests 5000
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for arg in "$@"; do
  if [ "$arg" = "--help" ] || [ "$arg" = "-h" ]; then
    dotnet build "$REPO_ROOT/tests/Worker.Benchmarks" -c Release -v quiet -nologo -clp:NoSummary >/dev/null
    exec dotnet "$REPO_ROOT/tests/Worker.Benchmarks/bin/Release/net10.0/Worker.Benchmarks.dll" --help
  fi
done

# A database and a virtual host of its own, new for every run: what earlier runs left (rows, queues) would skew the
# figures, and a worker started by up.sh or a test run never takes the benchmark's messages.
BENCH_DB="${BENCH_DB:-llm_worker_bench}"
BENCH_VHOST="${BENCH_VHOST:-worker-bench}"
ensure_services
as_root su postgres -c "dropdb --if-exists --force $BENCH_DB"
ensure_database "$BENCH_DB"
as_root rabbitmqctl delete_vhost "$BENCH_VHOST" >/dev/null 2>&1 || true
ensure_vhost "$BENCH_VHOST"
export ConnectionStrings__RabbitMq="amqp://guest:guest@localhost:5672/$BENCH_VHOST"
export ConnectionStrings__Postgres="Host=localhost;Database=$BENCH_DB;Username=$PG_USER;Password=$PG_PASSWORD"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# Building the tool builds the worker and the simulator it runs (project references that are not linked).
log "Building the worker, the simulator and the benchmark tool (Release)"
dotnet build "$REPO_ROOT/tests/Worker.Benchmarks" -c Release -v quiet -nologo -clp:NoSummary >/dev/null ||
  dotnet build "$REPO_ROOT/tests/Worker.Benchmarks" -c Release -v quiet -nologo

log "Applying the audit schema to $BENCH_DB"
ConnectionStrings__Postgres="$ConnectionStrings__Postgres" bash "$REPO_ROOT/ops/migrate.sh"

commit="$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -n "$(git -C "$REPO_ROOT" status --porcelain 2>/dev/null)" ] && commit="$commit (with uncommitted changes)"
export BENCH_COMMAND="ops/bench.sh${*:+ $*}" BENCH_COMMIT="$commit"
log "Running the benchmarks (process logs in .run/bench/)"
dotnet "$REPO_ROOT/tests/Worker.Benchmarks/bin/Release/net10.0/Worker.Benchmarks.dll" --out "$REPO_ROOT/bench/results" "$@"
