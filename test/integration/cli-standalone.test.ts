/**
 * `hostmesh standalone` as a user runs it (`node src/main.ts standalone ...` in its own
 * process): the banner, serving HTTP and TCP, live edits printed, problems logged, and a SIGTERM
 * that drains a request in flight before exiting 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { client, get, httpBackend } from '../proxy/helpers.ts';
import { eventually, readAll, tcpBackend, tcpClient } from '../proxy/l4-fixtures.ts';
import { service } from '../support/standalone.ts';
import { adminUrl, bannerRoutes, childPortRange, literal, spawnCli } from './cli-process.ts';

/** Whether a new TCP connection to `port` is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

test('standalone prints its routes, serves, follows edits, logs problems, and drains on SIGTERM before exiting 0', async (t) => {
  const held: ServerResponse[] = [];
  const web = await httpBackend(t, (req, res) => {
    if (req.url === '/hold') held.push(res);
    else res.end(`web saw ${req.url}`);
  });
  const echo = await tcpBackend(t, (s) => s.pipe(s));
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'web.yaml'), service('web', { ports: [web.port] }));
  writeFileSync(join(dir, 'echo.yaml'), service('echo', { port: 7, ports: [echo.port], annotations: { 'hostmesh.io/traffic-type': 'tcp' } }));
  const range = childPortRange(2);
  const [low, high] = range.split('-').map(Number) as [number, number];
  const proxy = spawnCli(t, ['standalone', '--manifests', dir, '--admin', '127.0.0.1:0', '--port-range', range, '--log-level', 'info']);
  const admin = await adminUrl(proxy);

  // The banner: what was read, one line per route, then the admin address.
  const [first, ...rest] = proxy.stdout;
  assert.equal(first, `hostmesh standalone: 2 manifest file(s) from ${dir}`);
  assert.match(rest[0]!, /^ {2}test\/echo:7 -> 127\.0\.0\.1:\d+ \(tcp, 1 endpoint\)$/);
  assert.match(rest[1]!, /^ {2}test\/web:80 -> 127\.0\.0\.1:\d+ \(http, 1 endpoint\)$/);
  assert.match(rest[2]!, /^admin: http:\/\/127\.0\.0\.1:\d+ \(\/healthz \/readyz \/metrics \/v1\/routes \/v1\/status\)$/);
  const routes = bannerRoutes(proxy.stdout);
  const webPort = routes.get('test/web:80')!;
  const echoPort = routes.get('test/echo:7')!;
  for (const p of [webPort, echoPort]) assert.ok(p >= low && p <= high, `listener port ${p} in ${range}`);
  const listed = (await (await fetch(`${admin}/v1/routes`)).text()).split('\n').filter((l) => l !== '');
  assert.deepEqual(listed.toSorted(), [`test/echo:7 -> 127.0.0.1:${echoPort} tcp test/echo:7 endpoints=1`, `test/web:80 -> 127.0.0.1:${webPort} http test/web:80 endpoints=1`]);
  assert.equal((await fetch(`${admin}/readyz`)).status, 200);

  // It serves what the banner says.
  const c = client(t);
  assert.equal((await get(c, `http://127.0.0.1:${webPort}/hello`)).body, 'web saw /hello');
  const tcp = await tcpClient(echoPort);
  const back = readAll(tcp);
  tcp.end('over tcp');
  assert.equal((await back).toString(), 'over tcp');

  // An edit: the changed routes are printed.
  writeFileSync(join(dir, 'api.yaml'), service('api', { ports: [web.port] }));
  await proxy.line(/^routes changed:$/);
  const apiLine = await proxy.line(/^ {2}test\/api:80 -> 127\.0\.0\.1:(\d+) \(http, 1 endpoint\)$/);
  assert.equal((await get(c, `http://127.0.0.1:${apiLine[1]}/via-api`)).body, 'web saw /via-api');

  // A bad annotation is logged (JSON on stderr) naming the Service, key and value.
  writeFileSync(join(dir, 'api.yaml'), service('api', { ports: [web.port], annotations: { 'hostmesh.io/dial-timeout': '3 sec' } }));
  const logged = await proxy.line(new RegExp(literal('test/api: hostmesh.io/dial-timeout: \\"3 sec\\" is not a duration')), 'stderr');
  assert.equal(JSON.parse(logged.input!).level, 40, 'logged as a warning');

  // SIGTERM with a request in flight: no new connections, the request completes, then exit 0.
  const inFlight = request(`http://127.0.0.1:${webPort}/hold`, { dispatcher: c });
  await eventually(() => held.length === 1, 'the request to reach the backend', 30_000);
  proxy.child.kill('SIGTERM');
  await proxy.line(/stopping: draining connections/, 'stderr');
  let closed = false;
  for (let i = 0; i < 500 && !closed; i++) {
    closed = await refused(webPort);
    if (!closed) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(closed, 'the listener stops accepting once draining starts');
  assert.equal(proxy.child.exitCode, null, 'still running while a request is in flight');
  held[0]!.end('finished while draining');
  const r = await inFlight;
  assert.equal(r.statusCode, 200);
  assert.equal(r.headers.connection, 'close', 'a draining listener closes the connection after the response');
  assert.equal(await r.body.text(), 'finished while draining');
  assert.deepEqual(await proxy.exited, { code: 0, signal: null });
});
