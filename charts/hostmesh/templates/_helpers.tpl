{{- define "hostmesh.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "hostmesh.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: hostmesh
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "hostmesh.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "hostmesh.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "hostmesh.tokenSecret" -}}
{{- .Values.token.existingSecret | default (printf "%s-token" (include "hostmesh.fullname" .)) -}}
{{- end -}}

{{- define "hostmesh.zones" -}}
{{- join "," (prepend .Values.extraZones .Values.meshDomain) -}}
{{- end -}}

{{- /* Pod metadata: selector labels, then the component's podLabels; its podAnnotations. */ -}}
{{- define "hostmesh.podMeta" -}}
labels:
  {{- .sel | nindent 2 }}
  {{- with .values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- if or .values.podAnnotations .annotations }}
annotations:
  {{- with .annotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- with .values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- end -}}

{{- /* Scheduling of a pod: priority class, node selector, tolerations, affinity (when given). */ -}}
{{- define "hostmesh.scheduling" -}}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- /*
Checks JSON Schema cannot express: the port range ordered, the proxies' own ports outside it,
and a grace period that covers the shutdown delay and the drain.
*/ -}}
{{- define "hostmesh.validate" -}}
{{- $r := splitList "-" .Values.portRange }}
{{- $lo := index $r 0 | int }}
{{- $hi := index $r 1 | int }}
{{- if or (gt $lo $hi) (lt $lo 1) (gt $hi 65535) }}
{{- fail (printf "portRange: %q must be LOW-HIGH with 1 <= LOW <= HIGH <= 65535" .Values.portRange) }}
{{- end }}
{{- range $key := list "adminPort" "dnsPort" }}
{{- $p := index $.Values.proxy $key | int }}
{{- if and (ge $p $lo) (le $p $hi) }}
{{- fail (printf "proxy.%s: %d is inside portRange %s; the proxy could not open a mesh port there" $key $p $.Values.portRange) }}
{{- end }}
{{- end }}
{{- if eq (.Values.proxy.adminPort | int) (.Values.proxy.dnsPort | int) }}
{{- fail (printf "proxy.adminPort and proxy.dnsPort are both %d" (.Values.proxy.adminPort | int)) }}
{{- end }}
{{- if and (le (int .Values.controller.replicas) 1) (ne .Values.controller.strategy.type "Recreate") }}
{{- fail (printf "controller.strategy.type: %s with controller.replicas %d would run two controllers without leader election during a rollout; use Recreate (or 2 or more replicas)" .Values.controller.strategy.type (int .Values.controller.replicas)) }}
{{- end }}
{{- $need := add .Values.proxy.shutdownDelaySeconds .Values.proxy.drainSeconds 2 }}
{{- if lt (.Values.proxy.terminationGracePeriodSeconds | int) ($need | int) }}
{{- fail (printf "proxy.terminationGracePeriodSeconds: %d is shorter than shutdownDelaySeconds + drainSeconds + 2 = %d; the kubelet would kill proxies mid-drain" (.Values.proxy.terminationGracePeriodSeconds | int) ($need | int)) }}
{{- end }}
{{- end -}}

{{- /* What the controller reads where Services are meshed, and the Events it writes there. */ -}}
{{- define "hostmesh.watchRules" -}}
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
# Pods: who runs at which address (consumer routes, ACL mode).
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
# Gateway API routes on Services (GAMMA): read them, write only their status.
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes, grpcroutes, referencegrants]
  verbs: [get, list, watch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes/status, grpcroutes/status]
  verbs: [update, patch]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
# SMI (read only; absent CRDs are tolerated).
- apiGroups: [split.smi-spec.io]
  resources: [trafficsplits]
  verbs: [get, list, watch]
- apiGroups: [specs.smi-spec.io]
  resources: [httproutegroups, tcproutes, udproutes]
  verbs: [get, list, watch]
- apiGroups: [access.smi-spec.io]
  resources: [traffictargets]
  verbs: [get, list, watch]
{{- end -}}
