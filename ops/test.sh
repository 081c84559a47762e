#!/usr/bin/env bash
# Runs every test: the fast unit tests, then the integration tests against real RabbitMQ, real PostgreSQL and the
# provider simulator over real HTTP. Installs and starts what is missing. Extra arguments go to `dotnet test`
# (e.g. ops/test.sh --filter "FullyQualifiedName~Pipeline"). Ends with one line: "N passed, N failed".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Tests get their own database and virtual host, so a worker started by up.sh never steals their messages.
# TEST_DB / TEST_VHOST let two test runs on one machine stay out of each other's way.
TEST_DB="${TEST_DB:-llm_worker_test}"
TEST_VHOST="${TEST_VHOST:-worker-tests}"
ensure_services
ensure_chromium
# A new database every run too: rows an earlier run left (tens of thousands after a day of runs) slow the metrics
# queries, and a table an older build created differently would not be re-created by the migrations.
as_root su postgres -c "psql -q -c 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS \"$TEST_DB\" WITH (FORCE)'" >/dev/null
ensure_database "$TEST_DB"
# A new virtual host every run (as ops/bench.sh does): queues an earlier run or an older build declared (say, the request
# queue without the x-max-priority this build declares) would be refused by the broker, and messages they still hold
# would be answered in the middle of this run.
as_root rabbitmqctl delete_vhost "$TEST_VHOST" >/dev/null 2>&1 || true
ensure_vhost "$TEST_VHOST"
export ConnectionStrings__RabbitMq="amqp://guest:guest@localhost:5672/$TEST_VHOST"
export ConnectionStrings__Postgres="Host=localhost;Database=$TEST_DB;Username=$PG_USER;Password=$PG_PASSWORD"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# The browser tests drive Debian's Chromium by path; Playwright must never try to fetch a browser of its own.
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

log "Applying the audit schema to $TEST_DB"
bash "$REPO_ROOT/ops/migrate.sh"

results="$RUN_DIR/test-results-$TEST_DB"
rm -rf "$results"
log "Building and running the tests"
set +e
dotnet test "$REPO_ROOT/Worker.sln" -c Release --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
status=$?
set -e

passed=0
failed=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  count() { sed -nE "s/.* $1=\"([0-9]+)\".*/\1/p" <<<"$counters"; }
  passed=$((passed + $(count passed)))
  failed=$((failed + $(count failed) + $(count error) + $(count timeout) + $(count aborted)))
done
# The failed tests by name, one line each with the first line of their message, so a log cut to its last lines still
# says what failed (the full messages are above and in the .trx files).
if [ "$failed" -gt 0 ]; then
  echo "Failed tests:"
  for trx in "$results"/*.trx; do
    tr -d '\r' <"$trx" | awk '
      /<UnitTestResult / && /outcome="Failed"/ { match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11); want = 1; next }
      want && /<Message>/ { line = $0; sub(/.*<Message>/, "", line); sub(/<\/Message>.*/, "", line); print "  " name ": " substr(line, 1, 200); want = 0 }'
  done
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "dotnet test exited with $status without a failed test (build error or crashed test host): counted as one failure"
  failed=1
fi
echo "$passed passed, $failed failed"
exit "$status"
