/**
 * SMI end to end through `hostmesh standalone`, with Traefik Mesh's whoami example as a user
 * has it (examples/smi: smi.yaml unchanged; whoami.yaml's backend ports pointed at this test's
 * loopback backends). Clients bind distinct 127.0.0.x addresses listed as Pods, so the proxy
 * sees them as different ServiceAccounts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { client, get, httpBackend } from '../proxy/helpers.ts';
import { withStandalone } from '../support/standalone.ts';
import type { StandaloneFixture } from '../support/standalone.ts';
import type { StandaloneOptions } from '../../src/cli/standalone.ts';
import type { TestContext } from 'node:test';
import { tcpBackend } from '../proxy/l4-fixtures.ts';

const EXAMPLE = new URL('../../examples/smi/', import.meta.url).pathname;

interface Whoami {
  mesh: StandaloneFixture;
  /** Bytes the TCP backend received, and connections it accepted. */
  tcp: { received: number; accepted: number };
}

/** The example with its backends started here: v1 and v2 answer their name and the path. */
async function whoami(t: TestContext, opts: Partial<StandaloneOptions> = {}): Promise<Whoami> {
  const v1 = await httpBackend(t, (req, res) => res.end(`v1 ${req.method} ${req.url}`));
  const v2 = await httpBackend(t, (req, res) => res.end(`v2 ${req.method} ${req.url}`));
  const tcp = { received: 0, accepted: 0 };
  const echo = await tcpBackend(t, (s) => {
    tcp.accepted++;
    s.on('data', (d: Buffer) => { tcp.received += d.length; s.write(d); });
    s.on('end', () => s.end());
  });
  const manifests = readFileSync(`${EXAMPLE}whoami.yaml`, 'utf8')
    .replaceAll('9101', String(v1.port)).replaceAll('9102', String(v2.port)).replaceAll('9103', String(echo.port));
  const mesh = await withStandalone(t, { 'whoami.yaml': manifests, 'smi.yaml': readFileSync(`${EXAMPLE}smi.yaml`, 'utf8') }, opts);
  return { mesh, tcp };
}

test('the example translates without a warning; its TrafficSplit sends 20% of 2,000 requests to v2 (within 5 points)', async (t) => {
  const { mesh } = await whoami(t);
  assert.deepEqual(mesh.mesh.diagnostics().filter((d) => d.severity !== 'info'), []);
  const c = client(t);
  const url = `${mesh.url('whoami/whoami:80')}/api`;
  let v2 = 0;
  for (let i = 0; i < 2000; i++) {
    const r = await get(c, url);
    assert.equal(r.status, 200);
    if (r.body.startsWith('v2 ')) v2++;
  }
  const share = v2 / 2000;
  assert.ok(Math.abs(share - 0.2) <= 0.05, `v2 got ${(share * 100).toFixed(1)}%`);
});

