/** Every ported mesh conformance test, in upstream's registration order per file. */
import { MeshBasic, MeshConsumerRoute, MeshFrontend, MeshFrontendHostname, MeshPorts, MeshTrafficSplit } from './basic.ts';
import { MeshGRPCRouteRequestHeaderModifier, MeshGRPCRouteWeight } from './grpc.ts';
import {
  MeshHTTPRouteBackendRequestHeaderModifier, MeshHTTPRouteMatching, MeshHTTPRouteNamedRule, MeshHTTPRouteQueryParamMatching,
  MeshHTTPRouteRequestHeaderModifier, MeshHTTPRouteRewritePath, MeshHTTPRouteSimpleSameNamespace, MeshHTTPRouteWeight,
} from './http.ts';
import {
  MeshHTTPRoute303Redirect, MeshHTTPRoute307Redirect, MeshHTTPRoute308Redirect, MeshHTTPRouteRedirectHostAndStatus,
  MeshHTTPRouteRedirectPath, MeshHTTPRouteRedirectPort, MeshHTTPRouteSchemeRedirect,
} from './redirects.ts';
import { GATEWAY_IN_MESH_TESTS } from './gateway-in-mesh.ts';
import type { ConformanceTest } from '../support/suite.ts';

export const HTTP_TESTS: readonly ConformanceTest[] = [
  MeshBasic, MeshTrafficSplit, MeshFrontend, MeshFrontendHostname, MeshPorts, MeshConsumerRoute,
  MeshHTTPRouteSimpleSameNamespace, MeshHTTPRouteMatching, MeshHTTPRouteQueryParamMatching, MeshHTTPRouteWeight,
  MeshHTTPRouteRequestHeaderModifier, MeshHTTPRouteBackendRequestHeaderModifier, MeshHTTPRouteRewritePath,
  MeshHTTPRouteRedirectHostAndStatus, MeshHTTPRouteRedirectPath, MeshHTTPRouteRedirectPort, MeshHTTPRouteSchemeRedirect,
  MeshHTTPRoute303Redirect, MeshHTTPRoute307Redirect, MeshHTTPRoute308Redirect, MeshHTTPRouteNamedRule,
];

export const GRPC_TESTS: readonly ConformanceTest[] = [MeshGRPCRouteWeight, MeshGRPCRouteRequestHeaderModifier];

/** Upstream's mesh tests: the report's statistics. */
export const ALL_TESTS: readonly ConformanceTest[] = [...HTTP_TESTS, ...GRPC_TESTS];

/** Upstream gateway-profile tests of HTTPRoute extended features, run in mesh mode (cases/gateway-in-mesh.ts). */
export const EXTRA_TESTS: readonly ConformanceTest[] = GATEWAY_IN_MESH_TESTS;
