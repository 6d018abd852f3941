/**
 * `hostmesh standalone --state-dir`: the port allocation and the port quarantine outlive a
 * restart (issue 16, finding 8). A port freed before the restart, or by a Service deleted while
 * standalone was stopped, is not given to another Service by the restarted one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStandalone } from '../../src/cli/standalone.ts';
import type { StandaloneMesh } from '../../src/cli/standalone.ts';
import { createLogger } from '../../src/common/log.ts';
import { STANDALONE_STATE_FILE } from '../../src/controller/standalone.ts';
import { service } from '../support/standalone.ts';
import { captureLogger } from '../controller/push-fixtures.ts';

/**
 * `n` consecutive ports free right now, in 4000-8999: below the ephemeral range (32768+, where
 * outgoing connections of parallel tests take ports at any time) and apart from the other
 * fixtures' ranges (11000-29999). A port in use would be reserved and move an allocation, which
 * these tests assert on.
 */
async function freeRange(n: number): Promise<[number, number]> {
  const bindable = (port: number): Promise<boolean> => new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  for (let i = 0, start = 4000 + ((process.pid * 37) % 4900); i < 200; i++, start = 4000 + ((start - 4000 + 4 * n + 1) % 4900)) {
    let ok = true;
    for (let p = start; p < start + n && ok; p++) ok = await bindable(p);
    if (ok) return [start, start + n - 1];
  }
  throw new Error(`no ${n} consecutive free ports in 4000-8999`);
}

function listenPorts(mesh: StandaloneMesh): Map<string, number> {
  return new Map(mesh.engine.routes().map((r) => [r.route, Number(r.listen.slice(r.listen.lastIndexOf(':') + 1))]));
}

test('a restarted standalone keeps its ports and does not reuse a quarantined port', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'hostmesh-state-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const manifests = join(root, 'manifests');
  const stateDir = join(root, 'state');
  // Four proxy ports, free when the test starts (listeners on ports in use would move).
  const range = await freeRange(4);
  const start = (): Promise<StandaloneMesh> => startStandalone({
    manifests, stateDir, portRange: range, admin: { host: '127.0.0.1', port: 0 }, zones: ['hostmesh'], accessLog: false,
    log: createLogger('test', process.env.HOSTMESH_LOG_LEVEL ?? 'silent'), out: () => {},
  });
  mkdirSync(manifests);
  const put = (files: Record<string, string>): void => {
    rmSync(manifests, { recursive: true, force: true });
    mkdirSync(manifests);
    for (const [name, yaml] of Object.entries(files)) writeFileSync(join(manifests, name), yaml);
  };

  put({ 'a.yaml': service('a'), 'b.yaml': service('b'), 'x.yaml': service('x') });
  let mesh = await start();
  try {
    await mesh.settled();
    const first = listenPorts(mesh);
    assert.deepEqual([...first.keys()].toSorted(), ['test/a:80', 'test/b:80', 'test/x:80']);
    // x is deleted while running: its port is quarantined (and written to the state).
    rmSync(join(manifests, 'x.yaml'));
    await mesh.settled();
    assert.equal(listenPorts(mesh).has('test/x:80'), false);
    await mesh.close();
    const saved = JSON.parse(readFileSync(join(stateDir, STANDALONE_STATE_FILE), 'utf8')) as { ports: Record<string, number>; quarantine: Record<string, string> };
    assert.deepEqual(saved.ports, { 'test/a:80': first.get('test/a:80'), 'test/b:80': first.get('test/b:80') });
    assert.deepEqual(Object.keys(saved.quarantine), [String(first.get('test/x:80'))]);

    // While stopped, b is deleted and c, d are added. Restarted: a keeps its port, b's and x's
    // ports stay quarantined, so c takes the one free port and d gets none.
    put({ 'a.yaml': service('a'), 'c.yaml': service('c'), 'd.yaml': service('d') });
    mesh = await start();
    await mesh.settled();
    const second = listenPorts(mesh);
    assert.equal(second.get('test/a:80'), first.get('test/a:80'), 'a keeps its port across the restart');
    const quarantined = new Set([first.get('test/b:80'), first.get('test/x:80')]);
    for (const [route, port] of second) assert.equal(quarantined.has(port), false, `${route} got quarantined port ${port}`);
    assert.equal(second.has('test/c:80'), true, 'c gets the free port');
    assert.equal(second.has('test/d:80'), false, 'd gets no port while only quarantined ones are left');
    assert.ok(mesh.diagnostics().some((d) => d.code === 'ports-exhausted' && d.message.includes('test/d')), 'd is reported');
  } finally {
    await mesh.close();
  }
});

test('an unreadable standalone state is reported and ports are allocated afresh', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'hostmesh-state-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'manifests'));
  mkdirSync(join(root, 'state'));
  writeFileSync(join(root, 'manifests', 'a.yaml'), service('a'));
  writeFileSync(join(root, 'state', STANDALONE_STATE_FILE), '{"ports":{"test/a:80":"x","nope":1},"quarantine":{"1":"soon"}}');
  const { log, lines } = captureLogger();
  const range = await freeRange(4);
  const base = range[0];
  const mesh = await startStandalone({ manifests: join(root, 'manifests'), stateDir: join(root, 'state'), portRange: range, admin: { host: '127.0.0.1', port: 0 }, zones: ['hostmesh'], accessLog: false, log, out: () => {} });
  try {
    await mesh.settled();
    assert.equal(listenPorts(mesh).get('test/a:80'), base);
    const warned = JSON.stringify(lines.filter((l) => l.msg.startsWith('standalone state')));
    assert.match(warned, /ports\.test\/a:80/);
    assert.match(warned, /ports\.nope/);
    assert.match(warned, /quarantine\.1/);
  } finally {
    await mesh.close();
  }
  // The state now holds what this run allocated.
  const saved = JSON.parse(readFileSync(join(root, 'state', STANDALONE_STATE_FILE), 'utf8')) as { ports: Record<string, number> };
  assert.deepEqual(saved.ports, { 'test/a:80': base });
});
