{{/* Port name serving /health and /metrics: the internal listener when enabled. */}}
{{- define "gyre.healthPortName" -}}
{{- if .Values.internalService.enabled }}internal{{ else }}http{{ end }}
{{- end }}

{{/*
"true" when the listener of the HTTP probes speaks TLS: config.tls puts TLS on every HTTP
listener, except the internal one with config.tls_external. Kubernetes gRPC probes cannot speak
TLS, and the gRPC listeners use the general certificate when config.tls is on. HTTP probes of
a TLS listener use scheme HTTPS (kubelet does not verify the certificate).
*/}}
{{- define "gyre.probeTLS" -}}
{{- if and .Values.config.tls (not (and .Values.internalService.enabled .Values.config.tls_external)) -}}
true
{{- end -}}
{{- end }}

{{/* config.health_handler_prefix as the server reads it (default /health), without trailing "/". */}}
{{- define "gyre.healthPrefix" -}}
{{- $prefix := "/health" -}}
{{- if hasKey .Values.config "health_handler_prefix" -}}
{{- $prefix = toString (.Values.config.health_handler_prefix | default "") -}}
{{- end -}}
{{- regexReplaceAll "/+$" $prefix "" -}}
{{- end }}

{{/* Readiness path: the health handler, 503 while the engine (Redis) is unreachable. */}}
{{- define "gyre.readyPath" -}}
{{- include "gyre.healthPrefix" . | default "/" -}}
{{- end }}

{{/* Liveness path: <prefix>/live, 200 while the process serves HTTP, whatever the engine. */}}
{{- define "gyre.livePath" -}}
{{- printf "%s/live" (include "gyre.healthPrefix" .) -}}
{{- end }}

{{/* Container port of the gRPC listener a gRPC readiness probe targets ("" when none is enabled). */}}
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

{{/* Timing fields of one probe's values. */}}
{{- define "gyre.probeTiming" -}}
initialDelaySeconds: {{ .initialDelaySeconds | default 0 }}
periodSeconds: {{ .periodSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
failureThreshold: {{ .failureThreshold }}
{{- with .successThreshold }}
successThreshold: {{ . }}
{{- end }}
{{- end }}

{{/*
Startup or liveness probe: GET the liveness path, never anything that depends on Redis.
Call with (dict "root" $ "probe" .Values.probes.liveness).
*/}}
{{- define "gyre.liveProbe" -}}
httpGet:
  path: {{ include "gyre.livePath" .root }}
  port: {{ include "gyre.healthPortName" .root }}
  {{- if include "gyre.probeTLS" .root }}
  scheme: HTTPS
  {{- end }}
{{ include "gyre.probeTiming" .probe }}
{{- end }}

{{/*
Readiness probe: the health path over HTTP, or grpc.health.v1.Health (type grpc, or auto with a
gRPC listener enabled); both report NOT ready while the engine is unreachable.
*/}}
{{- define "gyre.readyProbe" -}}
{{- $p := .Values.probes.readiness -}}
{{- $grpcPort := include "gyre.grpcProbePort" . -}}
{{- $type := $p.type | default "http" -}}
{{- if eq $type "auto" -}}
{{- $type = ternary "grpc" "http" (and (ne $grpcPort "") (not (include "gyre.probeTLS" .))) -}}
{{- end -}}
{{- if eq $type "grpc" }}
{{- if eq $grpcPort "" -}}
{{- fail "probes.readiness.type=grpc needs an enabled gRPC listener (grpcApiService, uniGrpcService or grpcStreamService)" -}}
{{- end }}
grpc:
  port: {{ $grpcPort }}
  {{- with .Values.probes.grpcService }}
  service: {{ . | quote }}
  {{- end }}
{{- else }}
httpGet:
  path: {{ include "gyre.readyPath" . }}
  port: {{ include "gyre.healthPortName" . }}
  {{- if include "gyre.probeTLS" . }}
  scheme: HTTPS
  {{- end }}
{{- end }}
{{ include "gyre.probeTiming" $p }}
{{- end }}
