{{- define "imagebot.name" -}}{{ .Release.Name }}-imagebot{{- end -}}

{{- define "imagebot.labels" -}}
app.kubernetes.io/name: imagebot
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "imagebot.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: [ALL]}
{{- end -}}

{{- /* Secret files mounted under /run/secrets/imagebot, and the variables naming them. */ -}}
{{- define "imagebot.secretEnv" -}}
- name: IMAGEBOT_DATABASE_URL_FILE
  value: /run/secrets/imagebot/database-url
- name: IMAGEBOT_S3_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ .Values.secrets.name }}, key: s3-access-key}}
{{- end -}}
