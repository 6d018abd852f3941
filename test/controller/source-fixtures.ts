/** A KubernetesSource on a fake API server, recording its snapshots and log, for the source tests. */
import type { TestContext } from 'node:test';
import { KubernetesSource } from '../../src/controller/source/kubernetes.ts';
import type { KubernetesSourceOptions } from '../../src/controller/source/kubernetes.ts';
import type { ClusterState } from '../../src/controller/objects.ts';
import { captureLogger } from './push-fixtures.ts';
import type { FakeApiServer, FakeApiServerOptions } from '../support/fake-apiserver.ts';
import { startFakeApiServer, waitFor } from '../support/kube.ts';

/**
 * Starts the fake (seeded by `seed` before the source starts) and a source polling absent CRDs
 * every 30 ms; resolves once the source has synced. Everything stops when the test ends.
 */
export async function openSource(t: TestContext, fakeOptions: FakeApiServerOptions, options: Partial<KubernetesSourceOptions> = {}, seed?: (fake: FakeApiServer) => void) {
  const fake = await startFakeApiServer(t, fakeOptions);
  seed?.(fake);
  const { log: logger, lines } = captureLogger();
  const source = new KubernetesSource({ kubeConfig: fake.kubeconfig(), backoff: { minMs: 10, maxMs: 100 }, crdPollMs: 30, logger, ...options });
  const snapshots: ClusterState[] = [];
  source.on('change', (s) => snapshots.push(s));
  t.after(() => source.stop());
  await source.start();
  await source.synced;
  /** Waits until the latest snapshot satisfies `check`. */
  const until = (what: string, check: (s: ClusterState) => boolean) => waitFor(what, () => {
    const last = snapshots.at(-1);
    return last !== undefined && check(last) ? last : undefined;
  });
  return { fake, source, lines, until };
}
