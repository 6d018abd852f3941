/**
 * The connection (fd) budget counts backend connections too, and `--max-connections` (or
 * HOSTMESH_MAX_CONNECTIONS) sets it. Its own file: the backend connection count is per thread,
 * so no other test's pools may be open beside these.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../support/until.ts';
import { metricValue } from '../proxy/helpers.ts';
import { childEnv, runCli, spawnCli } from '../integration/cli-process.ts';
import { exchangeRaw, okAnswer, proxyTo, rawBackend, responses, statuses } from './support.ts';
import { backendConnections } from '../../src/proxy/overload.ts';
import { createUdpListener } from '../../src/proxy/l4/udp.ts';
import { RecordingObserver, RoundRobinPicker, endpoint, fixedRoute, l4Cluster } from '../support/l4-picker.ts';
import { log, udpBackend, udpExchange, udpSocket } from '../proxy/l4-fixtures.ts';

const H = 'Host: raw.test.hostmesh\r\n';

test('backend connections count against the budget: one h2c client holding many backend connections leaves no room for another client (503), which is admitted again once they close', async (t) => {
  // `/hold` is never answered: each such stream keeps one backend connection busy.
  const b = await rawBackend(t, (req, conn) => (req.line.includes('/hold') ? undefined : okAnswer(conn.requests.length)));
  // 8 client plus backend connections; clients alone may take 4.
  const p = await proxyTo(t, b.port, { limits: { maxConnections: 8 } });
  const metric = async (name: string): Promise<number | undefined> => metricValue(p.engine, new RegExp(`^${name} `));
  assert.equal(await metric('hostmesh_overload_connections_limit'), 8);
  assert.equal(await metric('hostmesh_overload_client_connections_limit'), 4);
  const session = h2connect(`http://127.0.0.1:${p.port}`);
  session.on('error', () => {});
  t.after(() => session.destroy());
  for (let i = 0; i < 6; i++) {
    const s = session.request({ ':path': `/hold/${i}` });
    s.on('error', () => {});
  }
  await until('six backend connections for the held streams', () => b.open() === 6, 10_000);
  assert.equal(await metric('hostmesh_overload_backend_connections'), 6);
  assert.equal(await metric('hostmesh_overload_client_connections'), 1);
  // One client connection of 4 allowed, but 1 + 6 backend connections leave no fd for another
  // client and its backend connection: shed, and the backend never sees it.
  const shed = responses(await exchangeRaw(p.port, `GET /other HTTP/1.1\r\n${H}\r\n`));
  assert.equal(shed[0]?.status, 503);
  assert.equal(await metric('hostmesh_overload_shed_connections_total'), 1);
  assert.equal(b.requests.filter((r) => r.line.includes('/other')).length, 0);
  // The h2c client goes away: its streams are cancelled and their backend connections closed.
  session.destroy();
  await until('the held backend connections to close', async () => (await metric('hostmesh_overload_backend_connections')) === 0, 10_000);
  assert.deepEqual(statuses(await exchangeRaw(p.port, `GET /other HTTP/1.1\r\n${H}Connection: close\r\n\r\n`)), [200]);
});

test('hostmesh proxy: --max-connections sets the budget, HOSTMESH_MAX_CONNECTIONS when the flag is absent; a bad value is one line and exit 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-fd-budget-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'token'), 'budget-token\n');
  // No controller answers there: the proxy starts anyway (it keeps retrying) and its admin serves metrics.
  const args = (state: string): string[] => ['proxy', '--controller', 'http://127.0.0.1:9', '--node', 'n1', '--token-file', join(dir, 'token'), '--state-dir', join(dir, state),
    '--bind', '127.0.0.1', '--admin', '127.0.0.1:0', '--dns', '127.0.0.1:0', '--workers', '1', '--log-level', 'error'];
  const limits = async (extra: string[], env: Record<string, string>, state: string): Promise<[number | undefined, number | undefined]> => {
    const p = spawnCli(t, [...args(state), ...extra], { env: childEnv(env) });
    const [, admin] = await p.line(/admin: (http:\/\/127\.0\.0\.1:\d+)/);
    const text = await (await fetch(`${admin}/metrics`)).text();
    await p.stop();
    const value = (name: string): number | undefined => {
      const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
      return m === null ? undefined : Number(m[1]);
    };
    return [value('hostmesh_overload_connections_limit'), value('hostmesh_overload_client_connections_limit')];
  };
  assert.deepEqual(await limits([], { HOSTMESH_MAX_CONNECTIONS: '300' }, 's1'), [300, 150], 'from the environment');
  assert.deepEqual(await limits(['--max-connections', '40'], { HOSTMESH_MAX_CONNECTIONS: '300' }, 's2'), [40, 20], 'the flag wins');
  const bad = await runCli(t, args('s3'), { env: childEnv({ HOSTMESH_MAX_CONNECTIONS: 'lots' }) });
  assert.deepEqual([bad.code, bad.stderr], [2, 'hostmesh proxy: HOSTMESH_MAX_CONNECTIONS: "lots" is not a count (a whole number, 0 or more)\n']);
  const badFlag = await runCli(t, [...args('s4'), '--max-connections', 'many']);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /--max-connections: "many" is not a count/);
});

test('UDP sessions count against the budget too: one upstream socket each, released when the session ends', async (t) => {
  const backend = await udpBackend(t, (m) => m);
  const picker = new RoundRobinPicker([endpoint('127.0.0.1', backend.port)]);
  const listener = createUdpListener({ host: '127.0.0.1', port: 0, route: fixedRoute('test/dns:53', l4Cluster('test/dns-v1:53', picker)), observer: new RecordingObserver(), log });
  await listener.listen();
  t.after(() => listener.close(0));
  const before = backendConnections();
  const clients = await Promise.all([udpSocket(t), udpSocket(t), udpSocket(t)]);
  for (const c of clients) assert.equal((await udpExchange(c, listener.port, 'ping')).toString(), 'ping');
  assert.equal(backendConnections() - before, 3);
  await listener.close(0);
  await until('the sessions\' sockets to close', () => backendConnections() === before, 5000);
});
