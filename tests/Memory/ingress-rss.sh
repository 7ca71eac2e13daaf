#!/usr/bin/env bash
# Peak resident memory of the relay while many clients upload large webhook bodies slowly, all at once.
#
#   tests/Memory/ingress-rss.sh [--clients 200] [--kib 1024] [--rate 64k] [--ingress "maxConcurrentRequests: 32"]
#
# Builds Release, starts a private redis-server (so the store's memory is not counted in the relay's) and the relay
# with one `hmac` source, then starts every client at once with curl --limit-rate. Each body is signed and has its own
# id, so every accepted upload goes all the way to the store. Prints the relay's RSS before, its peak (VmHWM) and the
# answers. --ingress adds keys to the ingress section (e.g. a concurrency limit). Needs redis-server, curl, openssl.
set -euo pipefail

clients=200 kib=1024 rate=64k ingress=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --clients) clients="$2"; shift 2 ;;
    --kib) kib="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --ingress) ingress="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d /tmp/relay-rss-XXXXXX)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
# The store's append-only file holds every upload: the folder goes when the run ends.
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

dotnet build "$root/src/Relay" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null

redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --appendonly yes --appendfsync always --save "" >"$work/redis.log" 2>&1 &
pids+=($!)

secret="rss-secret-0123456789"
cat >"$work/relay.yaml" <<YAML
store: { connection: "127.0.0.1:$redis_port", prefix: rss }
ingress: { maxBodyBytes: $(( (kib + 1) * 1024 )) ${ingress:+, $ingress} }
sources:
  upload: { kind: hmac, path: /hooks/upload, secret: $secret, header: X-Signature, idHeader: X-Id, requireJson: false, routes: [] }
YAML

relay_port="$(free_port)"
dotnet "$root/src/Relay/bin/Release/net10.0/Relay.dll" --config "$work/relay.yaml" --urls "http://127.0.0.1:$relay_port" >"$work/relay.log" 2>&1 &
relay=$!
pids+=($relay)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$relay_port/readyz" >/dev/null && break; sleep 0.2; done

python3 -c "import base64, os, sys; n = $kib * 1024; sys.stdout.write(base64.b64encode(os.urandom(n))[:n].decode())" >"$work/body"
signature="$(openssl dgst -sha256 -hmac "$secret" -hex <"$work/body" | awk '{print $NF}')"
rss() { awk "/^$1:/ {print int(\$2/1024)}" "/proc/$relay/status"; }
before="$(rss VmRSS)"

started=$(date +%s)
curls=()
for i in $(seq 1 "$clients"); do
  curl -s -o /dev/null -w '%{http_code}\n' --limit-rate "$rate" -H 'Expect:' -H 'Content-Type: application/octet-stream' \
    -H "X-Signature: $signature" -H "X-Id: upload-$i" --data-binary @"$work/body" "http://127.0.0.1:$relay_port/hooks/upload" >>"$work/codes" &
  curls+=($!)
done
wait "${curls[@]}" || true

echo "clients: $clients x $kib KiB at $rate/s; ingress: {${ingress}}"
echo "relay RSS before: ${before} MiB; peak (VmHWM): $(rss VmHWM) MiB; after: $(rss VmRSS) MiB; took $(( $(date +%s) - started )) s"
echo "answers: $(sort "$work/codes" | uniq -c | awk '{printf "%s x %s  ", $1, $2}')"
