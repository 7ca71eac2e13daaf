#!/usr/bin/env bash
# Relay's load benchmark: builds Release once, then runs the harness, which starts and stops everything itself.
#   tests/Load/bench.sh            full run (minutes), report in tests/Load/results/
#   tests/Load/bench.sh --smoke    a few seconds per scenario; ends with "load: N passed, M failed"
#   tests/Load/bench.sh search     admin event search on a store seeded with 1,000,000 events, both stores;
#                                  ends with "search: N passed, M failed"
# Other options go to the command: dotnet tests/Load/bin/Release/net10.0/Relay.Load.dll bench --help (or search --help)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
dotnet build -c Release src/Relay/Relay.csproj -nologo -v q -clp:ErrorsOnly
dotnet build -c Release tests/Load/Relay.Load.csproj -nologo -v q -clp:ErrorsOnly
if [[ "${1:-}" == search ]]; then
  shift
  exec dotnet tests/Load/bin/Release/net10.0/Relay.Load.dll search "$@"
fi
exec dotnet tests/Load/bin/Release/net10.0/Relay.Load.dll bench "$@"
