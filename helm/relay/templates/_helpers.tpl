{{/* Chart name, truncated to the 63 characters DNS labels allow. */}}
{{- define "relay.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: <release>-relay, or the release name alone when it already contains "relay". */}}
{{- define "relay.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of the admin Service (the suffix is kept whole even for a long fullname). */}}
{{- define "relay.adminName" -}}
{{- printf "%s-admin" (include "relay.fullname" . | trunc 57 | trimSuffix "-") }}
{{- end }}

{{- define "relay.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "relay.labels" -}}
helm.sh/chart: {{ include "relay.chart" . }}
{{ include "relay.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "relay.selectorLabels" -}}
app.kubernetes.io/name: {{ include "relay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "relay.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}

{{/* "true" when Relay uses an external Redis (from any of the places the chart knows of), else "". */}}
{{- define "relay.externalStore" -}}
{{- $fromConfig := "" }}
{{- if kindIs "map" .Values.config }}
{{- $fromConfig = dig "store" "connection" "" .Values.config }}
{{- end }}
{{- $fromEnv := false }}
{{- range .Values.extraEnv }}
{{- if eq (toString .name) "Relay__Store__Connection" }}{{ $fromEnv = true }}{{ end }}
{{- end }}
{{- if or .Values.store.connection .Values.store.existingSecret $fromConfig $fromEnv }}true{{ end }}
{{- end }}

{{/* "true" when more than one pod can run at once. */}}
{{- define "relay.multiReplica" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}true{{ end }}
{{- end }}

{{/* Refuses configurations that cannot work. Included by every template that depends on them. */}}
{{- define "relay.validate" -}}
{{- if and (include "relay.multiReplica" .) (not (include "relay.externalStore" .)) }}
{{- fail "relay: replicaCount > 1 or autoscaling.enabled requires an external Redis: the embedded store is single-node. Set store.connection (or store.existingSecret/store.existingSecretKey), or run one replica." }}
{{- end }}
{{- if and .Values.store.connection .Values.store.existingSecret }}
{{- fail "relay: set either store.connection or store.existingSecret, not both." }}
{{- end }}
{{- if and .Values.store.existingSecret (not .Values.store.existingSecretKey) }}
{{- fail "relay: store.existingSecret needs store.existingSecretKey (the key holding the connection string)." }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "relay: autoscaling.minReplicas must not exceed autoscaling.maxReplicas." }}
{{- end }}
{{- end }}

{{/*
relay.yaml as rendered into the ConfigMap: .Values.config, with admin.urls forced to the admin Service's
target port and store.dataDir forced to the data volume.
*/}}
{{- define "relay.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- $admin := get $cfg "admin" | default dict }}
{{- $_ := set $admin "urls" "http://+:9090" }}
{{- $_ := set $cfg "admin" $admin }}
{{- $store := get $cfg "store" | default dict }}
{{- $_ := set $store "dataDir" "/app/data" }}
{{- $_ := set $cfg "store" $store }}
{{- toYaml $cfg }}
{{- end }}

{{/* True when the embedded store keeps its data on a persistent volume (persistence is moot with Redis). */}}
{{- define "relay.persistent" -}}
{{- if and .Values.persistence.enabled (not (include "relay.externalStore" .)) }}true{{ end }}
{{- end }}

{{- define "relay.pvcName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-data" (include "relay.fullname" .)) }}
{{- end }}

{{/*
Label matchers of a metric in the alerts: `extra` (optional) and prometheusRule.selector (through tpl), as
`{a, b}`, or "" when there are none. Call with (dict "ctx" $ "extra" "outcome=\"unavailable\"").
*/}}
{{- define "relay.alertMatchers" -}}
{{- $m := list }}
{{- with .extra }}{{ $m = append $m . }}{{ end }}
{{- with tpl (.ctx.Values.prometheusRule.selector | default "") .ctx }}{{ $m = append $m . }}{{ end }}
{{- if $m }}{{ printf "{%s}" (join ", " $m) }}{{ end }}
{{- end }}

{{/* An alert's labels: its severity, then prometheusRule.alertLabels. Call with (dict "ctx" $ "severity" "..."). */}}
{{- define "relay.alertLabels" -}}
severity: {{ .severity }}
{{- with .ctx.Values.prometheusRule.alertLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}
