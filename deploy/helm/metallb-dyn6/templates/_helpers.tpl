{{- define "metallb-dyn6.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "metallb-dyn6.fullname" -}}
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

{{- define "metallb-dyn6.selectorLabels" -}}
app.kubernetes.io/name: {{ include "metallb-dyn6.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "metallb-dyn6.labels" -}}
{{ include "metallb-dyn6.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.labels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "metallb-dyn6.serviceAccountName" -}}
{{- default (include "metallb-dyn6.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{- /* The original chart's log levels, in this tool's words. */}}
{{- define "metallb-dyn6.logLevel" -}}
{{- $level := .Values.loglevel | lower }}
{{- if eq $level "warning" }}warn{{ else if eq $level "trace" }}debug{{ else }}{{ $level }}{{ end }}
{{- end }}

{{- /* The pod: the same in both modes, only the command differs. */}}
{{- define "metallb-dyn6.podSpec" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
serviceAccountName: {{ include "metallb-dyn6.serviceAccountName" . }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
containers:
  - name: {{ .Chart.Name }}
    securityContext:
      {{- toYaml .Values.securityContext | nindent 6 }}
    image: {{ include "metallb-dyn6.image" . | quote }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args: [{{ if eq (include "metallb-dyn6.mode" .) "cronjob" }}sync{{ else }}run{{ end }}]
    {{- if eq (include "metallb-dyn6.mode" .) "run" }}
    # metallb-dyn6 run serves its health endpoints and /metrics on 8080 (--port, default).
    ports:
      - name: http
        containerPort: 8080
        protocol: TCP
    # Liveness: the process answers at all. Three misses in a row (a minute) restart it: a run may take
    # minutes (its deadline covers MetalLB's reload and a rollback), and must not be cut short by a
    # probe that happened to time out once.
    livenessProbe:
      httpGet:
        path: /health/liveness
        port: http
      periodSeconds: 20
      timeoutSeconds: 5
      failureThreshold: 3
    readinessProbe:
      httpGet:
        path: /health/readiness
        port: http
      periodSeconds: 10
      timeoutSeconds: 5
      failureThreshold: 3
    {{- end }}
    resources:
      {{- toYaml .Values.resources | nindent 6 }}
    env:
      - name: METALLB_DYN6_LOG_LEVEL
        value: {{ include "metallb-dyn6.logLevel" . | quote }}
      {{- if eq (include "metallb-dyn6.nptv6" .) "off" }}
      - name: METALLB_DYN6_HOST_RANGE
        value: {{ required "metallb.hostRange is required, e.g. ::1000-::1999" .Values.metallb.hostRange | quote }}
      - name: METALLB_DYN6_METALLB_POOL
        value: {{ required "metallb.pool is required: the IPAddressPool (or CiliumLoadBalancerIPPool) to manage" .Values.metallb.pool | quote }}
      {{- else }}
      - name: METALLB_DYN6_NPTV6
        value: {{ include "metallb-dyn6.nptv6" . | quote }}
      - name: METALLB_DYN6_NPTV6_INSIDE
        value: {{ required "nptv6.inside is required with nptv6.translation, e.g. fd00:1234:5678::/48" .Values.nptv6.inside | quote }}
      - name: METALLB_DYN6_NPTV6_PUBLISH
        value: {{ .Values.nptv6.publish | quote }}
      - name: METALLB_DYN6_NPTV6_RECORDS
        value: {{ .Values.nptv6.records | quote }}
      - name: METALLB_DYN6_DELEGATED_PREFIX_LENGTH
        value: {{ .Values.nptv6.delegatedLength | quote }}
      {{- end }}
      - name: METALLB_DYN6_SOURCE
        value: {{ .Values.dyn6.source | quote }}
      {{- if .Values.dyn6.subnetOverride.enabled }}
      - name: METALLB_DYN6_SUBNET_OVERRIDE
        value: {{ .Values.dyn6.subnetOverride.override | quote }}
      - name: METALLB_DYN6_PREFIX_LENGTH
        value: {{ .Values.dyn6.subnetOverride.prefixLength | quote }}
      {{- end }}
      - name: METALLB_DYN6_UPDATE_INTERVAL
        value: {{ .Values.dyn6.updateInterval | quote }}
      - name: METALLB_DYN6_METALLB_NAMESPACE
        value: {{ .Release.Namespace | quote }}
      - name: METALLB_DYN6_METALLB_LABEL_SELECTOR
        value: {{ .Values.metallb.podsLabelSelector | quote }}
      - name: METALLB_DYN6_KEEP_HOST_PARTS
        value: {{ include "metallb-dyn6.keepHostParts" . | quote }}
      - name: METALLB_DYN6_BACKEND
        value: {{ .Values.backend | quote }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- /*
The image reference. A digest names the image alone: registry/repository@digest (a tag beside it
would be ignored by the runtime and could only mislead). The registry is left out when it is empty
or when the repository already starts with a registry host (a dot or a port in its first part, or
localhost), as the original chart's image.repository held the full path.
*/}}
{{- define "metallb-dyn6.image" -}}
{{- $repository := .Values.image.repository }}
{{- $first := first (splitList "/" $repository) }}
{{- $hasHost := and (contains "/" $repository) (or (contains "." $first) (contains ":" $first) (eq $first "localhost")) }}
{{- $name := $repository }}
{{- if and .Values.image.registry (not $hasHost) }}
{{- $name = printf "%s/%s" .Values.image.registry $repository }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $name .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $name (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{- /* mode, checked here too for --skip-schema-validation: a typo must not pick a workload. */}}
{{- define "metallb-dyn6.mode" -}}
{{- if has .Values.mode (list "run" "cronjob") -}}
{{ .Values.mode }}
{{- else -}}
{{ fail (printf "mode must be run or cronjob, not %q" (toString .Values.mode)) }}
{{- end -}}
{{- end }}

{{/* keepHostParts, checked: a typo must not silently turn the feature off. */}}
{{- define "metallb-dyn6.keepHostParts" -}}
{{- if has .Values.keepHostParts (list "none" "annotated" "all") -}}
{{ .Values.keepHostParts }}
{{- else -}}
{{ fail (printf "keepHostParts must be none, annotated or all, not %q" (toString .Values.keepHostParts)) }}
{{- end -}}
{{- end }}

{{/* nptv6.translation, checked: off, netmap or rfc6296 (an unquoted off reads as false in YAML). */}}
{{- define "metallb-dyn6.nptv6" -}}
{{- $t := toString .Values.nptv6.translation | replace "false" "off" -}}
{{- if has $t (list "off" "netmap" "rfc6296") -}}
{{ $t }}
{{- else -}}
{{ fail (printf "nptv6.translation must be off, netmap or rfc6296, not %q" $t) }}
{{- end -}}
{{- end }}
