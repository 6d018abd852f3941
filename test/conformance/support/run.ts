/**
 * Runs ported conformance tests against one conformance mesh: one node:test test per upstream
 * test, named by its short name (the report script reads the results by that name), each
 * applying its manifests, running its cases as subtests, and removing its manifests again.
 */
import { after, before, test } from 'node:test';
import { startConformanceMesh } from './mesh.ts';
import type { ConformanceMesh } from './mesh.ts';
import type { ConformanceTest } from './suite.ts';

export function runConformance(tests: readonly ConformanceTest[]): void {
  let mesh: ConformanceMesh | undefined;
  const cleanups: (() => unknown)[] = [];
  before(async () => {
    mesh = await startConformanceMesh({ after: (fn: () => unknown) => { cleanups.push(fn); } } as never);
  });
  after(async () => {
    for (const fn of cleanups.toReversed()) await fn();
  });
  for (const ct of tests) {
    test(ct.shortName, { timeout: 120_000 }, async (t) => {
      await mesh!.apply(ct.manifests);
      try {
        await ct.run(mesh!, t);
      } finally {
        await mesh!.clear();
      }
    });
  }
}
