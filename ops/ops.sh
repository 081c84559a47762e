#!/usr/bin/env bash
# The worker's ops CLI (src/Worker.Ops.Cli), built on first use. Reads WORKER_URL (default http://127.0.0.1:8080),
# OPS_API_KEY (the worker's ops key) and OPS_USER (recorded as who acted; default: your login name).
#   ops/ops.sh dead-letters groups
#   ops/ops.sh dead-letters replay --reason providers_exhausted --dry-run
#   ops/ops.sh --help
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$REPO_ROOT/src/Worker.Ops.Cli"
dll="$project/bin/Release/net10.0/worker-ops.dll"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if [ ! -f "$dll" ] || [ -n "$(find "$project" "$REPO_ROOT"/Directory.*.props \( -name bin -o -name obj \) -prune -o -type f -newer "$dll" -print -quit)" ]; then
  dotnet build "$project" -c Release -v quiet -nologo -clp:NoSummary >/dev/null || dotnet build "$project" -c Release -v quiet -nologo
fi
exec dotnet "$dll" "$@"
