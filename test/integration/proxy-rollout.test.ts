/**
 * A proxy replaced under steady load loses no request: the new `hostmesh proxy` process binds
 * the same mesh port (SO_REUSEPORT) next to the old one, the old one gets SIGTERM and runs its
 * shutdown sequence (not ready at once, serve through the delay, stop accepting, drain), and
 * every request of the load succeeds throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { saveState } from '../../src/proxy/config/state.ts';
import { closedPort } from '../proxy/l4-fixtures.ts';
import { freePort, httpBackend, svc, table } from '../proxy/helpers.ts';
import { until } from '../support/until.ts';
import { spawnCli } from './cli-process.ts';
import type { CliProcess } from './cli-process.ts';

async function startProxy(t: Parameters<typeof spawnCli>[0], dir: string, controller: number): Promise<{ proc: CliProcess; admin: string }> {
  const proc = spawnCli(t, [
    'proxy', `--controller=http://127.0.0.1:${controller}`, '--node=n1', `--token-file=${join(dir, 'token')}`, `--state-dir=${join(dir, 'state')}`,
    '--bind=127.0.0.1', '--admin=127.0.0.1:0', '--dns=127.0.0.1:0', '--workers=1', '--shutdown-delay=1', '--drain-timeout=5', '--log-level=warn',
  ]);
  const admin = `http://127.0.0.1:${(await proc.line(/^admin: http:\/\/127\.0\.0\.1:(\d+)/, 'stdout', 60_000))[1]}`;
  return { proc, admin };
}

async function status(url: string): Promise<number> {
  try {
    const r = await request(url);
    await r.body.dump();
    return r.statusCode;
  } catch {
    return 0;
  }
}

test('a proxy replaced under steady load (old and new on the same port) fails no request', { timeout: 120_000 }, async (t) => {
  const backend = await httpBackend(t, (_req, res) => res.end('ok'));
  const port = await freePort();
  const routing = table([{ cluster: svc('web', [backend.port]), listenPort: port }]);
  const dirs = [mkdtempSync(join(tmpdir(), 'hostmesh-rollout-old-')), mkdtempSync(join(tmpdir(), 'hostmesh-rollout-new-'))];
  t.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  for (const d of dirs) {
    writeFileSync(join(d, 'token'), 'rollout-token\n');
    // Fail static: each proxy serves its saved table with no controller to ask.
    await saveState(join(d, 'state'), routing);
  }
  const controller = await closedPort();
  const old = await startProxy(t, dirs[0]!, controller);
  assert.equal(await status(`${old.admin}/readyz`), 200);

  // Steady load: 4 clients in a loop over keep-alive connections, bounded in count and time.
  const agent = new Agent({ connections: 4, keepAliveTimeout: 10_000 });
  t.after(() => agent.close());
  const state = { ok: 0, stop: false };
  const failures: string[] = [];
  const deadline = Date.now() + 60_000;
  const client = async (): Promise<void> => {
    for (let i = 0; i < 20_000 && !state.stop && Date.now() < deadline; i++) {
      try {
        const r = await request(`http://127.0.0.1:${port}/`, { dispatcher: agent });
        const body = await r.body.text();
        if (r.statusCode === 200 && body === 'ok') state.ok++;
        else failures.push(`${r.statusCode} ${body}`);
      } catch (e) {
        failures.push(String(e));
      }
    }
  };
  const load = Promise.all([client(), client(), client(), client()]);
  const waitFor = (n: number): Promise<void> => {
    const target = state.ok + n;
    return until(`${n} more requests`, () => state.ok >= target || failures.length > 0, 60_000);
  };
  await waitFor(200);

  // The new proxy starts next to the old one on the same mesh port.
  const next = await startProxy(t, dirs[1]!, controller);
  assert.equal(await status(`${next.admin}/readyz`), 200);
  await waitFor(200);

  // The old one is told to stop: not ready first, then it drains and exits.
  old.proc.child.kill('SIGTERM');
  let sawNotReady = false;
  for (let i = 0; i < 200 && !sawNotReady; i++) {
    if (await status(`${old.admin}/readyz`) === 503) sawNotReady = true;
    else await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const exit = await old.proc.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, old.proc.stderr.join('\n'));
  assert.ok(sawNotReady, 'readiness turned false before the old proxy exited');
  const served = state.ok;
  await waitFor(300);
  state.stop = true;
  await load;

  assert.deepEqual(failures, [], 'no request failed over the replacement');
  assert.ok(state.ok >= served + 300, `the new proxy carries the load after the old one exited (${state.ok} ok)`);
  await next.proc.stop('SIGTERM');
});
