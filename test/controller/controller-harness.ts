/** A Controller against the fake API server, recording what it publishes, for the controller tests. */
import type { TestContext } from 'node:test';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { createLogger } from '../../src/common/log.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { ControllerOptions } from '../../src/controller/controller.ts';
import type { ServiceObject } from '../../src/controller/objects.ts';
import type { Diagnostic, TableContent } from '../../src/controller/translation/types.ts';
import { SHADOW_OF_ANNOTATION } from '../../src/controller/constants.ts';
import type { FakeApiServer } from '../support/fake-apiserver.ts';
import { waitFor } from '../support/kube.ts';

export const MESH = 'hostmesh';
export const PROXY_SELECTOR = { 'app.kubernetes.io/name': 'hostmesh', 'app.kubernetes.io/component': 'proxy' };

export interface Published {
  content: TableContent;
  diagnostics: Diagnostic[];
  /** The cluster ids a patched translation said it replaced (absent: a full translation). */
  patched?: string[];
}

export interface Running {
  controller: Controller;
  published: Published[];
  latest(): Published;
  /** Waits until the latest published table satisfies `check`. */
  until(what: string, check: (p: Published) => boolean): Promise<Published>;
  stop(): Promise<void>;
}

/**
 * The controller's diagnostics without the notes that an optional CRD is absent (the fake API
 * server serves no SMI kind unless asked, so those notes are always there).
 */
export function problems(controller: Controller): ReturnType<Controller['diagnostics']> {
  return controller.diagnostics().filter((d) => !(d.severity === 'info' && d.code === 'crd-absent'));
}

/** Creates (does not start) a controller on `fake` with test-sized timings; stopped when the test ends. */
export function makeController(t: TestContext, fake: FakeApiServer, options: Partial<ControllerOptions> = {}): Running {
  const published: Published[] = [];
  const controller = new Controller({
    kubeConfig: fake.kubeconfig(),
    meshNamespace: MESH,
    proxySelector: PROXY_SELECTOR,
    zones: ['hostmesh'],
    portRange: [10000, 10999],
    patchDns: false,
    publish: (content, diagnostics, changes) => published.push({
      content: structuredClone(content),
      diagnostics: structuredClone(diagnostics),
      ...(changes === undefined ? {} : { patched: changes.clusters.map((c) => c.id) }),
    }),
    log: createLogger('controller-test'),
    backoff: { minMs: 10, maxMs: 100 },
    coalesceMs: 5,
    instance: 'controller-test-0',
    ...options,
  });
  t.after(() => controller.stop());
  const latest = (): Published => {
    const p = published.at(-1);
    if (!p) throw new Error('nothing published yet');
    return p;
  };
  return {
    controller,
    published,
    latest,
    until: (what, check) => waitFor(what, () => {
      const p = published.at(-1);
      return p !== undefined && check(p) ? p : undefined;
    }),
    stop: () => controller.stop(),
  };
}

/** Creates and starts a controller; resolves after its first publish. */
export async function startController(t: TestContext, fake: FakeApiServer, options: Partial<ControllerOptions> = {}): Promise<Running> {
  const running = makeController(t, fake, options);
  await running.controller.start();
  return running;
}

/** The shadow Services in the mesh namespace, by the `namespace/name` they stand for. */
export function shadowsOf(fake: FakeApiServer): Map<string, ServiceObject> {
  const out = new Map<string, ServiceObject>();
  for (const svc of fake.list<ServiceObject>('services', MESH)) {
    const owner = svc.metadata.annotations?.[SHADOW_OF_ANNOTATION];
    if (owner !== undefined) out.set(owner, svc);
  }
  return out;
}

/** The listener port of route `namespace/name:port` in a table. */
export function listenerPort(content: TableContent, route: string): number | undefined {
  return content.listeners.find((l) => l.route === route)?.port;
}

/** Writes counted by the fake server for Services in the mesh namespace. */
export function shadowWrites(fake: FakeApiServer): { create: number; update: number; patch: number; delete: number } {
  const of = (verb: string): number => fake.requests.filter((r) => r.verb === verb && r.resource === 'services' && r.namespace === MESH).length;
  return { create: of('create'), update: of('update'), patch: of('patch'), delete: of('delete') };
}

/** Objects of a golden DNS fixture (test/golden/corefile/<name>/observed.yaml), without server fields. */
export function dnsFixture(name: string): { kind: string; metadata: { name: string; namespace?: string; resourceVersion?: string } }[] {
  const path = new URL(`../golden/corefile/${name}/observed.yaml`, import.meta.url).pathname;
  return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => {
    const obj = d.toJS() as { kind: string; metadata: { name: string; namespace?: string; resourceVersion?: string } };
    delete obj.metadata.resourceVersion;
    return obj;
  });
}

/** Loads a golden DNS fixture into the fake server. */
export function seedDns(fake: FakeApiServer, name: string): void {
  for (const obj of dnsFixture(name)) fake.create(obj.kind === 'Deployment' ? 'deployments' : 'configmaps', obj);
}
