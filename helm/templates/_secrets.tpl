{{/* Name of the Secret the secret env vars read from. */}}
{{- define "gyre.secretName" -}}
{{- default (include "gyre.fullname" .) .Values.existingSecret }}
{{- end }}

{{/*
The secret values: values.secrets key -> length of the random value the chart generates when
it is not given (0 = never generated). Each is stored under its snake_case name (Centrifugo's
chart keys: tokenHmacSecretKey -> token_hmac_secret_key) and passed as CENTRIFUGO_<KEY>.
*/}}
{{- define "gyre.secretSpec" -}}
tokenHmacSecretKey: 0
apiKey: 0
adminPassword: 24
adminSecret: 48
grpcApiKey: 48
redisAddress: 0
redisPassword: 0
redisSentinelPassword: 0
natsUrl: 0
{{- end }}

{{/*
The data of the chart's Secret as YAML (key -> base64). Call with
(dict "root" $ "existing" <data of the Secret already in the cluster, or an empty dict>).
A value given in values.secrets wins; a generated key keeps its value from the existing Secret
so that an upgrade never rotates it; otherwise it gets a new random value.
*/}}
{{- define "gyre.secretData" -}}
{{- $existing := .existing | default dict -}}
{{- $data := dict -}}
{{- range $key, $length := include "gyre.secretSpec" . | fromYaml -}}
{{- $name := snakecase $key -}}
{{- $value := get $.root.Values.secrets $key | default "" | toString -}}
{{- if $value -}}
{{- $_ := set $data $name (b64enc $value) -}}
{{- else if and $length (get $existing $name) -}}
{{- $_ := set $data $name (get $existing $name) -}}
{{- else if $length -}}
{{- $_ := set $data $name (randAlphaNum (int $length) | b64enc) -}}
{{- end -}}
{{- end -}}
{{- toYaml $data -}}
{{- end }}

{{/* The secret env vars: CENTRIFUGO_<KEY> from the Secret, each optional (existingSecret). */}}
{{- define "gyre.secretEnv" -}}
{{- $secretName := include "gyre.secretName" . -}}
{{- range $key, $_ := include "gyre.secretSpec" . | fromYaml }}
- name: CENTRIFUGO_{{ snakecase $key | upper }}
  valueFrom:
    secretKeyRef:
      name: {{ $secretName }}
      key: {{ snakecase $key }}
      optional: true
{{- end }}
{{- end }}
