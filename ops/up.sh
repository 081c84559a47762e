#!/usr/bin/env bash
# One command for a new user: installs and starts RabbitMQ and PostgreSQL when missing (or uses running ones),
# starts the provider simulator for every provider without an API key (and says so), runs the worker, runs the demo
# producer, then keeps the worker running until Ctrl+C.
#   ops/up.sh             everything, then follow the worker's log
#   ops/up.sh --no-wait   everything, then stop (what CI-like checks use)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

wait_after_demo=true
[ "${1:-}" = "--no-wait" ] && wait_after_demo=false

ensure_services
ensure_database llm_worker
export ConnectionStrings__RabbitMq="${ConnectionStrings__RabbitMq:-amqp://guest:guest@localhost:5672/}"
export ConnectionStrings__Postgres="${ConnectionStrings__Postgres:-Host=localhost;Database=llm_worker;Username=$PG_USER;Password=$PG_PASSWORD}"
export ASPNETCORE_URLS="${ASPNETCORE_URLS:-http://127.0.0.1:8080}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# The ops routes are off without a token. For a local run, make one up for this session only (never written to disk).
if [ -z "${OPS_API_KEY:-}" ]; then
  OPS_API_KEY="local-$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export OPS_API_KEY
  generated_ops_key=true
else
  generated_ops_key=false
fi

log "Building (Release)"
dotnet build "$REPO_ROOT/Worker.sln" -c Release -v quiet -nologo -clp:NoSummary >/dev/null || dotnet build "$REPO_ROOT/Worker.sln" -c Release -v quiet -nologo
bin() { echo "$REPO_ROOT/src/$1/bin/Release/net10.0/$1.dll"; }

# The worker refuses to start on a database whose audit schema is behind; migrations are applied explicitly, here.
log "Applying the audit schema"
bash "$REPO_ROOT/ops/migrate.sh"

# A broker that ran an older build holds the request queues without the x-max-priority this build declares, and RabbitMQ
# cannot change a queue's arguments: empty, unused ones are deleted so the worker declares them anew. A queue that still
# holds requests is left alone; the worker's start then names it and the fix (docs/scaling.md, "Priorities and shedding").
if [ "$ConnectionStrings__RabbitMq" = "amqp://guest:guest@localhost:5672/" ] && [ -z "${Messaging__QueueName:-}${Messaging__QueueType:-}${Messaging__MaxPriority:-}" ]; then
  for queue in completion-requests completion-requests_error completion-requests_skipped; do
    if as_root rabbitmqctl list_queues -q name arguments 2>/dev/null | awk -F'\t' -v q="$queue" '$1 == q && $2 !~ /x-max-priority/' | grep -q .; then
      as_root rabbitmqctl delete_queue "$queue" --if-empty --if-unused >/dev/null 2>&1 &&
        log "Deleted the empty queue $queue, declared without priorities by an older build: the worker declares it anew" || true
    fi
  done
fi

# Leftovers of an earlier run would hold the ports.
for name in worker simulator; do
  if [ -f "$RUN_DIR/$name.pid" ]; then kill "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null || true; rm -f "$RUN_DIR/$name.pid"; fi
done
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

SIM_URL="http://127.0.0.1:5080"
simulated=()
if [ -z "${GEMINI_API_KEY:-}" ]; then
  simulated+=(gemini)
  export Providers__gemini__BaseUrl="$SIM_URL/gemini" GEMINI_API_KEY="simulator-key"
fi
if [ -z "${OPENAI_API_KEY:-}" ]; then
  simulated+=(openai)
  export Providers__openai__BaseUrl="$SIM_URL/openai/v1" OPENAI_API_KEY="simulator-key"
fi
demo_args=(--demo)
if [ ${#simulated[@]} -gt 0 ]; then
  log "No API key for: ${simulated[*]}. Starting the provider SIMULATOR at $SIM_URL in their place (set GEMINI_API_KEY / OPENAI_API_KEY to use the real providers)."
  dotnet "$(bin Worker.Simulator)" --urls "$SIM_URL" >"$RUN_DIR/simulator.log" 2>&1 &
  pids+=($!); echo $! >"$RUN_DIR/simulator.pid"
  wait_for "the simulator" 30 curl -fsS "$SIM_URL/_sim/targets"
  [ "${simulated[0]}" = gemini ] && demo_args+=(--simulator "$SIM_URL")
  # The demo's outage scenario waits for a health ping to bring traffic back to Gemini. With every provider simulated
  # no real provider is paid for it, so ping every 10 s instead of the default 30 s (unless set already).
  if [ ${#simulated[@]} -eq 2 ] && [ -z "${ProviderHealth__PingInterval:-}" ]; then
    export ProviderHealth__PingInterval=00:00:10
    log "Simulator only: health pings every 10 s for this demo (ProviderHealth__PingInterval; the default is 30 s)."
  fi
fi

log "Starting the worker on $ASPNETCORE_URLS (log: .run/worker.log)"
dotnet "$(bin Worker)" >"$RUN_DIR/worker.log" 2>&1 &
worker_pid=$!
pids+=($worker_pid); echo $worker_pid >"$RUN_DIR/worker.pid"
for _ in $(seq 1 60); do
  curl -fsS "$ASPNETCORE_URLS/health/ready" >/dev/null 2>&1 && break
  kill -0 $worker_pid 2>/dev/null || { cat "$RUN_DIR/worker.log"; die "the worker exited; its log is above"; }
  sleep 1
done
curl -fsS "$ASPNETCORE_URLS/health/ready" >/dev/null || { tail -n 30 "$RUN_DIR/worker.log"; die "the worker is not ready"; }
log "Worker ready: $(curl -fsS "$ASPNETCORE_URLS/health/ready")"

log "Running the demo producer (src/Worker.SampleProducer)"
dotnet "$(bin Worker.SampleProducer)" "${demo_args[@]}"

ops() { curl -fsS -H "Authorization: Bearer $OPS_API_KEY" "$ASPNETCORE_URLS$1"; }
log "What the audit trail says (ops API, see ops/worker.http):"
echo "GET /requests?limit=3"
ops "/requests?limit=3" | head -c 1500; echo
echo "GET /metrics/providers?window=1h"
ops "/metrics/providers?window=1h" | head -c 2500; echo
echo "GET /providers"
ops "/providers" | head -c 2500; echo
echo "GET /status?window=1h"
ops "/status?window=1h" | head -c 2500; echo
if [ ${#simulated[@]} -gt 0 ]; then
  # The demo's last scenario parked a request while both providers were down; they are healthy again now.
  export WORKER_URL="$ASPNETCORE_URLS"
  log "Parked requests, grouped by cause (ops/ops.sh dead-letters groups):"
  bash "$REPO_ROOT/ops/ops.sh" dead-letters groups
  log "Replaying them now that the providers are back (ops/ops.sh dead-letters replay --all):"
  bash "$REPO_ROOT/ops/ops.sh" dead-letters replay --all
fi
log "Ops console: $ASPNETCORE_URLS/console/ (sign in with the ops token)"
if $generated_ops_key; then
  log "Ops token for this session: export OPS_API_KEY=$OPS_API_KEY (set your own OPS_API_KEY to choose it)"
fi

if $wait_after_demo; then
  log "The worker keeps running. Publish your own: dotnet run --project src/Worker.SampleProducer -- \"your prompt\". Ctrl+C stops everything."
  tail -n 0 -f "$RUN_DIR/worker.log" &
  pids+=($!)
  wait $worker_pid
else
  log "Demo done; stopping."
fi
