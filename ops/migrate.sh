#!/usr/bin/env bash
# Applies the audit schema (migrations/Worker.Migrations) to the database in ConnectionStrings__Postgres (default: the
# local llm_worker database that up.sh creates), building the migrator first when its sources changed. Idempotent.
#   ops/migrate.sh                 apply pending migrations
#   ops/migrate.sh status          applied and pending migrations
#   ops/migrate.sh script [path]   regenerate the idempotent SQL script for DBAs (default migrations/sql/audit-idempotent.sql)
# The worker never migrates by itself: it refuses to start while its schema is behind.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export ConnectionStrings__Postgres="${ConnectionStrings__Postgres:-Host=localhost;Database=llm_worker;Username=$PG_USER;Password=$PG_PASSWORD}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

project="$REPO_ROOT/migrations/Worker.Migrations"
dll="$project/bin/Release/net10.0/Worker.Migrations.dll"
# Rebuild when any source the migrator compiles (its own, the worker's, the build props) is newer than its binary.
if [ ! -f "$dll" ] || [ -n "$(find "$project" "$REPO_ROOT/src/Worker" "$REPO_ROOT/src/Worker.Contracts" "$REPO_ROOT"/Directory.*.props \
    \( -name bin -o -name obj \) -prune -o -type f -newer "$dll" -print -quit)" ]; then
  log "Building the migrator"
  dotnet build "$project" -c Release -v quiet -nologo -clp:NoSummary >/dev/null || dotnet build "$project" -c Release -v quiet -nologo
fi

cd "$REPO_ROOT"
dotnet "$dll" "$@"
