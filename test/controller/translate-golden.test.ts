/**
 * Golden tests for translation: each directory under test/golden/translate holds `input.yaml`
 * (Kubernetes objects, plus optional `golden.hostmesh.io/v1` Options and Step documents),
 * `table.json` (the content of each step) and `diagnostics.json`. Steps run in order and carry
 * memory and port allocations over, so last-good behaviour and port stability are visible.
 *
 * Each step is also translated from its objects as the Kubernetes source stores them: with what
 * a real API server adds (managed fields, status, the kubectl apply copy, ...) and then cut by
 * the informers' trim (kube/trim.ts); the result must be the same table and diagnostics.
 *
 * Regenerate with `HOSTMESH_UPDATE_GOLDEN=1 npx node --test test/controller/translate-golden.test.ts`
 * and read the diff before committing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { TABLE_FORMAT, formatProblems, validateTable } from '../../src/table/index.ts';
import type { PortId, ServiceId } from '../../src/table/index.ts';
import { parseManifests, parsedState } from '../../src/controller/source/manifests.ts';
import { Translator } from '../../src/controller/translation/translator.ts';
import type { TranslateOptions } from '../../src/controller/translation/types.ts';
import type { ClusterState } from '../../src/controller/objects.ts';
import { LAST_APPLIED_ANNOTATION, trimEndpointSlice, trimPod, trimService } from '../../src/controller/kube/trim.ts';

const GOLDEN_DIR = new URL('../golden/translate/', import.meta.url).pathname;
const UPDATE = process.env.HOSTMESH_UPDATE_GOLDEN === '1';
const GOLDEN_API = 'golden.hostmesh.io/v1';

interface GoldenOptions {
  mode?: 'standalone' | 'cluster';
  portRange?: [number, number];
  zones?: string[];
  dnsTtl?: number;
  watchNamespaces?: string[];
  ignoreNamespaces?: string[];
  meshNamespace?: string;
  shadowAddresses?: Record<ServiceId, string[]>;
  /** ACL mode (SMI TrafficTargets -> access policies). */
  acl?: boolean;
  /** Allocations that exist before the first step. */
  ports?: Record<PortId, number>;
}

interface Step {
  name: string;
  options: GoldenOptions;
  state: ClusterState;
}

function loadCase(dir: string): { steps: Step[]; ports: Map<PortId, number> } {
  const text = readFileSync(join(dir, 'input.yaml'), 'utf8');
  let base: GoldenOptions = {};
  const raw: { name: string; overrides: GoldenOptions; docs: string[] }[] = [];
  for (const doc of [parseAllDocuments(text)].flat()) {
    assert.deepEqual(doc.errors, [], `${dir}input.yaml is not valid YAML`);
    const value = doc.toJS() as Record<string, unknown> | null;
    if (value?.apiVersion === GOLDEN_API && value.kind === 'Options') base = { ...base, ...(value as GoldenOptions) };
    else if (value?.apiVersion === GOLDEN_API && value.kind === 'Step') {
      raw.push({ name: String(value.name ?? raw.length + 1), overrides: (value.options ?? {}) as GoldenOptions, docs: [] });
    } else if (value !== null) {
      if (raw.length === 0) raw.push({ name: '1', overrides: {}, docs: [] });
      raw.at(-1)!.docs.push(doc.toString());
    }
  }
  const steps = raw.map((r) => {
    const parsed = parseManifests('input.yaml', r.docs.join('---\n'));
    assert.equal(parsed.fatal, undefined);
    assert.deepEqual(parsed.diagnostics, [], 'golden inputs hold well-formed objects only');
    return {
      name: r.name,
      options: { ...base, ...r.overrides },
      state: parsedState(parsed),
    };
  });
  return { steps, ports: new Map(Object.entries(base.ports ?? {})) };
}

function translateOptions(o: GoldenOptions): TranslateOptions {
  const options: TranslateOptions = { mode: o.mode ?? 'standalone', portRange: o.portRange ?? [15000, 15099] };
  if (o.zones) options.zones = o.zones;
  if (o.dnsTtl !== undefined) options.dnsTtl = o.dnsTtl;
  if (o.watchNamespaces) options.watchNamespaces = o.watchNamespaces;
  if (o.ignoreNamespaces) options.ignoreNamespaces = o.ignoreNamespaces;
  if (o.meshNamespace) options.meshNamespace = o.meshNamespace;
  if (o.acl !== undefined) options.acl = o.acl;
  if (o.shadowAddresses) options.shadowAddresses = new Map(Object.entries(o.shadowAddresses));
  return options;
}

function reversed(state: ClusterState): ClusterState {
  return Object.fromEntries(Object.entries(state).map(([k, v]) => [k, (v as unknown[]).toReversed()])) as unknown as ClusterState;
}

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> & { annotations?: Record<string, string> } };

/** What a real API server adds to an object besides what translation reads. */
function asServed(o: Obj): Obj {
  return {
    ...o,
    metadata: {
      ...o.metadata,
      creationTimestamp: '2026-01-01T00:00:00Z',
      managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': {} } }],
      ownerReferences: [{ apiVersion: 'v1', kind: 'Thing', name: 'owner', uid: 'u1' }],
      annotations: { ...o.metadata.annotations, [LAST_APPLIED_ANNOTATION]: JSON.stringify(o) },
    },
  };
}

/** A golden step's objects as the Kubernetes source's informers keep them. */
function asStored(state: ClusterState): ClusterState {
  const each = <T>(list: T[] | undefined, f: (o: Obj) => unknown): T[] | undefined => list?.map((o) => f(o as unknown as Obj) as T);
  const out: ClusterState = {
    ...state,
    services: each(state.services, (o) => trimService({ ...asServed(o), status: { loadBalancer: {} } }))!,
    endpointSlices: each(state.endpointSlices, (o) => trimEndpointSlice({
      ...asServed(o),
      endpoints: Array.isArray(o.endpoints)
        ? (o.endpoints as Record<string, unknown>[]).map((e) => ({ ...e, hostname: 'h', hints: { forZones: [] }, ...(e.targetRef ? { targetRef: { ...e.targetRef as object, uid: 'u2' } } : {}) }))
        : o.endpoints,
    }))!,
  };
  const pods = each(state.pods, (o) => trimPod({
    ...asServed(o),
    spec: { ...o.spec as object, containers: [{ name: 'c', image: 'i' }], volumes: [] },
    status: { ...o.status as object, conditions: [{ type: 'Ready', status: 'True' }], hostIP: '192.0.2.1' },
  }));
  if (pods !== undefined) out.pods = pods;
  return out;
}

const cases = readdirSync(GOLDEN_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).toSorted();

test('there are golden cases', () => {
  assert.ok(cases.length >= 20, `found ${cases.length} cases`);
});

for (const name of cases) {
  test(`golden translate: ${name}`, () => {
    const dir = join(GOLDEN_DIR, name);
    const { steps, ports: initialPorts } = loadCase(dir);
    const translator = new Translator(translateOptions({}), initialPorts);
    const stored = new Translator(translateOptions({}), initialPorts);
    const tables: unknown[] = [];
    const diagnostics: unknown[] = [];
    const statuses: unknown[] = [];
    for (const step of steps) {
      const options = translateOptions(step.options);
      // Before translate() keeps this step's memory and ports: the same input, reversed.
      const again = translator.preview(reversed(step.state), options);
      const result = translator.translate(step.state, options);
      const fromStored = stored.translate(asStored(step.state), options);
      assert.deepEqual(fromStored.content, result.content, `step ${step.name}: trimmed informer objects translate to another table`);
      assert.deepEqual(fromStored.diagnostics, result.diagnostics, `step ${step.name}: trimmed informer objects translate to other diagnostics`);

      const table = { format: TABLE_FORMAT, epoch: 'golden', version: 1, generatedAt: new Date(0).toISOString(), ...result.content };
      const valid = validateTable(JSON.parse(JSON.stringify(table)));
      assert.ok(valid.ok, `step ${step.name}: the table is refused: ${valid.ok ? '' : formatProblems(valid.problems)}`);

      if (!result.diagnostics.some((d) => d.code === 'service-duplicate')) {
        assert.deepEqual(again.content, result.content, `step ${step.name}: the output depends on input order`);
      }

      tables.push({ step: step.name, ...result.content });
      diagnostics.push({ step: step.name, diagnostics: result.diagnostics });
      if ((result.routeStatus?.length ?? 0) > 0) statuses.push({ step: step.name, routes: result.routeStatus });
    }
    compareOrWrite(join(dir, 'table.json'), tables);
    compareOrWrite(join(dir, 'diagnostics.json'), diagnostics);
    // Gateway API cases: the route status each step would write (status.json).
    if (statuses.length > 0 || existsSync(join(dir, 'status.json'))) compareOrWrite(join(dir, 'status.json'), statuses);
  });
}

function compareOrWrite(path: string, actual: unknown): void {
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (UPDATE) {
    writeFileSync(path, text);
    return;
  }
  assert.ok(existsSync(path), `${path} is missing; run with HOSTMESH_UPDATE_GOLDEN=1 to create it`);
  assert.deepEqual(JSON.parse(text), JSON.parse(readFileSync(path, 'utf8')), `${path} differs; if the change is intended, regenerate with HOSTMESH_UPDATE_GOLDEN=1 and review the diff`);
}
