{{/* The chart's name, or nameOverride. */}}
{{- define "ciba.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<chart> (or fullnameOverride), at most 63 characters. Service names append "-<service>", so keep releases short. */}}
{{- define "ciba.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The services: values key → name (the image's argument and the Kubernetes name suffix) and port.
*/}}
{{- define "ciba.services" -}}
authorize: {name: authorize, port: 3001}
token: {name: token, port: 3002}
notifier: {name: notifier, port: 3003}
audit: {name: audit, port: 3004}
callbackDispatcher: {name: callback-dispatcher, port: 3005}
{{- end -}}

{{/* Labels of every object; call with (dict "root" $ "component" "<name>"), component optional. */}}
{{- define "ciba.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "ciba.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: ciba-provider
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "ciba.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ciba.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* registry/repository:tag or @digest; the tag defaults to the chart's appVersion. */}}
{{- define "ciba.image" -}}
{{- $image := .Values.image -}}
{{- $repository := ternary (printf "%s/%s" $image.registry $image.repository) $image.repository (ne $image.registry "") -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default .Chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding CIBA_DATABASE_URL and CIBA_KEY_ENCRYPTION_KEY: an existing one, or the chart's. */}}
{{- define "ciba.secretName" -}}
{{- default (printf "%s-secrets" (include "ciba.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The Secret holding the bootstrap file (key bootstrap.json). */}}
{{- define "ciba.bootstrapSecretName" -}}
{{- default (printf "%s-bootstrap" (include "ciba.fullname" .)) .Values.bootstrap.existingSecret -}}
{{- end -}}

{{- define "ciba.serviceAccountName" -}}
{{- if .root.Values.serviceAccount.create -}}
{{- printf "%s-%s" (include "ciba.fullname" .root) .component -}}
{{- else -}}
{{- default "default" .root.Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Environment shared by every container: the ConfigMap, the Secret, and the operator's extra Secrets. */}}
{{- define "ciba.envFrom" -}}
- configMapRef:
    name: {{ include "ciba.fullname" . }}-config
- secretRef:
    name: {{ include "ciba.secretName" . }}
{{- range .Values.extraEnvFromSecrets }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by the Deployments and the setup Job. */}}
{{- define "ciba.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* Public paths by service: one issuer host, each path prefix routed to the service that answers it (/token also carries /token/introspect and /token/revoke; /register also /register/<client_id>, RFC 7592). */}}
{{- define "ciba.routes" -}}
- {service: authorize, port: 3001, prefixes: [/bc-authorize, /.well-known/, /jwks, /register]}
- {service: token, port: 3002, prefixes: [/token, /userinfo]}
- {service: notifier, port: 3003, prefixes: [/ext/ciba/auth/callback, /ext/ciba/devices, /approve/, /enrol/]}
{{- end -}}

{{/* The issuer's host name. */}}
{{- define "ciba.host" -}}
{{- (urlParse (required "issuer is required" .Values.issuer)).hostname -}}
{{- end -}}

{{/* One step of the setup Job: (dict "root" $ "image" … "name" … "args" (list …)). */}}
{{- define "ciba.setupStep" -}}
- name: {{ .name }}
  image: {{ .image | quote }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  args: {{- toYaml .args | nindent 4 }}
  envFrom: {{- include "ciba.envFrom" .root | nindent 4 }}
  resources: {{- toYaml .root.Values.setup.resources | nindent 4 }}
  securityContext: {{- toYaml .root.Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    {{- if .root.Values.bootstrap.enabled }}
    - name: bootstrap
      mountPath: /etc/ciba/bootstrap
      readOnly: true
    {{- end }}
    {{- with .root.Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
