{{/* The prefix of every object's name. */}}
{{- define "tollgate.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/*
A gateway instance's object name (Deployment, Service, HPA, PDB): `<fullname>-<instance>`. A
Service name is a DNS label of at most 63 characters: the fullname has at most 40 and
values.schema.json caps instance names at 22. Names are never truncated here, since two
instances cut to one name would share objects; a name too long (schema skipped) fails the
render. Called with (dict "root" $ "name" <instance name>).
*/}}
{{- define "tollgate.instanceFullname" -}}
{{- $name := printf "%s-%s" (include "tollgate.fullname" .root) .name -}}
{{- if gt (len $name) 63 -}}
{{- fail (printf "instance %q: object name %q is longer than 63 characters; shorten the instance or release name" .name $name) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{- define "tollgate.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Labels on every object (never in selectors: they change with upgrades). */}}
{{- define "tollgate.commonLabels" -}}
app.kubernetes.io/part-of: tollgate
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
A gateway instance's selector. `app.kubernetes.io/instance` names the instance, so no Service,
HPA or PDB of one instance ever selects another's pods; the release label keeps two releases
in one namespace apart. Called with (dict "root" $ "inst" $instance).
*/}}
{{- define "tollgate.gatewaySelector" -}}
app.kubernetes.io/name: tollgate-gateway
app.kubernetes.io/instance: {{ .inst.name }}
tollgate.dev/release: {{ .root.Release.Name }}
{{- end -}}

{{- define "tollgate.portalSelector" -}}
app.kubernetes.io/name: tollgate-portal
app.kubernetes.io/instance: {{ .Release.Name }}-portal
tollgate.dev/release: {{ .Release.Name }}
{{- end -}}

{{/* One secret reference as an env entry, when its name is set. */}}
{{- define "tollgate.secretEnv" -}}
{{- if .ref.name }}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.name }}
      key: {{ .ref.key }}
{{- end }}
{{- end -}}

{{/* Environment every Tollgate process gets. */}}
{{- define "tollgate.baseEnv" -}}
- name: TOLLGATE_LISTEN
  value: "0.0.0.0:4000"
- name: TOLLGATE_DATA_DIR
  value: /data
- name: TOLLGATE_LOG__FORMAT
  value: {{ .Values.logFormat | quote }}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- include "tollgate.secretEnv" (dict "env" "TOLLGATE_DATABASE_URL" "ref" .Values.secrets.databaseUrl) }}
{{- include "tollgate.secretEnv" (dict "env" "TOLLGATE_REDIS_URL" "ref" .Values.secrets.redisUrl) }}
{{- include "tollgate.secretEnv" (dict "env" "TOLLGATE_SECRET_KEY" "ref" .Values.secrets.secretKey) }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "tollgate.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "tollgate.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* The root filesystem is read-only: the data dir (spool) and /tmp are emptyDirs. */}}
{{- define "tollgate.volumes" -}}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "tollgate.volumeMounts" -}}
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "tollgate.probes" -}}
readinessProbe:
  httpGet: {path: /health/readiness, port: http}
  periodSeconds: 5
  failureThreshold: 2
livenessProbe:
  httpGet: {path: /health/liveliness, port: http}
  periodSeconds: 10
  failureThreshold: 3
{{- end -}}
