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
    image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args: [{{ if eq .Values.mode "cronjob" }}sync{{ else }}run{{ end }}]
    resources:
      {{- toYaml .Values.resources | nindent 6 }}
    env:
      - name: METALLB_DYN6_LOG_LEVEL
        value: {{ include "metallb-dyn6.logLevel" . | quote }}
      - name: METALLB_DYN6_HOST_RANGE
        value: {{ required "metallb.hostRange is required, e.g. ::1000-::1999" .Values.metallb.hostRange | quote }}
      - name: METALLB_DYN6_METALLB_POOL
        value: {{ required "metallb.pool is required: the IPAddressPool to manage" .Values.metallb.pool | quote }}
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

{{/* keepHostParts, checked: a typo must not silently turn the feature off. */}}
{{- define "metallb-dyn6.keepHostParts" -}}
{{- if has .Values.keepHostParts (list "none" "annotated" "all") -}}
{{ .Values.keepHostParts }}
{{- else -}}
{{ fail (printf "keepHostParts must be none, annotated or all, not %q" (toString .Values.keepHostParts)) }}
{{- end -}}
{{- end }}
