{{/*
Options the chart sets through CENTRIFUGO_* env vars, with the value to use instead. "config:
false" marks options values.config may still hold (the chart reads or only optionally sets them).
*/}}
{{- define "gyre.managedOptions" -}}
{{- $listeners := "set by the chart from service, internalService, grpcApiService, uniGrpcService and grpcStreamService" }}
{{- range $opt := list "port" "internal_port" "grpc_api" "grpc_api_port" "uni_grpc" "uni_grpc_port" "grpc_stream" "grpc_stream_port" }}
{{ $opt }}: {hint: {{ $listeners | quote }}, config: true}
{{- end }}
health: {hint: "always on: the probes need it", config: true}
prometheus: {hint: "set by the chart from metrics.enabled", config: true}
shutdown_timeout: {hint: "set by the chart from shutdownTimeoutSeconds", config: true}
health_handler_prefix: {hint: "use config.health_handler_prefix (the probes follow it)", config: false}
{{- range $key, $_ := include "gyre.secretSpec" . | fromYaml }}
{{- $opt := snakecase $key }}
{{ $opt }}: {hint: {{ printf "set by the chart from secrets.%s or existingSecret" $key | quote }}, config: {{ not (has $opt (list "redis_address" "nats_url")) }}}
{{- end }}
{{- end }}

{{/* Names of the env vars values.env, values.envSecret and values.extraEnv add, in order. */}}
{{- define "gyre.userEnvNames" -}}
{{- $names := keys .Values.env | sortAlpha -}}
{{- range concat .Values.envSecret .Values.extraEnv -}}
{{- $names = append $names .name -}}
{{- end -}}
{{- toJson $names -}}
{{- end }}

{{/* Fails rendering on inconsistent values (the schema checks types and names). */}}
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
{{- if and .Values.ingressInternal.enabled (not .Values.internalService.enabled) -}}
{{- fail "ingressInternal.enabled needs internalService.enabled: without the internal listener there is no internal port or Service to route to" -}}
{{- end -}}
{{- if .Values.existingSecret -}}
{{- range $key, $value := .Values.secrets -}}
{{- if $value -}}
{{- fail (printf "secrets.%s is set, but existingSecret=%s is used instead of the chart's Secret: put it into that Secret as %s" $key $.Values.existingSecret (snakecase $key)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $managed := include "gyre.managedOptions" . | fromYaml -}}
{{- range $opt, $m := $managed -}}
{{- if and $m.config (hasKey $.Values.config $opt) -}}
{{- fail (printf "config.%s is managed by the chart: %s" $opt $m.hint) -}}
{{- end -}}
{{- end -}}
{{- range $pair := list (list "redis_address" "redisAddress") (list "nats_url" "natsUrl") -}}
{{- if and (hasKey $.Values.config (first $pair)) (get $.Values.secrets (last $pair)) -}}
{{- fail (printf "set either config.%s or secrets.%s, not both" (first $pair) (last $pair)) -}}
{{- end -}}
{{- end -}}
{{- $seen := list -}}
{{- range $name := include "gyre.userEnvNames" . | fromJsonArray -}}
{{- if has $name $seen -}}
{{- fail (printf "env var %s is given twice (env, envSecret and extraEnv together)" $name) -}}
{{- end -}}
{{- $seen = append $seen $name -}}
{{- range $opt, $m := $managed -}}
{{- if eq $name (printf "CENTRIFUGO_%s" (upper $opt)) -}}
{{- fail (printf "env var %s is managed by the chart: %s" $name $m.hint) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end }}
