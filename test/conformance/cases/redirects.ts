/**
 * Upstream's mesh redirect tests: hostname and status, path, port, scheme, and the 303/307/308
 * status codes (conformance/tests/mesh/httproute-redirect-*.go and httproute-30x-redirect.go,
 * with their manifests). The proxy answers them itself; no backend is contacted.
 */
import { MESH_NS } from '../support/mesh.ts';
import { runCases } from '../support/expect.ts';
import type { ExpectedResponse } from '../support/expect.ts';
import { F, httpRoute, prefix, redirect, serviceParent } from '../support/suite.ts';
import type { ConformanceTest } from '../support/suite.ts';

const ns = MESH_NS;
const parent = [serviceParent('echo', 80)];


/** One case: a request to `path` on echo answered with `status` pointing at `where`. */
const to = (path: string, status: number, where: ExpectedResponse['redirectRequest'], host = 'echo'): ExpectedResponse => ({
  request: { host, path }, response: { statusCodes: [status] }, redirectRequest: where, namespace: ns,
});

const rules = (list: [string, Record<string, unknown>][]) => list.map(([path, spec]) => ({ matches: [prefix(path)], filters: [redirect(spec)] }));

export const MeshHTTPRouteRedirectHostAndStatus: ConformanceTest = {
  shortName: 'MeshHTTPRouteRedirectHostAndStatus',
  description: 'An HTTPRoute with hostname and statusCode redirect filters.',
  features: [F.Mesh, F.HTTPRoute],
  manifests: httpRoute('mesh-redirect-host-and-status', {
    parentRefs: parent,
    rules: rules([
      ['/hostname-redirect', { hostname: 'example.org' }],
      ['/host-and-status', { statusCode: 301, hostname: 'example.org' }],
    ]),
  }),
  run: (mesh, t) => runCases(mesh.client('v1'), t, [
    to('/hostname-redirect', 302, { host: 'example.org' }),
    to('/host-and-status', 301, { host: 'example.org' }),
  ]),
};

export const MeshHTTPRouteRedirectPath: ConformanceTest = {
  shortName: 'MeshHTTPRouteRedirectPath',
  description: 'An HTTPRoute with path redirect filters.',
  features: [F.Mesh, F.HTTPRoute, F.MeshHTTPRouteRedirectPath],
  manifests: httpRoute('mesh-redirect-path', {
    parentRefs: parent,
    rules: rules([
      ['/original-prefix', { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/replacement-prefix' } }],
      ['/full', { path: { type: 'ReplaceFullPath', replaceFullPath: '/full-path-replacement' } }],
      ['/path-and-host', { hostname: 'example.org', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/replacement-prefix' } }],
      ['/path-and-status', { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/replacement-prefix' }, statusCode: 301 }],
      ['/full-path-and-host', { hostname: 'example.org', path: { type: 'ReplaceFullPath', replaceFullPath: '/replacement-full' } }],
      ['/full-path-and-status', { path: { type: 'ReplaceFullPath', replaceFullPath: '/replacement-full' }, statusCode: 301 }],
    ]),
  }),
  run: (mesh, t) => runCases(mesh.client('v1'), t, [
    to('/original-prefix/lemon', 302, { path: '/replacement-prefix/lemon' }),
    to('/full/path/original', 302, { path: '/full-path-replacement' }),
    to('/path-and-host', 302, { host: 'example.org', path: '/replacement-prefix' }),
    to('/path-and-status', 301, { path: '/replacement-prefix' }),
    to('/full-path-and-host', 302, { host: 'example.org', path: '/replacement-full' }),
    to('/full-path-and-status', 301, { path: '/replacement-full' }),
  ]),
};

export const MeshHTTPRouteRedirectPort: ConformanceTest = {
  shortName: 'MeshHTTPRouteRedirectPort',
  description: 'An HTTPRoute with a port redirect filter.',
  features: [F.Mesh, F.HTTPRoute, F.MeshHTTPRouteRedirectPort],
  manifests: httpRoute('mesh-redirect-port', {
    parentRefs: parent,
    rules: rules([
      ['/port', { port: 8083 }],
      ['/port-and-host', { hostname: 'example.org', port: 8083 }],
      ['/port-and-status', { port: 8083, statusCode: 301 }],
      ['/port-and-host-and-status', { port: 8083, hostname: 'example.org', statusCode: 302 }],
    ]),
  }),
  run: (mesh, t) => runCases(mesh.client('v1'), t, [
    to('/port', 302, { port: '8083' }),
    to('/port-and-host', 302, { host: 'example.org', port: '8083' }),
    to('/port-and-status', 301, { port: '8083' }),
    to('/port-and-host-and-status', 302, { port: '8083', host: 'example.org' }),
  ]),
};

export const MeshHTTPRouteSchemeRedirect: ConformanceTest = {
  shortName: 'MeshHTTPRouteSchemeRedirect',
  description: 'An HTTPRoute with a scheme redirect filter.',
  features: [F.Mesh, F.HTTPRoute, F.MeshHTTPRouteSchemeRedirect],
  manifests: httpRoute('mesh-redirect-scheme', {
    parentRefs: parent,
    rules: rules([
      ['/scheme', { scheme: 'https' }],
      ['/scheme-and-host', { hostname: 'example.org', scheme: 'https' }],
      ['/scheme-and-status', { scheme: 'https', statusCode: 301 }],
      ['/scheme-and-host-and-status', { scheme: 'https', statusCode: 302, hostname: 'example.org' }],
    ]),
  }),
  run: (mesh, t) => runCases(mesh.client('v1'), t, [
    to('/scheme', 302, { scheme: 'https' }),
    to('/scheme-and-host', 302, { host: 'example.org', scheme: 'https' }),
    to('/scheme-and-status', 301, { scheme: 'https' }),
    to('/scheme-and-host-and-status', 302, { scheme: 'https', host: 'example.org' }),
  ]),
};

function statusRedirect(code: 303 | 307 | 308, name: string, path: string, feature: string): ConformanceTest {
  return {
    shortName: `MeshHTTPRoute${code}Redirect`,
    description: `An HTTPRoute with statusCode ${code} redirect filter.`,
    features: [F.Mesh, F.HTTPRoute, feature],
    provisional: true,
    manifests: httpRoute(name, { parentRefs: parent, rules: rules([[path, { statusCode: code }]]) }),
    run: (mesh, t) => runCases(mesh.client('v1'), t, [{ request: { path }, response: { statusCodes: [code] }, redirectRequest: { path }, namespace: ns }]),
  };
}

export const MeshHTTPRoute303Redirect = statusRedirect(303, 'mesh-303-redirect', '/redirect', F.HTTPRoute303RedirectStatusCode);
export const MeshHTTPRoute307Redirect = statusRedirect(307, 'mesh-307-redirect', '/temporary', F.HTTPRoute307RedirectStatusCode);
export const MeshHTTPRoute308Redirect = statusRedirect(308, 'mesh-308-redirect', '/permanent', F.HTTPRoute308RedirectStatusCode);
