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

{{/* [registry/]repository:tag; global.imageRegistry wins over image.registry. */}}
{{- define "gyre.image" -}}
{{- $registry := .Values.image.registry -}}
{{- with .Values.global -}}{{- with .imageRegistry -}}{{- $registry = . -}}{{- end -}}{{- end -}}
{{- $tag := default .Chart.AppVersion (toString .Values.image.tag) -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $registry) .Values.image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end }}

{{/*
imagePullSecrets of the pod: global.imagePullSecrets then imagePullSecrets, each entry a
Secret name or {name: ...}, without duplicates. Renders a YAML list ("" when empty).
*/}}
{{- define "gyre.imagePullSecrets" -}}
{{- $names := list -}}
{{- $global := list -}}
{{- with .Values.global -}}{{- $global = .imagePullSecrets | default list -}}{{- end -}}
{{- range $s := concat $global .Values.imagePullSecrets -}}
{{- $name := $s -}}
{{- if kindIs "map" $s -}}{{- $name = $s.name -}}{{- end -}}
{{- if not (has $name $names) -}}{{- $names = append $names $name -}}{{- end -}}
{{- end -}}
{{- range $names }}
- name: {{ . }}
{{- end -}}
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


{{/*
One Ingress. Call with (dict "root" $ "ingress" <ingress values> "suffix" <Service and Ingress
name suffix> "port" <Service port name>): ingress -> the client Service, ingressInternal -> the
internal one.
*/}}
{{- define "gyre.ingress" -}}
{{- $root := .root -}}
{{- $name := printf "%s%s" (include "gyre.fullname" $root) .suffix | trunc 63 | trimSuffix "-" -}}
{{- $port := .port -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "gyre.labels" $root | nindent 4 }}
    {{- with .ingress.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with .ingress.ingressClassName }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with .ingress.tls }}
  tls:
    {{- range . }}
    - secretName: {{ .secretName }}
      hosts:
        {{- range .hosts }}
        - {{ . | quote }}
        {{- end }}
    {{- end }}
  {{- end }}
  rules:
    {{- range .ingress.hosts }}
    - {{- with .host }}
      host: {{ . | quote }}
      {{- end }}
      http:
        paths:
          {{- range .paths }}
          - path: {{ .path }}
            pathType: {{ .pathType | default "Prefix" }}
            backend:
              service:
                name: {{ $name }}
                port:
                  name: {{ $port }}
          {{- end }}
    {{- end }}
{{- end }}
