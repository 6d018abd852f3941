/**
 * Types around the translation function: its options, the memory it carries from one call to
 * the next, and the diagnostics it reports. Both sources (manifest directory, Kubernetes
 * informers) and the CLI read these.
 */
import type { PortId, RoutingTable, ServiceId } from '../table/index.ts';
import type { ServiceSettings } from './annotations-settings.ts';
import type { ClusterState } from './objects.ts';

/** What translation produces: a routing table without the fields the publisher stamps. */
export type TableContent = Omit<RoutingTable, 'format' | 'epoch' | 'version' | 'generatedAt'>;

export type ExpressionContext = 'matcher' | 'breaker' | 'key';

/**
 * Checks an expression source in a context; undefined when it is fine. Injected so translation
 * reports expression errors (with their column) before any proxy sees them.
 */
export type ExpressionChecker = (
  source: string,
  context: ExpressionContext,
) => { code: string; message: string; column: number } | undefined;

export interface TranslateOptions {
  /** standalone: one local proxy, DNS answers 127.0.0.1; cluster: DNS answers shadow ClusterIPs. */
  mode: 'standalone' | 'cluster';
  /** Inclusive range proxy ports are allocated from. */
  portRange: readonly [number, number];
  /** DNS zones answered, canonical first. Default `['hostmesh']`. */
  zones?: readonly string[];
  /** TTL of DNS answers in seconds. Default 5. */
  dnsTtl?: number;
  /** When set, only Services in these namespaces are meshed. */
  watchNamespaces?: readonly string[];
  /** Never meshed. Default `kube-system`, `kube-public`, `kube-node-lease`; the mesh namespace always is. */
  ignoreNamespaces?: readonly string[];
  /** Where hostmesh itself runs (shadow Services live there). Default `hostmesh`. */
  meshNamespace?: string;
  /** Cluster mode: the shadow Service ClusterIP(s) DNS answers for each Service. */
  shadowAddresses?: ReadonlyMap<ServiceId, readonly string[]>;
  /** Expression checker; when absent every non-empty expression is accepted. */
  checkExpression?: ExpressionChecker;
}

/** The last valid settings of each Service, carried from one translation to the next. */
export interface TranslationMemory {
  readonly settings: ReadonlyMap<ServiceId, ServiceSettings>;
}

export function emptyMemory(): TranslationMemory {
  return { settings: new Map() };
}

export type Severity = 'error' | 'warning' | 'info';

export interface DiagnosticObject {
  kind: 'Service' | 'EndpointSlice' | 'File';
  /** Absent for files. */
  namespace?: string;
  /** Object name, or the file path for files. */
  name: string;
}

/**
 * One problem with the input. `code` is stable (tests, Events and users' scripts match on it);
 * `message` names the object, the key and the value and says why.
 */
export interface Diagnostic {
  severity: Severity;
  code: DiagnosticCode;
  object: DiagnosticObject;
  /** The annotation key (as written), when the problem is about one. */
  key?: string;
  /** The offending value, when there is one. */
  value?: string;
  /** 1-based line in a manifest file, for file problems. */
  line?: number;
  message: string;
}

export type DiagnosticCode =
  // annotations
  | 'annotation-invalid'
  | 'annotation-invalid-expression'
  | 'annotation-conflict'
  | 'annotation-alias-conflict'
  | 'annotation-unknown'
  | 'annotation-alias-unsupported'
  | 'annotation-ignored'
  | 'settings-last-good'
  // services and ports
  | 'service-skipped'
  | 'service-duplicate'
  | 'port-invalid'
  | 'port-duplicate'
  | 'port-protocol-unsupported'
  | 'port-protocol-mismatch'
  | 'port-unresolved'
  | 'ports-exhausted'
  | 'endpoint-invalid'
  | 'split-target-missing'
  | 'split-unsupported'
  | 'mirror-target-missing'
  // manifest files
  | 'manifest-unreadable'
  | 'manifest-parse-error'
  | 'manifest-invalid-object'
  | 'manifest-duplicate';

/** Input and output of translate(); see translate.ts. */
export interface TranslateInput {
  state: ClusterState;
  memory: TranslationMemory;
  ports: ReadonlyMap<PortId, number>;
  options: TranslateOptions;
}

export interface TranslateResult {
  content: TableContent;
  memory: TranslationMemory;
  ports: Map<PortId, number>;
  diagnostics: Diagnostic[];
}
