/**
 * Types around the translation function: its options, the memory it carries from one call to
 * the next, and the diagnostics it reports. Both sources (manifest directory, Kubernetes
 * informers) and the CLI read these.
 */
import type { ContentChanges, PortId, ServiceId, TableContent } from '../../table/index.ts';
import type { AnnotationResult, ServiceSettings } from './annotations/settings.ts';
import type { ClusterChange, ClusterState } from '../objects.ts';
import type { Diagnostic } from './diagnostics.ts';
import type { RouteStatusReport } from './gateway/index.ts';
import type { ServiceMemo } from './service.ts';
import type { LastTranslation } from './incremental.ts';

export type { Diagnostic, DiagnosticCode, DiagnosticObject, Severity } from './diagnostics.ts';

export type { TableContent };

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
  /** Ports in the range never to allocate (in use by another process, or by our own servers). */
  reservedPorts?: ReadonlySet<number>;
  /**
   * How long a port freed by a deleted Service (or port) stays out of allocation, in ms, so a
   * proxy that lags behind or a client that cached the old address never reaches a new
   * Service's backends through it. Default 5 minutes (`PORT_QUARANTINE_MS`); the Translator
   * applies it.
   */
  portQuarantineMs?: number;
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
  /**
   * ACL mode: every route gets an `access` policy from the SMI TrafficTargets (deny unless
   * allowed). Off: TrafficTargets are ignored, with a note.
   */
  acl?: boolean;
  /** Expression checker; when absent every non-empty expression is accepted. */
  checkExpression?: ExpressionChecker;
}

/** What one translation hands to the next. */
export interface TranslationMemory {
  /** The last valid settings of each Service. */
  readonly settings: ReadonlyMap<ServiceId, ServiceSettings>;
  /**
   * Each Service's annotations as last parsed, with the result, so a Service whose annotations
   * did not change is not parsed again (valid for one expression checker).
   */
  readonly parsed?: { checker: ExpressionChecker | undefined; entries: ReadonlyMap<ServiceId, ParsedAnnotations> };
  /**
   * Each Service's translation and the entries built from it (translate.ts), valid for one
   * scope (mode and namespace options) and expression checker. Only saves work: the output
   * is the same without it.
   */
  readonly services?: { scope: string; checker: ExpressionChecker | undefined; entries: ReadonlyMap<ServiceId, ServiceMemo> };
  /**
   * The last translation's output and where each Service's entries sit in it, for the next
   * translation to patch when it is told what changed (incremental.ts). A patching
   * translation updates this memory's maps in place: give each translation the memory of the
   * one before it (as Translator does); an older memory is still correct to use, only slower.
   */
  readonly last?: LastTranslation;
}

export interface ParsedAnnotations {
  /** A copy of the annotations parsed. */
  annotations: Readonly<Record<string, unknown>> | undefined;
  result: AnnotationResult;
}

export function emptyMemory(): TranslationMemory {
  return { settings: new Map() };
}

/** Input and output of translate(); see translate.ts. */
export interface TranslateInput {
  state: ClusterState;
  memory: TranslationMemory;
  ports: ReadonlyMap<PortId, number>;
  options: TranslateOptions;
  /**
   * What changed since `memory.last.state` (a source's hint): lets the translation patch the
   * last output for those objects only. Ignored (a full translation) when it does not fit.
   */
  changes?: ClusterChange;
}

export interface TranslateResult {
  content: TableContent;
  memory: TranslationMemory;
  ports: Map<PortId, number>;
  diagnostics: Diagnostic[];
  /** The status each Gateway API route should show for the Service parents hostmesh owns. */
  routeStatus?: RouteStatusReport[];
  /**
   * Present when this translation patched the previous one: the entries it replaced (for the
   * publisher, which then hashes only those). Equal content either way.
   */
  changes?: ContentChanges;
}
