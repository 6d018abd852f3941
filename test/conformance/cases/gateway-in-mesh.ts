/**
 * Upstream tests of HTTPRoute extended features that upstream runs only through a Gateway
 * (conformance/tests/httproute-method-matching, -rewrite-host, -timeout-request,
 * -timeout-backend-request, -request-mirror), run here in mesh mode: the route's parentRef is
 * the echo Service, infra-backend-v1/v2 are echo-v1/echo-v2 (v3, which the mesh base does not
 * have, is echo-v2), and the route's hostnames are left out (a mesh route matches the Service,
 * not a Host). They back hostmesh's claim of these features; the report's statistics count only
 * upstream's mesh tests.
 */
import { MESH_NS } from '../support/mesh.ts';
import { caseName, expectEventually, runCases } from '../support/expect.ts';
import type { ExpectedResponse } from '../support/expect.ts';
import { until } from '../../support/until.ts';
import { F, backend, httpRoute, prefix, serviceParent } from '../support/suite.ts';
import type { ConformanceTest } from '../support/suite.ts';

const ns = MESH_NS;
const parent = [serviceParent('echo', 80)];
const H = (name: string, value: string) => ({ name, value });


export const HTTPRouteMethodMatching: ConformanceTest = {
  shortName: 'HTTPRouteMethodMatching',
  description: 'A single HTTPRoute with method matching for different backends.',
  features: [F.Mesh, F.HTTPRoute, 'HTTPRouteMethodMatching'],
  manifests: httpRoute('method-matching', {
    parentRefs: parent,
    rules: [
      { matches: [{ method: 'POST' }], backendRefs: [backend('echo-v1', 8080)] },
      { matches: [{ method: 'GET' }], backendRefs: [backend('echo-v2', 8080)] },
      { matches: [{ ...prefix('/path1'), method: 'GET' }], backendRefs: [backend('echo-v1', 8080)] },
      { matches: [{ headers: [H('version', 'one')], method: 'PUT' }], backendRefs: [backend('echo-v2', 8080)] },
      { matches: [{ ...prefix('/path2'), headers: [H('version', 'two')], method: 'POST' }], backendRefs: [backend('echo-v2', 8080)] },
      { matches: [{ ...prefix('/path3'), method: 'PATCH' }, { ...prefix('/path4'), headers: [H('version', 'three')], method: 'DELETE' }], backendRefs: [backend('echo-v1', 8080)] },
      { matches: [prefix('/path5')], backendRefs: [backend('echo-v1', 8080)] },
      { matches: [{ method: 'PATCH' }], backendRefs: [backend('echo-v2', 8080)] },
      { matches: [{ headers: [H('version', 'four')] }], backendRefs: [backend('echo-v2', 8080)] },
    ],
  }),
  run: (mesh, t) => runCases(mesh.client('v1'), t, [
    { request: { method: 'POST', path: '/' }, backend: 'echo-v1', namespace: ns },
    { request: { method: 'GET', path: '/' }, backend: 'echo-v2', namespace: ns },
    { request: { method: 'HEAD', path: '/' }, response: { statusCodes: [404] } },
    { request: { path: '/path1', method: 'GET' }, backend: 'echo-v1', namespace: ns },
    { request: { headers: { version: 'one' }, path: '/', method: 'PUT' }, backend: 'echo-v2', namespace: ns },
    { request: { headers: { version: 'two' }, path: '/path2', method: 'POST' }, backend: 'echo-v2', namespace: ns },
    { request: { path: '/path3', method: 'PATCH' }, backend: 'echo-v1', namespace: ns },
    { request: { headers: { version: 'three' }, path: '/path4', method: 'DELETE' }, backend: 'echo-v1', namespace: ns },
    { request: { path: '/', method: 'PUT' }, response: { statusCodes: [404] } },
    { request: { path: '/path4', method: 'DELETE' }, response: { statusCodes: [404] } },
    { request: { path: '/path5', method: 'PATCH' }, backend: 'echo-v1', namespace: ns },
    { request: { headers: { version: 'four' }, path: '/', method: 'PATCH' }, backend: 'echo-v2', namespace: ns },
  ]),
};

const headerFilter = { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [H('X-Header-Set', 'set-overwrites-values')], add: [H('X-Header-Add', 'header-val-1'), H('X-Header-Add-Append', 'header-val-2')], remove: ['X-Header-Remove'] } };
const modifiedHeaders = { 'X-Header-Add': 'header-val-1', 'X-Header-Add-Append': 'append-val-1,header-val-2', 'X-Header-Set': 'set-overwrites-values' };

export const HTTPRouteRewriteHost: ConformanceTest = {
  shortName: 'HTTPRouteRewriteHost',
  description: 'An HTTPRoute with hostname rewrite filter.',
  features: [F.Mesh, F.HTTPRoute, 'HTTPRouteHostRewrite'],
  manifests: httpRoute('rewrite-host', {
    parentRefs: parent,
    rules: [
      { matches: [prefix('/one')], filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'one.example.org' } }], backendRefs: [backend('echo-v1', 8080)] },
      { filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'example.org' } }], backendRefs: [backend('echo-v2', 8080)] },
      { matches: [prefix('/rewrite-host-and-modify-headers')], filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'test.example.org' } }, headerFilter], backendRefs: [backend('echo-v2', 8080)] },
    ],
  }),
  run: (mesh, t) => runCases(mesh.client('v1'), t, [
    { request: { path: '/one' }, expectedRequest: { path: '/one', host: 'one.example.org' }, backend: 'echo-v1', namespace: ns },
    { request: { path: '/two' }, expectedRequest: { path: '/two', host: 'example.org' }, backend: 'echo-v2', namespace: ns },
    {
      request: { path: '/rewrite-host-and-modify-headers', headers: { 'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1' } },
      expectedRequest: { path: '/rewrite-host-and-modify-headers', host: 'test.example.org', headers: modifiedHeaders, absentHeaders: ['X-Header-Remove'] },
      backend: 'echo-v2',
      namespace: ns,
    },
  ]),
};

export const HTTPRouteTimeoutRequest: ConformanceTest = {
  shortName: 'HTTPRouteTimeoutRequest',
  description: 'An HTTPRoute with request timeout.',
  features: [F.Mesh, F.HTTPRoute, 'HTTPRouteRequestTimeout'],
  manifests: httpRoute('request-timeout', {
    parentRefs: parent,
    rules: [
      { matches: [prefix('/request-timeout')], backendRefs: [backend('echo-v1', 8080)], timeouts: { request: '500ms' } },
      { matches: [prefix('/disable-request-timeout')], backendRefs: [backend('echo-v1', 8080)], timeouts: { request: '0s' } },
    ],
  }),
  run: (mesh, t) => runCases(mesh.client('v1'), t, [
    { request: { path: '/request-timeout' }, response: { statusCodes: [200] }, namespace: ns },
    { request: { path: '/request-timeout?delay=1s' }, response: { statusCodes: [504] }, namespace: ns },
    { request: { path: '/disable-request-timeout?delay=1s' }, response: { statusCodes: [200] }, namespace: ns },
  ]),
};

export const HTTPRouteTimeoutBackendRequest: ConformanceTest = {
  shortName: 'HTTPRouteTimeoutBackendRequest',
  description: 'An HTTPRoute with backend request timeout.',
  features: [F.Mesh, F.HTTPRoute, 'HTTPRouteBackendTimeout'],
  manifests: httpRoute('backend-request-timeout', {
    parentRefs: parent,
    rules: [
      { matches: [prefix('/backend-timeout')], backendRefs: [backend('echo-v1', 8080)], timeouts: { backendRequest: '500ms' } },
      { matches: [prefix('/disable-backend-timeout')], backendRefs: [backend('echo-v1', 8080)], timeouts: { backendRequest: '0s' } },
    ],
  }),
  run: (mesh, t) => runCases(mesh.client('v1'), t, [
    { request: { path: '/backend-timeout' }, expectedRequest: {}, response: { statusCodes: [200] } },
    { request: { path: '/backend-timeout?delay=1s' }, response: { statusCodes: [504] } },
  ]),
};

const mirrorTo = { type: 'RequestMirror', requestMirror: { backendRef: { name: 'echo-v2', namespace: ns, port: 8080 } } };

export const HTTPRouteRequestMirror: ConformanceTest = {
  shortName: 'HTTPRouteRequestMirror',
  description: 'An HTTPRoute with request mirror filter.',
  features: [F.Mesh, F.HTTPRoute, 'HTTPRouteRequestMirror'],
  manifests: httpRoute('request-mirror', {
    parentRefs: parent,
    rules: [
      { matches: [prefix('/mirror')], filters: [mirrorTo], backendRefs: [backend('echo-v1', 8080, { namespace: ns })] },
      { matches: [prefix('/mirror-and-modify-headers')], filters: [headerFilter, mirrorTo], backendRefs: [backend('echo-v1', 8080, { namespace: ns })] },
    ],
  }),
  run: async (mesh, t) => {
    const cases: ExpectedResponse[] = [
      { request: { path: '/mirror' }, expectedRequest: { path: '/mirror' }, backend: 'echo-v1', namespace: ns },
      {
        request: { path: '/mirror-and-modify-headers', headers: { 'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1' } },
        expectedRequest: { path: '/mirror-and-modify-headers', headers: modifiedHeaders, absentHeaders: ['X-Header-Remove'] },
        backend: 'echo-v1',
        namespace: ns,
      },
    ];
    const client = mesh.client('v1');
    const mirror = mesh.pods.find((p) => p.namespace === ns && p.labels.version === 'v2')!;
    for (const [i, tc] of cases.entries()) {
      await t.test(caseName(tc, i), async () => {
        await expectEventually(client, tc);
        // Upstream reads the mirror's logs for the path.
        await until(`echo-v2 to log a mirrored ${tc.request.path}`, () => mirror.seen.some((r) => r.path === tc.request.path), 10_000);
      });
    }
  },
};

export const GATEWAY_IN_MESH_TESTS: readonly ConformanceTest[] = [HTTPRouteMethodMatching, HTTPRouteRewriteHost, HTTPRouteTimeoutRequest, HTTPRouteTimeoutBackendRequest, HTTPRouteRequestMirror];
