{{- define "vectadb.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "vectadb.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: api
{{- end -}}

{{- define "vectadb.labels" -}}
{{ include "vectadb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "vectadb.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The API's configuration: every name is a `vectadb serve` setting. */}}
{{- define "vectadb.env" -}}
- name: SERVER_HOST
  value: "0.0.0.0"
- name: SERVER_PORT
  value: "8080"
- name: SURREAL_URL
  value: {{ .Values.surrealdb.url | quote }}
- name: SURREAL_NAMESPACE
  value: {{ .Values.surrealdb.namespace | quote }}
- name: SURREAL_DATABASE
  value: {{ .Values.surrealdb.database | quote }}
- name: SURREAL_USER
  valueFrom:
    secretKeyRef:
      name: {{ .Values.surrealdb.existingSecret }}
      key: {{ .Values.surrealdb.usernameKey }}
- name: SURREAL_PASS
  valueFrom:
    secretKeyRef:
      name: {{ .Values.surrealdb.existingSecret }}
      key: {{ .Values.surrealdb.passwordKey }}
- name: QDRANT_URL
  value: {{ .Values.qdrant.url | quote }}
{{- if .Values.qdrant.existingSecret }}
- name: QDRANT_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.qdrant.existingSecret }}
      key: {{ .Values.qdrant.apiKeyKey }}
{{- end }}
- name: QDRANT_AGENT_COLLECTION
  value: {{ .Values.collections.agents | quote }}
- name: QDRANT_TASK_COLLECTION
  value: {{ .Values.collections.tasks | quote }}
- name: QDRANT_LOG_COLLECTION
  value: {{ .Values.collections.logs | quote }}
- name: QDRANT_THOUGHT_COLLECTION
  value: {{ .Values.collections.thoughts | quote }}
- name: EMBEDDING_MODEL
  value: {{ .Values.embedding.model | quote }}
- name: EMBEDDING_DIM
  value: {{ .Values.embedding.dim | quote }}
- name: EMBEDDING_BATCH_SIZE
  value: {{ .Values.embedding.batchSize | quote }}
- name: SIMILARITY_THRESHOLD
  value: {{ .Values.search.similarityThreshold | quote }}
- name: SIMILARITY_LIMIT
  value: {{ .Values.search.similarityLimit | quote }}
- name: BACKEND_TIMEOUT_MS
  value: {{ .Values.backendTimeoutMs | quote }}
- name: MAX_BODY_BYTES
  value: {{ .Values.maxBodyBytes | quote }}
- name: MAX_LOG_BATCH
  value: {{ .Values.maxLogBatch | quote }}
- name: MODELS_DIR
  value: /models
- name: RUST_LOG
  value: {{ .Values.logLevel | quote }}
{{- with .Values.retention }}
{{- if .logs }}
- name: RETENTION_LOGS
  value: {{ .logs | quote }}
{{- end }}
{{- if .thoughts }}
- name: RETENTION_THOUGHTS
  value: {{ .thoughts | quote }}
{{- end }}
{{- if .tasks }}
- name: RETENTION_TASKS
  value: {{ .tasks | quote }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The Secret with the admin password and the session-signing key. */}}
{{- define "vectadb.authSecretName" -}}
{{- .Values.auth.existingSecret | default (printf "%s-auth" (include "vectadb.fullname" .)) -}}
{{- end -}}

{{/* The API server's credentials: its admin user (without one it would
listen on loopback only) and the key every pod signs sessions with. Not in
the provision Job: it runs before the generated Secret exists. */}}
{{- define "vectadb.authEnv" -}}
{{- $secret := include "vectadb.authSecretName" . -}}
{{- $existing := .Values.auth.existingSecret -}}
- name: ADMIN_USERNAME
  value: {{ .Values.auth.adminUsername | quote }}
- name: ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ ternary .Values.auth.adminPasswordKey "admin-password" (not (empty $existing)) }}
- name: JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ ternary .Values.auth.jwtSecretKey "jwt-secret" (not (empty $existing)) }}
{{- if .Values.auth.trustForwardedFor }}
- name: TRUST_FORWARDED_FOR
  value: "true"
{{- end }}
{{- end -}}

{{- define "vectadb.podSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "vectadb.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "vectadb.volumes" -}}
- name: tmp
  emptyDir: {}
{{- with .Values.models.volume }}
- name: models
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "vectadb.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.models.volume }}
- name: models
  mountPath: /models
  readOnly: true
{{- end }}
{{- end -}}
