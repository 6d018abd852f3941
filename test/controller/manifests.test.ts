import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { isHostmeshError } from '../../src/common/errors.ts';
import { loadManifests, openManifestSource, parseManifests } from '../../src/controller/source/manifests.ts';
import type { ManifestSnapshot } from '../../src/controller/source/manifests.ts';
import { until } from '../support/until.ts';

const service = (name: string, extra = '') => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: test${extra}
spec:
  ports:
    - port: 80
`;

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-manifests-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const names = (s: ManifestSnapshot) => s.state.services.map((x) => `${x.metadata.namespace}/${x.metadata.name}`);

test('a file holds several documents of several kinds; only Services and EndpointSlices are read', () => {
  const text = `# leading comment
apiVersion: v1
kind: Service
metadata:
  name: plain
  annotations:
    hostmesh.io/retry-count: 2
    hostmesh.io/mesh: true
spec:
  ports: [{ port: 80 }]
---
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: plain }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: plain-1
  labels: { kubernetes.io/service-name: plain }
addressType: IPv4
endpoints: [{ addresses: [127.0.0.1] }]
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: { name: listed, namespace: other }
`;
  const r = parseManifests('demo.yaml', text);
  assert.equal(r.fatal, undefined);
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.services.map((s) => [s.object.metadata.namespace, s.object.metadata.name, s.line]), [['default', 'plain', 2], ['other', 'listed', 25]]);
  assert.deepEqual(r.services[0]!.object.metadata.annotations, { 'hostmesh.io/retry-count': '2', 'hostmesh.io/mesh': 'true' });
  assert.deepEqual(r.endpointSlices.map((s) => [s.object.metadata.namespace, s.object.metadata.name, s.line]), [['default', 'plain-1', 17]]);
  assert.deepEqual(r.ignored, [{ apiVersion: 'apps/v1', kind: 'Deployment', line: 13 }]);
});

test('objects that cannot be used are reported with their line and skipped', () => {
  const text = `just a string
---
kind: Service
---
apiVersion: v1
kind: Service
metadata: { namespace: test }
---
apiVersion: v1
kind: Service
metadata: { name: bad-ports }
spec: { ports: 80 }
---
apiVersion: v1
kind: Service
metadata: { name: bad-annotation, annotations: { hostmesh.io/retry-count: { n: 2 } } }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: s, namespace: 7 }
`;
  const r = parseManifests('bad.yaml', text);
  assert.equal(r.fatal, undefined);
  assert.deepEqual(r.services, []);
  assert.deepEqual(r.diagnostics.map((d) => [d.code, d.line, d.message]), [
    ['manifest-invalid-object', 1, 'bad.yaml:1: the document is not an object; the object is skipped'],
    ['manifest-invalid-object', 3, 'bad.yaml:3: the object has no apiVersion and kind; the object is skipped'],
    ['manifest-invalid-object', 5, 'bad.yaml:5: Service: metadata.name is missing; the object is skipped'],
    ['manifest-invalid-object', 9, 'bad.yaml:9: Service bad-ports: spec.ports is not a list; the object is skipped'],
    ['manifest-invalid-object', 14, 'bad.yaml:14: Service bad-annotation: metadata.annotations.hostmesh.io/retry-count is not a string; the object is skipped'],
    ['manifest-invalid-object', 18, 'bad.yaml:18: EndpointSlice s: metadata.namespace is not a string; the object is skipped'],
  ]);
});

test('a YAML syntax error makes the whole file unusable and names its line', () => {
  const r = parseManifests('broken.yaml', `${service('a')}---\napiVersion: v1\nkind: Service\nmetadata: { name: [b\n`);
  assert.equal(r.fatal?.code, 'manifest-parse-error');
  assert.equal(r.fatal?.line, 13);
  assert.match(r.fatal!.message, /^broken\.yaml:13: not valid YAML: /);
  assert.ok(!r.fatal!.message.includes('\n'));
});

test('property: parsing any text never throws', () => {
  const yamlish = fc.string({ unit: fc.constantFrom(...'ab: -\n[]{}&*!|>\'"#%@`,?0 \t'.split('')), maxLength: 60 });
  fc.assert(fc.property(fc.oneof(fc.string(), yamlish), (text) => {
    const r = parseManifests('x.yaml', text);
    if (r.fatal) assert.ok(r.fatal.message.startsWith('x.yaml'));
  }), { numRuns: 1000 });
});

test('a directory is read recursively: *.yaml and *.yml, hidden entries and other files skipped', (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'nested', 'deeper'), { recursive: true });
  mkdirSync(join(dir, '..2024_01_01'));
  writeFileSync(join(dir, 'a.yaml'), service('a'));
  writeFileSync(join(dir, 'nested', 'b.yml'), service('b'));
  writeFileSync(join(dir, 'nested', 'deeper', 'c.YAML'), service('c'));
  writeFileSync(join(dir, 'notes.txt'), service('txt'));
  writeFileSync(join(dir, '.a.yaml.swp'), service('swap'));
  writeFileSync(join(dir, '..2024_01_01', 'd.yaml'), service('d'));
  symlinkSync(join(dir, '..2024_01_01', 'd.yaml'), join(dir, 'd.yaml'));
  symlinkSync(join(dir, 'nowhere.yaml'), join(dir, 'dangling.yaml'));
  return loadManifests(dir).then((s) => {
    assert.deepEqual(names(s), ['test/a', 'test/d', 'test/b', 'test/c']);
    assert.equal(s.files, 4);
    assert.deepEqual(s.diagnostics, []);
  });
});

test('a single file can stand for the directory', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'one.yaml'), service('one'));
  assert.deepEqual(names(await loadManifests(join(dir, 'one.yaml'))), ['test/one']);
});

test('at start, a missing directory or an unparseable file is one error line', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(loadManifests(join(dir, 'missing')), (e: unknown) => {
    assert.ok(isHostmeshError(e, 'manifests-unreadable'));
    assert.match(e.message, /^cannot read the manifest directory .*missing: ENOENT/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
  writeFileSync(join(dir, 'bad.yaml'), 'a: [\n');
  await assert.rejects(loadManifests(dir), (e: unknown) => {
    assert.ok(isHostmeshError(e, 'manifests-invalid'));
    assert.match(e.message, /bad\.yaml:\d+: not valid YAML/);
    return true;
  });
});

test('at start, an unreadable file is an error', { skip: process.getuid?.() === 0 ? 'root reads any file' : false }, async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'secret.yaml'), service('s'));
  chmodSync(join(dir, 'secret.yaml'), 0o000);
  await assert.rejects(loadManifests(dir), (e: unknown) => isHostmeshError(e, 'manifests-unreadable') && /secret\.yaml: cannot read the file/.test(e.message));
});

test('later, a broken file keeps its last good objects until it is fixed, and deleted files drop theirs', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.yaml'), service('a'));
  writeFileSync(join(dir, 'b.yaml'), service('b'));
  const seen: ManifestSnapshot[] = [];
  const source = await openManifestSource({ dir, onChange: (s) => seen.push(s), rescanIntervalMs: 60_000, debounceMs: 60_000 });
  t.after(() => source.stop());
  assert.deepEqual(names(source.snapshot()), ['test/a', 'test/b']);
  assert.equal(await source.rescan(), false, 'nothing changed');

  writeFileSync(join(dir, 'a.yaml'), `${service('a')}---\n${service('a2')}`);
  assert.equal(await source.rescan(), true);
  assert.deepEqual(names(seen.at(-1)!), ['test/a', 'test/a2', 'test/b']);

  writeFileSync(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: [\n');
  assert.equal(await source.rescan(), true);
  const broken = seen.at(-1)!;
  assert.deepEqual(names(broken), ['test/a', 'test/a2', 'test/b']);
  assert.equal(broken.diagnostics.length, 1);
  assert.equal(broken.diagnostics[0]!.code, 'manifest-parse-error');
  assert.match(broken.diagnostics[0]!.message, /a\.yaml:\d+: not valid YAML: .*; its last good objects are kept$/);

  writeFileSync(join(dir, 'a.yaml'), service('a3'));
  assert.equal(await source.rescan(), true);
  assert.deepEqual(names(source.snapshot()), ['test/a3', 'test/b']);
  assert.deepEqual(source.snapshot().diagnostics, []);

  unlinkSync(join(dir, 'b.yaml'));
  assert.equal(await source.rescan(), true);
  assert.deepEqual(names(source.snapshot()), ['test/a3']);
  assert.equal(seen.length, 4);
});

test('a file that is new and already broken contributes nothing and is reported', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.yaml'), service('a'));
  const source = await openManifestSource({ dir, onChange: () => {}, rescanIntervalMs: 60_000, debounceMs: 60_000 });
  t.after(() => source.stop());
  writeFileSync(join(dir, 'new.yaml'), 'kind: [');
  await source.rescan();
  assert.deepEqual(names(source.snapshot()), ['test/a']);
  assert.match(source.snapshot().diagnostics[0]!.message, /new\.yaml:\d+: .*; nothing from it is used$/);
});

test('an object defined in two files is used once, from the first file in path order', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.yaml'), service('same', '\n  labels: { from: a }'));
  writeFileSync(join(dir, 'b.yaml'), `${service('other')}---\n${service('same', '\n  labels: { from: b }')}`);
  const s = await loadManifests(dir);
  assert.deepEqual(names(s), ['test/same', 'test/other']);
  assert.deepEqual(s.state.services[0]!.metadata.labels, { from: 'a' });
  assert.equal(s.diagnostics.length, 1);
  assert.equal(s.diagnostics[0]!.code, 'manifest-duplicate');
  assert.match(s.diagnostics[0]!.message, /b\.yaml:10: Service test\/same is already defined at .*a\.yaml:1; this definition is ignored/);
});

test('file changes are picked up by the watcher without an explicit rescan', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'a.yaml'), service('a'));
  const changed = Promise.withResolvers<ManifestSnapshot>();
  const source = await openManifestSource({ dir, onChange: (s) => changed.resolve(s), debounceMs: 20, rescanIntervalMs: 60_000 });
  t.after(() => source.stop());
  writeFileSync(join(dir, 'sub', 'b.yaml'), service('b'));
  // Safety net only: the watcher normally reports within milliseconds.
  const timer = setTimeout(() => changed.reject(new Error('no change seen within 10 s')), 10_000);
  t.after(() => clearTimeout(timer));
  const s = await changed.promise;
  assert.deepEqual(names(s), ['test/a', 'test/b']);
});

test('files an editor replaces by rename are picked up by the watcher every time, in subdirectories and single-file mode too', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'a.yaml'), service('a'));
  writeFileSync(join(dir, 'sub', 'b.yaml'), service('b'));
  let latest: string[] = [];
  // No periodic rescan in this test: only the watcher can see the edits.
  const source = await openManifestSource({ dir, onChange: (s) => { latest = names(s); }, debounceMs: 20, rescanIntervalMs: 3_600_000 });
  t.after(() => source.stop());
  // vim, VS Code and friends: write a temporary file, then rename it over the original.
  const save = (path: string, text: string): void => {
    writeFileSync(`${path}.swp~`, text);
    renameSync(`${path}.swp~`, path);
  };
  const edits: [string, string, string[]][] = [
    [join(dir, 'sub', 'b.yaml'), service('b2'), ['test/a', 'test/b2']],
    [join(dir, 'sub', 'b.yaml'), service('b3'), ['test/a', 'test/b3']],
    [join(dir, 'a.yaml'), service('a2'), ['test/a2', 'test/b3']],
    [join(dir, 'a.yaml'), service('a3'), ['test/a3', 'test/b3']],
  ];
  for (const [path, text, expected] of edits) {
    save(path, text);
    await until(`${expected.join(',')} after a rename-save`, () => latest.join() === expected.join());
  }
  // A new subdirectory is watched from the scan that found it.
  mkdirSync(join(dir, 'new'));
  writeFileSync(join(dir, 'new', 'c.yaml'), service('c'));
  await until('the new directory', () => latest.includes('test/c'));
  save(join(dir, 'new', 'c.yaml'), service('c2'));
  await until('an edit in the new directory', () => latest.includes('test/c2'));

  const file = join(dir, 'a.yaml');
  let single: string[] = [];
  const one = await openManifestSource({ dir: file, onChange: (s) => { single = names(s); }, debounceMs: 20, rescanIntervalMs: 3_600_000 });
  t.after(() => one.stop());
  for (const n of ['a4', 'a5']) {
    save(file, service(n));
    await until(`single file ${n}`, () => single.join() === `test/${n}`);
  }
});

test('after close, changes are no longer reported', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.yaml'), service('a'));
  let calls = 0;
  const source = await openManifestSource({ dir, onChange: () => { calls++; }, debounceMs: 60_000, rescanIntervalMs: 60_000 });
  await source.stop();
  writeFileSync(join(dir, 'a.yaml'), service('b'));
  assert.equal(await source.rescan(), false);
  assert.equal(calls, 0);
});

test('later, a directory that disappears keeps the last objects and is reported until it is back', async (t) => {
  const parent = tempDir(t);
  const dir = join(parent, 'manifests');
  mkdirSync(dir);
  writeFileSync(join(dir, 'a.yaml'), service('a'));
  const source = await openManifestSource({ dir, onChange: () => {}, debounceMs: 60_000, rescanIntervalMs: 60_000 });
  t.after(() => source.stop());
  rmSync(dir, { recursive: true });
  assert.equal(await source.rescan(), true);
  assert.deepEqual(names(source.snapshot()), ['test/a']);
  assert.equal(source.snapshot().diagnostics[0]?.code, 'manifest-unreadable');
  assert.match(source.snapshot().diagnostics[0]!.message, /cannot read the manifest directory .*; the last objects read are kept/);
  mkdirSync(dir);
  writeFileSync(join(dir, 'b.yaml'), service('b'));
  await source.rescan();
  assert.deepEqual(names(source.snapshot()), ['test/b']);
  assert.deepEqual(source.snapshot().diagnostics, []);
});

test('Gateway API routes, ReferenceGrants and Pods are read; a malformed one is skipped with its line', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'routes.yaml'), `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web, namespace: shop }
spec:
  parentRefs: [{ group: "", kind: Service, name: web, port: 80 }]
  rules: [{ backendRefs: [{ name: web-v2, port: 80 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: rpc }
spec:
  parentRefs: [{ kind: Service, name: rpc }]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: from-front, namespace: shop }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: front }]
  to: [{ group: "", kind: Service }]
---
apiVersion: v1
kind: Pod
metadata: { name: client-1, namespace: front }
spec: { serviceAccountName: client }
status: { phase: Running, podIPs: [{ ip: 10.1.0.7 }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: broken }
spec: { parentRefs: { name: web } }
`);
  const s = await loadManifests(dir);
  const ids = (list: readonly { metadata: { namespace?: string; name: string } }[] | undefined) => (list ?? []).map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
  assert.deepEqual(ids(s.state.httpRoutes), ['shop/web']);
  assert.deepEqual(ids(s.state.grpcRoutes), ['default/rpc']);
  assert.deepEqual(ids(s.state.referenceGrants), ['shop/from-front']);
  assert.deepEqual(ids(s.state.pods), ['front/client-1']);
  assert.deepEqual(s.diagnostics.map((d) => [d.code, d.line, d.message.replace(`${dir}/`, '')]), [
    ['manifest-invalid-object', 27, 'routes.yaml:27: HTTPRoute broken: spec.parentRefs is not a list; the object is skipped'],
  ]);
});
