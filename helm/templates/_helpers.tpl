{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "gyre.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release-chart unless the release name already holds the chart name. */}}
{{- define "gyre.fullname" -}}
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

{{- define "gyre.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gyre.labels" -}}
helm.sh/chart: {{ include "gyre.chart" . }}
{{ include "gyre.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "gyre.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gyre.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gyre.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gyre.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of the Secret the secret env vars read from. */}}
{{- define "gyre.secretName" -}}
{{- default (include "gyre.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "gyre.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion (toString .Values.image.tag)) }}
{{- end }}

{{/*
Listeners: the one place that maps values to option names, port names, Service suffixes and
components. Returns YAML: a list of {key, name, suffix, component, enabled, grpc, values}.
*/}}
{{- define "gyre.listeners" -}}
- key: client
  name: http
  suffix: ""
  component: client
  enabled: true
  grpc: false
  values: {{ toJson .Values.service }}
- key: internal
  name: internal
  suffix: "-internal"
  component: internal
  enabled: {{ .Values.internalService.enabled }}
  grpc: false
  values: {{ toJson .Values.internalService }}
- key: grpcApi
  name: grpc-api
  suffix: "-grpc-api"
  component: grpc-api
  enabled: {{ .Values.grpcApiService.enabled }}
  grpc: true
  values: {{ toJson .Values.grpcApiService }}
- key: uniGrpc
  name: grpc-uni
  suffix: "-grpc-uni"
  component: grpc-uni
  enabled: {{ .Values.uniGrpcService.enabled }}
  grpc: true
  values: {{ toJson .Values.uniGrpcService }}
- key: grpcStream
  name: grpc-stream
  suffix: "-grpc-stream"
  component: grpc-stream
  enabled: {{ .Values.grpcStreamService.enabled }}
  grpc: true
  values: {{ toJson .Values.grpcStreamService }}
{{- end }}

{{/* Port name serving /health and /metrics: the internal listener when enabled. */}}
{{- define "gyre.healthPortName" -}}
{{- if .Values.internalService.enabled }}internal{{ else }}http{{ end }}
{{- end }}

{{/* Container port of the gRPC listener that gRPC probes target ("" when none is enabled). */}}
{{- define "gyre.grpcProbePort" -}}
{{- $want := .Values.probes.grpcListener -}}
{{- $found := "" -}}
{{- range $l := (include "gyre.listeners" . | fromYamlArray) -}}
{{- if and $l.grpc $l.enabled (not $found) (or (eq $want "") (eq $want $l.key)) -}}
{{- $found = toString (int $l.values.containerPort) -}}
{{- end -}}
{{- end -}}
{{- if and $want (not $found) -}}
{{- fail (printf "probes.grpcListener=%s names a gRPC listener that is not enabled" $want) -}}
{{- end -}}
{{- $found -}}
{{- end }}

{{/*
One probe. Call with (dict "root" $ "probe" .Values.probes.liveness "allowGrpc" true).
*/}}
{{- define "gyre.probe" -}}
{{- $root := .root -}}
{{- $p := .probe -}}
{{- $grpcPort := include "gyre.grpcProbePort" $root -}}
{{- $type := $p.type | default "http" -}}
{{- if not (has $type (list "http" "grpc" "auto")) -}}
{{- fail (printf "probe type must be http, grpc or auto, not %s" $type) -}}
{{- end -}}
{{- if eq $type "auto" -}}
{{- $type = ternary "grpc" "http" (ne $grpcPort "") -}}
{{- end -}}
{{- if eq $type "grpc" }}
{{- if eq $grpcPort "" -}}
{{- fail "a grpc probe needs an enabled gRPC listener (grpcApiService, uniGrpcService or grpcStreamService)" -}}
{{- end }}
grpc:
  port: {{ $grpcPort }}
  {{- with $root.Values.probes.grpcService }}
  service: {{ . | quote }}
  {{- end }}
{{- else }}
httpGet:
  path: /health
  port: {{ include "gyre.healthPortName" $root }}
{{- end }}
initialDelaySeconds: {{ $p.initialDelaySeconds | default 0 }}
periodSeconds: {{ $p.periodSeconds }}
timeoutSeconds: {{ $p.timeoutSeconds }}
failureThreshold: {{ $p.failureThreshold }}
{{- with $p.successThreshold }}
successThreshold: {{ . }}
{{- end }}
{{- end }}

{{/* Fails rendering on inconsistent values. */}}
{{- define "gyre.validate" -}}
{{- $engine := .Values.config.engine | default "memory" -}}
{{- if and (eq $engine "memory") (not .Values.allowMemoryEngineReplicas) -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled -}}
{{- fail "the memory engine keeps state in one process: use config.engine=redis for several replicas or autoscaling (or set allowMemoryEngineReplicas=true)" -}}
{{- end -}}
{{- end -}}
{{- if not (kindIs "invalid" .Values.terminationGracePeriodSeconds) -}}
{{- if le (int .Values.terminationGracePeriodSeconds) (add (int .Values.preStopDelaySeconds) (int .Values.shutdownTimeoutSeconds) | int) -}}
{{- fail "terminationGracePeriodSeconds must exceed preStopDelaySeconds + shutdownTimeoutSeconds" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.podDisruptionBudget.enabled (not (kindIs "invalid" .Values.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" .Values.podDisruptionBudget.maxUnavailable)) -}}
{{- fail "podDisruptionBudget: set only one of minAvailable and maxUnavailable" -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.enabled) -}}
{{- fail "metrics.serviceMonitor.enabled needs metrics.enabled" -}}
{{- end -}}
{{- range $k := list "port" "internal_port" "grpc_api_port" "uni_grpc_port" "grpc_stream_port" "token_hmac_secret_key" "api_key" "admin_password" "admin_secret" "grpc_api_key" "redis_password" -}}
{{- if hasKey $.Values.config $k -}}
{{- fail (printf "config.%s is managed by the chart: use the listener Service values or secrets/existingSecret instead" $k) -}}
{{- end -}}
{{- end -}}
{{- end }}
