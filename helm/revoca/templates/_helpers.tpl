{{/*
The name of the namespaced objects, and of the Service: "revoca" unless
fullnameOverride is set, not derived from the release name, so that the
responder's in-cluster URL (http://revoca.<namespace>.svc:4664) does not
depend on how the release was called.
*/}}
{{- define "revoca.fullname" -}}
{{- default .Chart.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Names of objects outside the release namespace (ClusterRoles, their
bindings, the Roles in watched namespaces): two releases in different
namespaces must not collide, so they carry the release namespace and name.
*/}}
{{- define "revoca.globalName" -}}
{{- printf "%s:%s:%s" (include "revoca.fullname" .) .Release.Namespace .Release.Name -}}
{{- end -}}

{{- define "revoca.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "revoca.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "revoca.leaseName" -}}
{{- printf "%s-leader" (include "revoca.fullname" .) -}}
{{- end -}}

{{- define "revoca.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
topologySpreadConstraints as given, each without a labelSelector given the
pods' selector labels (values.yaml cannot name the release).
*/}}
{{- define "revoca.topologySpreadConstraints" -}}
{{- $constraints := list -}}
{{- range .Values.topologySpreadConstraints -}}
{{- $constraint := deepCopy . -}}
{{- if not (hasKey $constraint "labelSelector") -}}
{{- $_ := set $constraint "labelSelector" (dict "matchLabels" (include "revoca.selectorLabels" $ | fromYaml)) -}}
{{- end -}}
{{- $constraints = append $constraints $constraint -}}
{{- end -}}
{{- toYaml $constraints -}}
{{- end -}}

{{- define "revoca.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "revoca.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The subject every binding grants to. */}}
{{- define "revoca.subject" -}}
- kind: ServiceAccount
  name: {{ include "revoca.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end -}}

{{/*
What revoca does in the namespaces it watches, and nothing more (checked
against kubernetes/*.cc; nothing deletes):
- its own kinds: informers list and watch them, a few gets; status is
  written by server-side apply (patch on the status subresource);
- Secrets: the state store lists (by label) and watches them, creates and
  updates its state Secrets; the output Secrets are server-side applied
  (patch, and create when new);
- ConfigMaps (the rendered EMQX environment) and Deployments (owned, or a
  user's one patched): get, then server-side apply (patch, create);
- Events: created, never patched.
*/}}
{{- define "revoca.workloadRules" -}}
- apiGroups: [revoca.io]
  resources: [certificateauthorities, vaults, vaultsecrets, certificaterevocations, emqxdeployments]
  verbs: [get, list, watch]
- apiGroups: [revoca.io]
  resources: [certificateauthorities/status, vaults/status, vaultsecrets/status, certificaterevocations/status, emqxdeployments/status]
  verbs: [patch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, update, patch]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, create, patch]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, create, patch]
{{- end -}}
