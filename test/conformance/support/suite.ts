/**
 * The ported conformance tests' shape (upstream's suite.ConformanceTest: short name, features,
 * manifests, test function), feature names, the mesh conformance profiles, and builders for the
 * route manifests the tests apply.
 */
import type { TestContext } from 'node:test';
import { stringify } from 'yaml';
import type { ConformanceMesh } from './mesh.ts';
import { MESH_NS } from './mesh.ts';

export interface ConformanceTest {
  shortName: string;
  description: string;
  /** Upstream feature names the test exercises (it runs only when all are supported). */
  features: readonly string[];
  provisional?: boolean;
  /** The test's own manifests (routes), applied on top of the base manifests. */
  manifests: string;
  run(mesh: ConformanceMesh, t: TestContext): Promise<void>;
}

/** Feature names as upstream spells them (pkg/features). */
export const F = {
  Mesh: 'Mesh',
  HTTPRoute: 'HTTPRoute',
  GRPCRoute: 'GRPCRoute',
  MeshClusterIPMatching: 'MeshClusterIPMatching',
  MeshConsumerRoute: 'MeshConsumerRoute',
  MeshHTTPRouteRewritePath: 'MeshHTTPRouteRewritePath',
  MeshHTTPRouteSchemeRedirect: 'MeshHTTPRouteSchemeRedirect',
  MeshHTTPRouteRedirectPort: 'MeshHTTPRouteRedirectPort',
  MeshHTTPRouteRedirectPath: 'MeshHTTPRouteRedirectPath',
  MeshHTTPRouteBackendRequestHeaderModification: 'MeshHTTPRouteBackendRequestHeaderModification',
  MeshHTTPRouteQueryParamMatching: 'MeshHTTPRouteQueryParamMatching',
  MeshHTTPRouteNamedRouteRule: 'MeshHTTPRouteNamedRouteRule',
  HTTPRouteResponseHeaderModification: 'HTTPRouteResponseHeaderModification',
  HTTPRouteParentRefPort: 'HTTPRouteParentRefPort',
  HTTPRoute303RedirectStatusCode: 'HTTPRoute303RedirectStatusCode',
  HTTPRoute307RedirectStatusCode: 'HTTPRoute307RedirectStatusCode',
  HTTPRoute308RedirectStatusCode: 'HTTPRoute308RedirectStatusCode',
} as const;

/** Extended features of the mesh profiles (upstream: Mesh extended, plus HTTPRoute extended for MESH-HTTP). */
export const MESH_EXTENDED = [
  'MeshClusterIPMatching', 'MeshConsumerRoute', 'MeshHTTPRouteRewritePath', 'MeshHTTPRouteSchemeRedirect',
  'MeshHTTPRouteRedirectPort', 'MeshHTTPRouteRedirectPath', 'MeshHTTPRouteBackendRequestHeaderModification',
  'MeshHTTPRouteQueryParamMatching', 'MeshHTTPRouteNamedRouteRule',
];
export const HTTPROUTE_EXTENDED = [
  'HTTPRouteDestinationPortMatching', 'HTTPRouteBackendRequestHeaderModification', 'HTTPRouteQueryParamMatching',
  'HTTPRouteMethodMatching', 'HTTPRouteResponseHeaderModification', 'HTTPRoutePortRedirect', 'HTTPRouteSchemeRedirect',
  'HTTPRoutePathRedirect', 'HTTPRouteHostRewrite', 'HTTPRoutePathRewrite', 'HTTPRouteRequestMirror',
  'HTTPRouteRequestMultipleMirrors', 'HTTPRouteRequestPercentageMirror', 'HTTPRouteRequestTimeout',
  'HTTPRouteBackendTimeout', 'HTTPRouteParentRefPort', 'HTTPRouteBackendProtocolH2C', 'HTTPRouteBackendProtocolWebSocket',
  'HTTPRouteNamedRouteRule', 'HTTPRouteCORS', 'HTTPRoute303RedirectStatusCode', 'HTTPRoute307RedirectStatusCode',
  'HTTPRoute308RedirectStatusCode',
];

export interface Profile {
  name: string;
  core: readonly string[];
  extended: readonly string[];
}

export const PROFILES: readonly Profile[] = [
  { name: 'MESH-HTTP', core: ['Mesh', 'HTTPRoute'], extended: [...MESH_EXTENDED, ...HTTPROUTE_EXTENDED] },
  { name: 'MESH-GRPC', core: ['Mesh', 'GRPCRoute'], extended: MESH_EXTENDED },
];

// --- manifest builders -------------------------------------------------------------------

type Obj = Record<string, unknown>;

/** A parentRef naming a Service (GAMMA), with or without a port. */
export function serviceParent(name: string, port?: number, namespace?: string): Obj {
  return { group: '', kind: 'Service', name, ...(namespace ? { namespace } : {}), ...(port !== undefined ? { port } : {}) };
}

export function backend(name: string, port: number, extra: Obj = {}): Obj {
  return { name, port, ...extra };
}

export const prefix = (value: string): Obj => ({ path: { type: 'PathPrefix', value } });
export const exact = (value: string): Obj => ({ path: { type: 'Exact', value } });

export function route(kind: 'HTTPRoute' | 'GRPCRoute', name: string, spec: { parentRefs: Obj[]; rules: Obj[] }, namespace = MESH_NS): string {
  return stringify({ apiVersion: 'gateway.networking.k8s.io/v1', kind, metadata: { name, namespace }, spec });
}

export const httpRoute = (name: string, spec: { parentRefs: Obj[]; rules: Obj[] }, namespace?: string): string => route('HTTPRoute', name, spec, namespace);
export const grpcRoute = (name: string, spec: { parentRefs: Obj[]; rules: Obj[] }, namespace?: string): string => route('GRPCRoute', name, spec, namespace);

export function responseHeaderSet(name: string, value: string): Obj {
  return { type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name, value }] } };
}

export function redirect(spec: Obj): Obj {
  return { type: 'RequestRedirect', requestRedirect: spec };
}
