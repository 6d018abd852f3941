/**
 * Every error code hostmesh raises (`HostmeshError.code`) or answers on its HTTP APIs, each
 * documented once, here. The code is the contract: tests, status output, metrics and users'
 * scripts match on it; messages are for people and may improve. A code not listed here does not
 * type-check: a new error adds its code and one sentence below. (Translation diagnostics have their own codes: DiagnosticCode in
 * src/controller/translation/diagnostics.ts; expression errors theirs: EXPR_CODES in src/expr.)
 */
export const ERROR_CODES = {
  // --- routing tables and the proxy engine ---
  TABLE_INVALID: 'A routing table failed validation; `details.problems` lists each problem with its JSON path. The proxy keeps serving its previous table.',
  DELTA_GAP: 'A table delta does not follow the table the proxy holds (none yet, or another version); the proxy asks for a full table.',
  PROXY_BUILD_FAILED: 'A valid routing table could not be built into routes (an internal error); the previous table keeps serving.',
  PROXY_CLOSED: 'The proxy engine was used after close().',
  PROXY_START: 'The proxy command could not start one of its parts (the message names the step).',
  LISTENER_OPEN_FAILED: 'A listener port of a table could not be opened (`details.port`); the table is refused and the previous one keeps serving.',
  'listen-failed': 'A server (admin, DNS, metrics) cannot listen on its address (`details.errno`, e.g. EADDRINUSE).',
  ACCESS_LOG_SINK_WITH_WORKERS: 'An access log sink object was given together with worker threads, which cannot share it.',
  WORKERS_INVALID: '`--workers` is neither a whole number >= 1 nor `auto`.',
  WORKER_START_FAILED: 'A proxy worker thread did not start.',
  WORKER_EXITED: 'A proxy worker thread exited; the pool replaces it.',
  WORKER_TIMEOUT: 'A proxy worker thread did not answer a call in time; the pool replaces it.',
  WORKER_CALL_FAILED: 'A proxy worker thread answered a call with an error.',
  WORKER_TEST_CRASH: 'A proxy worker thread crashed on request (a test hook).',
  RATE_LIMIT_ZONE_ALLOCATION: 'The shared memory of a rate-limit zone could not be allocated.',
  RATE_LIMIT_ZONE_INVALID: 'A shared rate-limit zone handed to a worker has an unknown layout.',
  RATE_LIMIT_ZONE_MISSING: 'A worker got a table with a rate limit but no shared zone for it.',
  RATE_LIMIT_ZONE_OWNER: 'A shared rate-limit zone was opened with an invalid owner id.',
  TRACING_INVALID: 'A tracing option is invalid: the OTLP collector is not an http(s) URL, or sampling is not a ratio from 0 to 1.',

  // --- the proxy's config client (watching the controller) ---
  CONFIG_CLIENT_STATE: 'The config client was started twice.',
  CONTROLLER_STATUS: 'The controller answered the watch with an unexpected HTTP status.',
  CONTROLLER_UNAUTHORIZED: 'The controller refused the proxy\'s token (401).',
  WATCH_BAD_LINE: 'The controller sent a watch line that is not JSON.',
  WATCH_ENDED: 'The controller ended the watch stream; the client reconnects.',
  WATCH_IDLE: 'Nothing came from the controller (not even a heartbeat) for too long; the client reconnects.',
  WATCH_LINE_TOO_LONG: 'The controller sent a watch line over the size limit.',
  STATE_DIR_UNUSABLE: 'The proxy\'s state directory (last good table) cannot be created or written.',
  TOKEN_EMPTY: 'A token file is empty.',
  TOKEN_UNREADABLE: 'A token file cannot be read.',

  // --- the controller and its API ---
  CONTROLLER_BAD_OPTION: 'The controller was given an invalid option (mesh namespace, proxy selector, DNS Service); `details` names it.',
  CONTROLLER_LISTEN: 'The controller API cannot listen on its address.',
  CONTROLLER_STOPPED: 'The controller was stopped before it published its first table.',
  PUBLISHER_OPTIONS: 'The table publisher was given invalid timing options.',
  BAD_NODE: 'A watch or ack request has no valid node name.',
  BAD_SINCE: 'A watch request\'s `since` is not `<epoch>:<version>`.',
  BAD_ACK: 'An ack request\'s body is not a valid acknowledgement.',
  BAD_REQUEST: 'A request to the controller API is malformed.',
  BODY_TOO_LARGE: 'A request body is over the controller API\'s limit (413).',
  BODY_ABORTED: 'The client went away before sending the whole request body.',
  UNAUTHORIZED: 'A request to the controller API has no bearer token, or a wrong one (401).',
  NOT_FOUND: 'No such path on the controller API (404).',
  NOT_LEADER: 'This controller replica stands by (leader election) and does not know the leader\'s address, or the leader does not answer (503); the proxy retries.',
  LEASE_TIMINGS: 'Leader election timings are inconsistent: they must satisfy lease duration > renew deadline > retry period > 0.',
  LEASE_IDENTITY: 'Leader election was given an empty replica identity.',
  METHOD_NOT_ALLOWED: 'The method is not allowed on that path of the controller API (405).',
  INTERNAL: 'The controller API failed while answering (500); see the controller log.',
  BAD_REPORT: 'A proxy\'s live report (dashboard statistics) is malformed; the field is named.',
  BAD_TAP: 'A tap request\'s query parameters are invalid; the parameter is named.',
  TAP_LIMIT: 'Too many tap sessions are running on the controller (429); try again when one ends.',
  TAP_CONNECT: '`hostmesh tap` cannot reach the controller.',
  TAP_REFUSED: '`hostmesh tap` was refused by the controller (the status and its message follow).',
  TAP_LOST: 'The tap stream from the controller broke or ended.',
  STANDALONE_START: '`hostmesh standalone` could not start its admin server or DNS responder.',
  // Reported in the controller status (`/v1/status`, `hostmesh check`), not thrown:
  SHADOW_CONFLICT: 'A Service in the mesh namespace holds the name a shadow Service needs and was not written by hostmesh.',
  SHADOW_WRITE_FAILED: 'Creating, updating or deleting a shadow Service failed; retried with backoff.',
  SHADOW_MALFORMED: 'A shadow Service\'s hostmesh annotations cannot be read; it is ignored.',
  SHADOW_DUPLICATE: 'Two shadow Services stand for the same Service; one is ignored.',
  SHADOW_PORT_CONFLICT: 'A shadow Service claims a proxy port already allocated to another Service port; the claim is ignored.',
  DNS_SERVICE_MISSING: 'The proxies\' DNS Service (--dns-service) does not exist or has no ClusterIP yet.',
  DNS_APPLY_FAILED: 'Patching the cluster DNS failed; retried with backoff.',

  // --- the Kubernetes API ---
  K8S_BAD_NAMESPACE: 'A namespace to watch or ignore is not a valid namespace name.',
  K8S_LIST_FAILED: 'Listing a resource failed; the informer retries with backoff.',
  K8S_WATCH_FAILED: 'Watching a resource failed; the informer retries with backoff.',
  K8S_REQUEST_FAILED: 'A write to the API server failed (`details` names the object).',
  K8S_STOPPED: 'The Kubernetes source was stopped before its initial lists completed.',
  KUBECONFIG_MISSING: 'No cluster credentials: not in a cluster, no $KUBECONFIG and no ~/.kube/config.',
  KUBECONFIG_NO_CLUSTER: 'The kubeconfig has no current context with a cluster.',
  KUBECONFIG_UNREADABLE: 'The kubeconfig cannot be loaded.',

  // --- the cluster DNS patch ---
  DNS_BAD_IP: 'No address of the proxies\' DNS Service to forward the mesh zones to.',
  DNS_BAD_ZONE: 'No (or an invalid) mesh DNS zone.',
  DNS_NOT_FOUND: 'The cluster DNS (CoreDNS Deployment or its ConfigMap) cannot be found or is not CoreDNS.',
  DNS_COREFILE_MISSING: 'The ConfigMap CoreDNS reads has no Corefile key.',
  DNS_COREFILE_UNPARSABLE: 'The Corefile cannot be parsed (`details.line`).',
  DNS_MARKERS_UNBALANCED: 'The Corefile\'s `# hostmesh begin`/`# hostmesh end` markers do not pair up (`details.line`).',
  DNS_STUBDOMAINS_INVALID: 'kube-dns\' stubDomains is not valid JSON.',
  DNS_ZONE_CONFLICT: 'The Corefile already has a server block for a mesh zone that hostmesh did not write.',

  // --- manifests (standalone, check) ---
  'manifests-unreadable': 'The manifest directory or a file in it cannot be read (at start).',
  'manifests-invalid': 'A manifest file is not valid YAML (at start).',
  'manifests-stopped': 'The manifest source was stopped before its first read.',

  // --- the CLI ---
  CLI_USAGE: 'The command line is invalid; the message says how.',
  CHECK_UNREACHABLE: '`hostmesh check` cannot reach the controller.',
  CHECK_UNAUTHORIZED: '`hostmesh check` was refused by the controller (401).',
  CHECK_STATUS: '`hostmesh check` got an unexpected HTTP status from the controller.',
  CHECK_NOT_FOUND: '`hostmesh check --can ... --to NS/SVC[:PORT]` names a Service port the manifests do not route.',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;
