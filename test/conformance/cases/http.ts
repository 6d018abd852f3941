/**
 * Upstream's mesh HTTPRoute tests: same-namespace attachment, path/header and query matching,
 * weights, request header modifiers (rule and backend level), path rewrites and named rules
 * (conformance/tests/mesh/httproute-*.go, with their manifests).
 */
import { MESH_NS } from '../support/mesh.ts';
import { expectDistribution, runCases } from '../support/expect.ts';
import type { ExpectedResponse } from '../support/expect.ts';
import { F, backend, httpRoute, prefix, serviceParent } from '../support/suite.ts';
import type { ConformanceTest } from '../support/suite.ts';

const ns = MESH_NS;
const parent = [serviceParent('echo', 80)];


export const MeshHTTPRouteSimpleSameNamespace: ConformanceTest = {
  shortName: 'MeshHTTPRouteSimpleSameNamespace',
  description: 'A single HTTPRoute in the gateway-conformance-mesh namespace attaches to a Service in the same namespace.',
  features: [F.Mesh, F.HTTPRoute],
  manifests: httpRoute('gateway-conformance-mesh-test', { parentRefs: parent, rules: [{ backendRefs: [backend('echo-v1', 8080)] }] }),
  run: (mesh, t) => runCases(mesh.client('v1'), t, [
    { testCaseName: 'Simple HTTP request should reach infra-backend', request: { path: '/', host: 'echo' }, response: { statusCodes: [200] }, backend: 'echo-v1', namespace: ns },
  ]),
};

export const MeshHTTPRouteMatching: ConformanceTest = {
  shortName: 'MeshHTTPRouteMatching',
  description: 'A single HTTPRoute with path and header matching for different backends.',
  features: [F.Mesh, F.HTTPRoute],
  manifests: httpRoute('mesh-matching', {
    parentRefs: parent,
    rules: [
      { matches: [prefix('/'), { headers: [{ name: 'version', value: 'one' }] }], backendRefs: [backend('echo-v1', 8080)] },
      { matches: [prefix('/v2'), { headers: [{ name: 'version', value: 'two' }] }], backendRefs: [backend('echo-v2', 8080)] },
    ],
  }),
  run: (mesh, t) => runCases(mesh.client('v1'), t, [
    { request: { path: '/' }, backend: 'echo-v1', namespace: ns },
    { request: { path: '/example' }, backend: 'echo-v1', namespace: ns },
    { request: { path: '/', headers: { Version: 'one' } }, backend: 'echo-v1', namespace: ns },
    { request: { path: '/v2' }, backend: 'echo-v2', namespace: ns },
    { request: { path: '/v2/example' }, backend: 'echo-v2', namespace: ns },
    { request: { path: '/', headers: { Version: 'two' } }, backend: 'echo-v2', namespace: ns },
    { request: { path: '/v2/' }, backend: 'echo-v2', namespace: ns },
    // Not a path segment prefix, so /v2 does not match.
    { request: { path: '/v2example' }, backend: 'echo-v1', namespace: ns },
    { request: { path: '/foo/v2/example' }, backend: 'echo-v1', namespace: ns },
  ]),
};

const q = (name: string, value: string) => ({ name, value });

export const MeshHTTPRouteQueryParamMatching: ConformanceTest = {
  shortName: 'MeshHTTPRouteQueryParamMatching',
  description: 'A single HTTPRoute with query param matching for different backends.',
  features: [F.Mesh, F.HTTPRoute, F.MeshHTTPRouteQueryParamMatching],
  manifests: httpRoute('mesh-query-param-matching', {
    parentRefs: parent,
    rules: [
      { matches: [{ queryParams: [q('animal', 'whale')] }], backendRefs: [backend('echo-v1', 8080)] },
      { matches: [{ queryParams: [q('animal', 'dolphin')] }], backendRefs: [backend('echo-v2', 8080)] },
      // With core match types.
      { matches: [{ ...prefix('/path1'), queryParams: [q('animal', 'whale')] }], backendRefs: [backend('echo-v1', 8080)] },
      { matches: [{ headers: [q('version', 'one')], queryParams: [q('animal', 'whale')] }], backendRefs: [backend('echo-v2', 8080)] },
      // (cond1 AND cond2) OR (cond3 AND cond4 AND cond5).
      {
        matches: [
          { ...prefix('/path3'), queryParams: [q('animal', 'shark')] },
          { ...prefix('/path4'), headers: [q('version', 'three')], queryParams: [q('animal', 'kraken')] },
        ],
        backendRefs: [backend('echo-v1', 8080)],
      },
      // Precedence.
      { matches: [prefix('/path5')], backendRefs: [backend('echo-v1', 8080)] },
      { matches: [{ queryParams: [q('animal', 'hydra')] }], backendRefs: [backend('echo-v2', 8080)] },
    ],
  }),
  run: (mesh, t) => runCases(mesh.client('v1'), t, [
    { request: { path: '/?animal=whale' }, backend: 'echo-v1', namespace: ns },
    { request: { path: '/?animal=dolphin' }, backend: 'echo-v2', namespace: ns },
    { request: { path: '/?animal=whale&otherparam=irrelevant' }, backend: 'echo-v1', namespace: ns },
    { request: { path: '/?animal=dolphin&color=yellow' }, backend: 'echo-v2', namespace: ns },
    { request: { path: '/?color=blue' }, response: { statusCodes: [404] } },
    { request: { path: '/?animal=dog' }, response: { statusCodes: [404] } },
    { request: { path: '/?animal=whaledolphin' }, response: { statusCodes: [404] } },
    { request: { path: '/' }, response: { statusCodes: [404] } },
    // Query params with other core matches.
    { request: { path: '/path1?animal=whale' }, backend: 'echo-v1', namespace: ns },
    { request: { headers: { version: 'one' }, path: '/?animal=whale' }, backend: 'echo-v2', namespace: ns },
    // ORed matches hold when only one of them is used.
    { request: { path: '/path3?animal=shark' }, backend: 'echo-v1', namespace: ns },
    { request: { headers: { version: 'three' }, path: '/path4?animal=kraken' }, backend: 'echo-v1', namespace: ns },
    // ANDed match types do not hold when only a subset is used.
    { request: { path: '/?animal=shark' }, response: { statusCodes: [404] } },
    { request: { path: '/path4?animal=kraken' }, response: { statusCodes: [404] } },
    // Precedence across matches.
    { request: { path: '/path5?animal=hydra' }, backend: 'echo-v1', namespace: ns },
  ]),
};

export const MeshHTTPRouteWeight: ConformanceTest = {
  shortName: 'MeshHTTPRouteWeight',
  description: 'An HTTPRoute with weighted backends.',
  features: [F.Mesh, F.HTTPRoute],
  manifests: httpRoute('mesh-weighted-backends', {
    parentRefs: parent,
    rules: [{ backendRefs: [backend('echo-v1', 8080, { weight: 70 }), backend('echo-v2', 8080, { weight: 30 })] }],
  }),
  run: async (mesh, t) => {
    await t.test('Requests should have a distribution that matches the weight', async () => {
      await expectDistribution(mesh.client('v1'), { request: { path: '/', host: 'echo' }, response: { statusCodes: [200] }, namespace: ns }, { 'echo-v1': 0.7, 'echo-v2': 0.3 });
    });
  },
};

function headerModifierCases(): ExpectedResponse[] {
  return [
    { request: { path: '/set', headers: { 'Some-Other-Header': 'val' } }, expectedRequest: { path: '/set', headers: { 'Some-Other-Header': 'val', 'X-Header-Set': 'set-overwrites-values' } }, backend: 'echo-v1', namespace: ns },
    { request: { path: '/set', headers: { 'Some-Other-Header': 'val', 'X-Header-Set': 'some-other-value' } }, expectedRequest: { path: '/set', headers: { 'Some-Other-Header': 'val', 'X-Header-Set': 'set-overwrites-values' } }, backend: 'echo-v1', namespace: ns },
    { request: { path: '/add', headers: { 'Some-Other-Header': 'val' } }, expectedRequest: { path: '/add', headers: { 'Some-Other-Header': 'val', 'X-Header-Add': 'add-appends-values' } }, backend: 'echo-v1', namespace: ns },
    { request: { path: '/add', headers: { 'Some-Other-Header': 'val', 'X-Header-Add': 'some-other-value' } }, expectedRequest: { path: '/add', headers: { 'Some-Other-Header': 'val', 'X-Header-Add': 'some-other-value,add-appends-values' } }, backend: 'echo-v1', namespace: ns },
    { request: { path: '/remove', headers: { 'X-Header-Remove': 'val' } }, expectedRequest: { path: '/remove', absentHeaders: ['X-Header-Remove'] }, backend: 'echo-v1', namespace: ns },
    {
      request: { path: '/multiple', headers: { 'X-Header-Set-2': 'set-val-2', 'X-Header-Add-2': 'add-val-2', 'X-Header-Remove-2': 'remove-val-2', 'Another-Header': 'another-header-val' } },
      expectedRequest: {
        path: '/multiple',
        headers: { 'X-Header-Set-1': 'header-set-1', 'X-Header-Set-2': 'header-set-2', 'X-Header-Add-1': 'header-add-1', 'X-Header-Add-2': 'add-val-2,header-add-2', 'X-Header-Add-3': 'header-add-3', 'Another-Header': 'another-header-val' },
        absentHeaders: ['X-Header-Remove-1', 'X-Header-Remove-2'],
      },
      backend: 'echo-v1',
      namespace: ns,
    },
    {
      // The filter names headers canonically, the request in lower case.
      request: { path: '/case-insensitivity', headers: { 'x-header-set': 'original-val-set', 'x-header-add': 'original-val-add', 'x-header-remove': 'original-val-remove', 'Another-Header': 'another-header-val' } },
      expectedRequest: { path: '/case-insensitivity', headers: { 'X-Header-Set': 'header-set', 'X-Header-Add': 'original-val-add,header-add', 'Another-Header': 'another-header-val' }, absentHeaders: ['x-header-remove', 'X-Header-Remove'] },
      backend: 'echo-v1',
      namespace: ns,
    },
  ];
}

const H = (name: string, value: string) => ({ name, value });
const MODIFIERS: [string, Record<string, unknown>][] = [
  ['/set', { set: [H('X-Header-Set', 'set-overwrites-values')] }],
  ['/add', { add: [H('X-Header-Add', 'add-appends-values')] }],
  ['/remove', { remove: ['X-Header-Remove'] }],
  ['/multiple', {
    set: [H('X-Header-Set-1', 'header-set-1'), H('X-Header-Set-2', 'header-set-2')],
    add: [H('X-Header-Add-1', 'header-add-1'), H('X-Header-Add-2', 'header-add-2'), H('X-Header-Add-3', 'header-add-3')],
    remove: ['X-Header-Remove-1', 'X-Header-Remove-2'],
  }],
  ['/case-insensitivity', { set: [H('X-Header-Set', 'header-set')], add: [H('X-Header-Add', 'header-add')], remove: ['X-Header-Remove'] }],
];

export const MeshHTTPRouteRequestHeaderModifier: ConformanceTest = {
  shortName: 'MeshHTTPRouteRequestHeaderModifier',
  description: 'An HTTPRoute has request header modifier filters applied correctly.',
  features: [F.Mesh, F.HTTPRoute],
  manifests: httpRoute('mesh-request-header-modifier', {
    parentRefs: parent,
    rules: MODIFIERS.map(([path, mod]) => ({ matches: [prefix(path)], filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: mod }], backendRefs: [backend('echo-v1', 8080)] })),
  }),
  run: (mesh, t) => runCases(mesh.client('v1'), t, headerModifierCases()),
};

export const MeshHTTPRouteBackendRequestHeaderModifier: ConformanceTest = {
  shortName: 'MeshHTTPRouteBackendRequestHeaderModifier',
  description: 'An HTTPRoute backend has request header modifier filters applied correctly.',
  features: [F.Mesh, F.HTTPRoute, F.MeshHTTPRouteBackendRequestHeaderModification],
  manifests: httpRoute('mesh-request-header-modifier', {
    parentRefs: parent,
    rules: MODIFIERS.map(([path, mod]) => ({ matches: [prefix(path)], backendRefs: [backend('echo-v1', 8080, { filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: mod }] })] })),
  }),
  run: (mesh, t) => runCases(mesh.client('v1'), t, headerModifierCases()),
};

const rewriteHeaders = { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [H('X-Header-Set', 'set-overwrites-values')], add: [H('X-Header-Add', 'header-val-1'), H('X-Header-Add-Append', 'header-val-2')], remove: ['X-Header-Remove'] } };
const urlRewrite = (path: Record<string, string>) => ({ type: 'URLRewrite', urlRewrite: { path } });

export const MeshHTTPRouteRewritePath: ConformanceTest = {
  shortName: 'MeshHTTPRouteRewritePath',
  description: 'An HTTPRoute with path rewrite filter.',
  features: [F.Mesh, F.HTTPRoute, F.MeshHTTPRouteRewritePath],
  manifests: httpRoute('mesh-rewrite-path', {
    parentRefs: parent,
    rules: [
      { matches: [prefix('/prefix/one')], filters: [urlRewrite({ type: 'ReplacePrefixMatch', replacePrefixMatch: '/one' })], backendRefs: [backend('echo-v1', 80)] },
      { matches: [prefix('/strip-prefix')], filters: [urlRewrite({ type: 'ReplacePrefixMatch', replacePrefixMatch: '/' })], backendRefs: [backend('echo-v1', 80)] },
      { matches: [prefix('/full/one')], filters: [urlRewrite({ type: 'ReplaceFullPath', replaceFullPath: '/one' })], backendRefs: [backend('echo-v1', 80)] },
      { matches: [prefix('/full/rewrite-path-and-modify-headers')], filters: [urlRewrite({ type: 'ReplaceFullPath', replaceFullPath: '/test' }), rewriteHeaders], backendRefs: [backend('echo-v1', 80)] },
      { matches: [prefix('/prefix/rewrite-path-and-modify-headers')], filters: [urlRewrite({ type: 'ReplacePrefixMatch', replacePrefixMatch: '/prefix' }), rewriteHeaders], backendRefs: [backend('echo-v1', 80)] },
    ],
  }),
  run: (mesh, t) => {
    const sent = { 'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1', 'X-Header-Set': 'set-val' };
    const modified = { 'X-Header-Add': 'header-val-1', 'X-Header-Add-Append': 'append-val-1,header-val-2', 'X-Header-Set': 'set-overwrites-values' };
    return runCases(mesh.client('v1'), t, [
      { request: { path: '/prefix/one/two', host: 'echo' }, expectedRequest: { path: '/one/two' }, backend: 'echo-v1', namespace: ns },
      { request: { path: '/strip-prefix/three', host: 'echo' }, expectedRequest: { path: '/three' }, backend: 'echo-v1', namespace: ns },
      { request: { path: '/strip-prefix', host: 'echo' }, expectedRequest: { path: '/' }, backend: 'echo-v1', namespace: ns },
      { request: { path: '/full/one/two', host: 'echo' }, expectedRequest: { path: '/one' }, backend: 'echo-v1', namespace: ns },
      { request: { host: 'echo', path: '/full/rewrite-path-and-modify-headers/test', headers: sent }, expectedRequest: { path: '/test', headers: modified, absentHeaders: ['X-Header-Remove'] }, backend: 'echo-v1', namespace: ns },
      { request: { host: 'echo', path: '/prefix/rewrite-path-and-modify-headers/one', headers: sent }, expectedRequest: { path: '/prefix/one', headers: modified, absentHeaders: ['X-Header-Remove'] }, backend: 'echo-v1', namespace: ns },
    ]);
  },
};

export const MeshHTTPRouteNamedRule: ConformanceTest = {
  shortName: 'MeshHTTPRouteNamedRule',
  description: 'An HTTPRoute with a named HTTPRouteRule.',
  features: [F.Mesh, F.HTTPRoute, F.MeshHTTPRouteNamedRouteRule],
  provisional: true,
  manifests: httpRoute('mesh-http-named-rules', {
    parentRefs: parent,
    rules: [
      { name: 'named-rule', matches: [prefix('/named')], backendRefs: [backend('echo-v1', 8080)] },
      { matches: [prefix('/unnamed')], backendRefs: [backend('echo-v2', 8080)] },
    ],
  }),
  // Upstream expects the backend to see "/named" for "/unnamed" too, which its mesh client never
  // checks (it compares no paths); the request path is what the backend must see.
  run: (mesh, t) => runCases(mesh.client('v1'), t, [
    { request: { path: '/named' }, expectedRequest: { path: '/named' }, backend: 'echo-v1', namespace: ns },
    { request: { path: '/unnamed' }, expectedRequest: { path: '/unnamed' }, backend: 'echo-v2', namespace: ns },
  ]),
};
