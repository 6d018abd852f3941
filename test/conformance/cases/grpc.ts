/**
 * Upstream's mesh GRPCRoute tests: weights and request header modifiers (conformance/tests/mesh/
 * grpcroute-*.go, with their manifests), over the upstream grpc echo's method on port 7070.
 */
import { MESH_NS } from '../support/mesh.ts';
import { expectDistribution, expectEventually } from '../support/expect.ts';
import { F, backend, grpcRoute, serviceParent } from '../support/suite.ts';
import type { ConformanceTest } from '../support/suite.ts';

const ns = MESH_NS;
const parent = [serviceParent('echo', 7070)];
const H = (name: string, value: string) => ({ name, value });

export const MeshGRPCRouteWeight: ConformanceTest = {
  shortName: 'MeshGRPCRouteWeight',
  description: 'A GRPCRoute with weighted backends in mesh mode.',
  features: [F.Mesh, F.GRPCRoute],
  manifests: grpcRoute('mesh-grpc-weighted-backends', {
    parentRefs: parent,
    rules: [{ backendRefs: [backend('echo-v1', 7070, { weight: 70 }), backend('echo-v2', 7070, { weight: 30 }), backend('echo-v3', 7070, { weight: 0 })] }],
  }),
  run: async (mesh, t) => {
    await t.test('Requests should have a distribution that matches the weight', async () => {
      await expectDistribution(mesh.client('v1'), { request: { protocol: 'grpc', host: 'echo:7070' }, response: { statusCodes: [200] }, namespace: ns }, { 'echo-v1': 0.7, 'echo-v2': 0.3 });
    });
  },
};

const match = (value: string) => ({ headers: [H('x-test-case', value)] });
const modifier = (spec: Record<string, unknown>) => ({ type: 'RequestHeaderModifier', requestHeaderModifier: spec });

export const MeshGRPCRouteRequestHeaderModifier: ConformanceTest = {
  shortName: 'MeshGRPCRouteRequestHeaderModifier',
  description: 'A GRPCRoute with RequestHeaderModifier filter modifies request headers in mesh mode.',
  features: [F.Mesh, F.GRPCRoute],
  manifests: grpcRoute('grpc-request-header-modifier', {
    parentRefs: parent,
    rules: [
      { matches: [match('set')], filters: [modifier({ set: [H('x-header-set', 'set-overwrites-values')] })], backendRefs: [backend('echo-v1', 7070)] },
      { matches: [match('add')], filters: [modifier({ add: [H('x-header-add', 'add-appends-values')] })], backendRefs: [backend('echo-v1', 7070)] },
      { matches: [match('remove')], filters: [modifier({ remove: ['x-header-remove'] })], backendRefs: [backend('echo-v1', 7070)] },
      {
        matches: [match('multi')],
        filters: [modifier({ set: [H('x-header-set-1', 'header-set-1'), H('x-header-set-2', 'header-set-2')], add: [H('x-header-add-1', 'header-add-1'), H('x-header-add-2', 'header-add-2')], remove: ['x-header-remove-1', 'x-header-remove-2'] })],
        backendRefs: [backend('echo-v2', 7070)],
      },
    ],
  }),
  run: async (mesh, t) => {
    const cases: { name: string; version: 'v1' | 'v2'; target: string; value: string; headers: Record<string, string>; expected: Record<string, string>; absent?: string[] }[] = [
      { name: 'Set headers -- overwrites existing header', version: 'v1', target: 'echo-v1', value: 'set', headers: { 'some-other-header': 'this-header-should-be-set', 'x-header-set': 'this-value-should-be-overwritten' }, expected: { 'x-test-case': 'set', 'some-other-header': 'this-header-should-be-set', 'x-header-set': 'set-overwrites-values' } },
      { name: 'Add headers -- appends to existing header', version: 'v1', target: 'echo-v1', value: 'add', headers: { 'x-header-add': 'this-value-should-be-appended' }, expected: { 'x-test-case': 'add', 'x-header-add': 'this-value-should-be-appended,add-appends-values' } },
      { name: 'Remove headers -- removes headers', version: 'v1', target: 'echo-v1', value: 'remove', headers: { 'x-header-remove': 'this-should-be-removed' }, expected: { 'x-test-case': 'remove' }, absent: ['x-header-remove'] },
      { name: 'Multiple operations -- set, add, and remove headers', version: 'v2', target: 'echo-v2', value: 'multi', headers: { 'x-header-set-2': 'set-header-2', 'x-header-add-2': 'add-header-2', 'x-header-remove-2': 'should-be-removed-2' }, expected: { 'x-test-case': 'multi', 'x-header-set-1': 'header-set-1', 'x-header-set-2': 'header-set-2', 'x-header-add-1': 'header-add-1', 'x-header-add-2': 'add-header-2,header-add-2' }, absent: ['x-header-remove-1', 'x-header-remove-2'] },
    ];
    for (const tc of cases) {
      await t.test(tc.name, async () => {
        await expectEventually(mesh.client(tc.version), {
          request: { protocol: 'grpc', host: 'echo:7070', headers: { 'x-test-case': tc.value, ...tc.headers } },
          expectedRequest: { headers: tc.expected, ...(tc.absent ? { absentHeaders: tc.absent } : {}) },
          response: { statusCodes: [200] },
          backend: tc.target,
          namespace: ns,
        });
      });
    }
  },
};
