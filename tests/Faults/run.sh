#!/usr/bin/env bash
# Relay's fault suite: builds Release once, then runs every scenario, which starts and kills everything itself.
#   tests/Faults/run.sh                          full run (about 10 minutes on 2 cores)
#   tests/Faults/run.sh --ci                     short phases, what CI runs; ends with "faults: N passed, M failed"
#   tests/Faults/run.sh --scenarios redis-kill   one scenario (names: --help)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
dotnet build -c Release src/Relay/Relay.csproj -nologo -v q -clp:ErrorsOnly
dotnet build -c Release tests/Faults/Relay.Faults.csproj -nologo -v q -clp:ErrorsOnly
exec dotnet tests/Faults/bin/Release/net10.0/Relay.Faults.dll "$@"
