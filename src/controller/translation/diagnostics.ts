/** Diagnostics: what translation and the sources report, and helpers to build and order them. */

export type Severity = 'error' | 'warning' | 'info';

export interface DiagnosticObject {
  kind: 'Service' | 'EndpointSlice' | 'File' | 'TrafficSplit' | 'HTTPRouteGroup' | 'TCPRoute' | 'UDPRoute' | 'TrafficTarget'
    | 'HTTPRoute' | 'GRPCRoute' | 'CustomResourceDefinition';
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
  // SMI (translation/smi/)
  | 'smi-invalid'
  | 'smi-note'
  | 'smi-reference-missing'
  | 'smi-conflict'
  | 'split-overridden'
  | 'acl-off'
  | 'acl-endpoint-unknown'
  // Gateway API routes (docs/gateway-api.md)
  | 'route-rule-invalid'
  | 'route-parent-invalid'
  | 'route-backend-unresolved'
  | 'route-ref-not-permitted'
  | 'route-annotation-conflict'
  | 'route-unsupported'
  // sources
  | 'crd-absent'
  // manifest files
  | 'manifest-unreadable'
  | 'manifest-parse-error'
  | 'manifest-invalid-object'
  | 'manifest-duplicate';

export function serviceObject(namespace: string, name: string): DiagnosticObject {
  return { kind: 'Service', namespace, name };
}

export function diagnostic(
  severity: Severity,
  code: DiagnosticCode,
  object: DiagnosticObject,
  message: string,
  extra: { key?: string; value?: string; line?: number } = {},
): Diagnostic {
  const d: Diagnostic = { severity, code, object, message };
  if (extra.key !== undefined) d.key = extra.key;
  if (extra.value !== undefined) d.value = extra.value;
  if (extra.line !== undefined) d.line = extra.line;
  return d;
}

/** A value as it appears in messages: JSON-quoted, long values cut. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}...` : value);
}

/** `namespace/name`, or the file path. */
export function objectLabel(o: DiagnosticObject): string {
  return o.namespace === undefined ? o.name : `${o.namespace}/${o.name}`;
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Stable order: by object, then line, severity, key, code and message. */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return list.toSorted((a, b) =>
    cmp(a.object.namespace ?? '', b.object.namespace ?? '') ||
    cmp(a.object.name, b.object.name) ||
    cmp(a.object.kind, b.object.kind) ||
    (a.line ?? 0) - (b.line ?? 0) ||
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
    cmp(a.key ?? '', b.key ?? '') ||
    cmp(a.code, b.code) ||
    cmp(a.message, b.message));
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
