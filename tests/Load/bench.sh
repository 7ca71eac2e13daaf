#!/usr/bin/env bash
# Relay's load benchmark: builds Release once, then runs the harness, which starts and stops everything itself.
#   tests/Load/bench.sh            full run (minutes), report in tests/Load/results/
#   tests/Load/bench.sh --smoke    a few seconds per scenario; ends with "load: N passed, M failed"
# Other options go to the bench command: dotnet tests/Load/bin/Release/net10.0/Relay.Load.dll bench --help
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
dotnet build -c Release src/Relay/Relay.csproj -nologo -v q -clp:ErrorsOnly
dotnet build -c Release tests/Load/Relay.Load.csproj -nologo -v q -clp:ErrorsOnly
exec dotnet tests/Load/bin/Release/net10.0/Relay.Load.dll bench "$@"
