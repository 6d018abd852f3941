import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { setImmediate } from 'node:timers/promises';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { tableDigest } from '../../src/table/index.ts';
import type { AckReport, ControllerStatus, WatchMessage } from '../../src/table/index.ts';
import { LineSplitter } from '../../src/proxy/config/lines.ts';
import { ProxyTracker } from '../../src/controller/push/proxies.ts';
import type { VersionClock } from '../../src/controller/push/proxies.ts';
import { TOKEN, call, chunkedBody, content, openWatch, startController } from './push-fixtures.ts';
import { until } from '../support/until.ts';

const ack = (over: Partial<AckReport>): string => JSON.stringify({
  node: 'node-a', epoch: 'e1', version: 1, digest: 'd', applied: true, time: new Date().toISOString(), ...over,
});

async function status(port: number): Promise<ControllerStatus> {
  const r = await call(port, 'GET', '/v1/status');
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as ControllerStatus;
}

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

test('the API needs the bearer token; health and metrics do not', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  for (const [method, path] of [['GET', '/v1/status'], ['GET', '/v1/watch?node=a'], ['POST', '/v1/ack']] as const) {
    const none = await call(c.port, method, path, { token: null });
    assert.equal(none.status, 401, `${method} ${path} without a token`);
    assert.match(String(none.headers['www-authenticate']), /^Bearer realm="hostmesh"$/);
    assert.match(none.body, /"code":"UNAUTHORIZED".*bearer token is required/);
    const wrong = await call(c.port, method, path, { token: `${TOKEN}x` });
    assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
    assert.match(String(wrong.headers['www-authenticate']), /^Bearer .*error="invalid_token"/);
    const basic = await call(c.port, method, path, { token: null, headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
    assert.equal(basic.status, 401);
  }
  assert.equal((await call(c.port, 'GET', '/v1/status')).status, 200);
  assert.equal((await call(c.port, 'GET', '/healthz', { token: null })).status, 200);
  assert.equal((await call(c.port, 'HEAD', '/healthz', { token: null })).status, 200);
  const metrics = await call(c.port, 'GET', '/metrics', { token: null });
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /hostmesh_controller_config_version 0/);
  assert.match(metrics.body, /hostmesh_controller_proxies\{state="connected"\} 0/);
});

test('readiness waits for the first published table; unknown paths and wrong methods', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  const before = await call(c.port, 'GET', '/readyz', { token: null });
  assert.equal(before.status, 503);
  assert.match(before.body, /no routing table published yet/);
  const s0 = await status(c.port);
  assert.equal(s0.version, 0);
  assert.equal(s0.epoch, 'e1');
  c.publisher.publish(content(2));
  c.publisher.flush();
  assert.equal((await call(c.port, 'GET', '/readyz', { token: null })).status, 200);

  const nf = await call(c.port, 'GET', '/v1/nope');
  assert.equal(nf.status, 404);
  assert.match(nf.body, /"code":"NOT_FOUND".*no such path: \/v1\/nope/);
  const m1 = await call(c.port, 'GET', '/v1/ack');
  assert.equal(m1.status, 405);
  assert.equal(m1.headers.allow, 'POST');
  const m2 = await call(c.port, 'POST', '/v1/watch?node=a', { body: '{}' });
  assert.equal(m2.status, 405);
  assert.equal(m2.headers.allow, 'GET');
  assert.equal((await call(c.port, 'DELETE', '/healthz')).status, 405);
  assert.equal((await call(c.port, 'PUT', '/v1/status')).status, 405);
});

test('a watch without a valid node is refused with 400 naming the problem', async (t) => {
  const c = await startController(t);
  const none = await call(c.port, 'GET', '/v1/watch');
  assert.equal(none.status, 400);
  assert.match(none.body, /"code":"BAD_NODE".*node is required/);
  const bad = await call(c.port, 'GET', '/v1/watch?node=%2Fetc%2Fpasswd');
  assert.equal(bad.status, 400);
  assert.match(bad.body, /node must be a node name.*\/etc\/passwd/);
  const since = await call(c.port, 'GET', '/v1/watch?node=a&since=garbage');
  assert.equal(since.status, 400);
  assert.match(since.body, /"code":"BAD_SINCE"/);
});

test('since: the current version gets nothing, a recent one the deltas since, anything else a snapshot', async (t) => {
  const c = await startController(t, { epoch: 'e1', heartbeatMs: 60_000 });
  c.publisher.publish(content(3));
  c.publisher.flush();
  c.publisher.publish(content(3, 1));
  const cur = c.publisher.flush()!;
  assert.equal(cur.table.version, 2);

  const current = await openWatch(t, c.port, 'node=a&since=e1:2');
  assert.equal(current.status, 200);
  assert.equal(current.headers['content-type'], 'application/x-ndjson');
  const hb = await current.next();
  assert.equal(hb.type, 'heartbeat', 'an up-to-date proxy is told so at once, without a snapshot');
  assert.deepEqual(hb.type === 'heartbeat' && [hb.epoch, hb.version], ['e1', 2]);

  const behind = await openWatch(t, c.port, 'node=c&since=e1:1');
  const d = await behind.next();
  assert.equal(d.type, 'delta', 'a proxy one version behind gets the delta, not a snapshot');
  assert.deepEqual(d.type === 'delta' && [d.delta.base, d.delta.version, d.delta.digest], [1, 2, cur.digest]);
  assert.deepEqual(d.type === 'delta' && d.delta.changes.map((ch) => `${ch.kind} ${ch.key}`), ['endpoints bench/svc-1:80'], 'only the endpoints that moved');

  for (const q of ['node=b', 'node=d&since=other-epoch:2', 'node=e&since=e1:9']) {
    const w = await openWatch(t, c.port, q);
    const m = await w.next();
    assert.equal(m.type, 'snapshot', q);
    assert.equal(m.type === 'snapshot' && m.table.version, 2, q);
    assert.equal(m.type === 'snapshot' && tableDigest(m.table), cur.digest, q);
  }

  // Every open stream then gets each new version as a delta.
  c.publisher.publish(content(3, 2));
  c.publisher.flush();
  const next = await current.next();
  assert.deepEqual(next.type === 'delta' && [next.delta.base, next.delta.version], [2, 3]);
  const next2 = await behind.next();
  assert.deepEqual(next2.type === 'delta' && [next2.delta.base, next2.delta.version], [2, 3]);
});

test('a proxy further behind than the deltas kept gets a snapshot', async (t) => {
  const c = await startController(t, { epoch: 'e1', heartbeatMs: 60_000, deltaVersions: 2 });
  for (let v = 0; v < 5; v++) {
    c.publisher.publish(content(3, v));
    c.publisher.flush();
  }
  const near = await openWatch(t, c.port, 'node=a&since=e1:3');
  const deltas = [await near.next(), await near.next()];
  assert.deepEqual(deltas.map((m) => m.type === 'delta' && m.delta.version), [4, 5]);
  const far = await openWatch(t, c.port, 'node=b&since=e1:2');
  const m = await far.next();
  assert.equal(m.type === 'snapshot' && m.table.version, 5);
});

test('a watch opened before the first publish gets heartbeats, then the first table', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  const w = await openWatch(t, c.port, 'node=a');
  const hb = await w.next();
  assert.deepEqual(hb.type === 'heartbeat' && [hb.epoch, hb.version], ['e1', 0]);
  c.publisher.publish(content(1));
  const snap = await w.next();
  assert.equal(snap.type === 'snapshot' && snap.table.version, 1);
});

test('heartbeats arrive on an idle stream', async (t) => {
  const c = await startController(t, { epoch: 'e1', heartbeatMs: 20 });
  c.publisher.publish(content(1));
  c.publisher.flush();
  const w = await openWatch(t, c.port, 'node=a&since=e1:1');
  const got: WatchMessage[] = [];
  for (let i = 0; i < 4; i++) got.push(await w.next());
  assert.deepEqual(got.map((m) => m.type), ['heartbeat', 'heartbeat', 'heartbeat', 'heartbeat']);
  for (const m of got) assert.ok(m.type === 'heartbeat' && m.version === 1 && !Number.isNaN(Date.parse(m.time)));
});

test('a proxy that does not read gets only the newest pending snapshot; nothing piles up per version', async (t) => {
  // Catch-ups larger than this are a snapshot, as they are once a slow proxy missed many changes.
  const c = await startController(t, { epoch: 'e1', heartbeatMs: 5, maxCatchUpBytes: 2000 });
  const base = content(1500); // about 1.2 MB per snapshot line
  c.publisher.publish(base);
  c.publisher.flush();

  const sock: Socket = connect(c.port, '127.0.0.1');
  t.after(() => sock.destroy());
  await once(sock, 'connect');
  sock.write(`GET /v1/watch?node=slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
  sock.pause(); // stop reading: the kernel buffers fill, then the server's writes stop draining
  await until('the slow stream to open', () => c.server.streams.length === 1);
  const stream = c.server.streams[0]!;

  const versions = 40;
  let lineBytes = 0;
  for (let v = 2; v <= versions; v++) {
    // Every endpoint moves: each delta is hundreds of KB, so the unread socket fills.
    c.publisher.publish({ ...base, clusters: base.clusters.map((cl) => ({ ...cl, endpoints: cl.endpoints.map((e) => ({ ...e, port: 1000 + v })) })) });
    lineBytes = Math.max(lineBytes, JSON.stringify(c.publisher.flush()!.table).length);
    await setImmediate();
  }
  assert.ok(stream.skipped > 0, 'some versions were skipped for the slow proxy');
  const accounted = stream.sent + stream.skipped;
  assert.ok(accounted === versions || accounted === versions - 1, `every version was sent, skipped, or is the one pending (${accounted} of ${versions})`);
  assert.ok(stream.bufferedBytes <= 2 * lineBytes + 65_536, `server-side buffer stays bounded: ${stream.bufferedBytes} bytes for ${versions} versions of ${lineBytes} bytes`);

  const metrics = await call(c.port, 'GET', '/metrics', { token: null });
  assert.equal(metric(metrics.body, 'hostmesh_controller_watch_skipped_snapshots_total'), stream.skipped);

  // Once the proxy reads again, it gets what was in flight and then the newest version, complete.
  const received: number[] = [];
  const splitter = new LineSplitter(1 << 30);
  const decode = chunkedBody((data) => splitter.push(data, (line) => {
    const m = JSON.parse(line.toString('utf8')) as WatchMessage;
    if (m.type === 'snapshot') received.push(m.table.version);
    if (m.type === 'delta') received.push(m.delta.version);
  }));
  sock.on('data', decode);
  sock.resume();
  await until('the newest version to arrive', () => received.at(-1) === versions);
  assert.ok(received.length < versions, `the slow proxy got ${received.length} snapshots for ${versions} versions`);
  assert.deepEqual(received, received.toSorted((a, b) => a - b), 'in order');
});

test('a large snapshot is written in pieces of at most 96 KiB and reads back whole', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  c.publisher.publish(content(1500)); // about 1.2 MB of JSON
  const published = c.publisher.flush()!;
  const w = await openWatch(t, c.port, 'node=a');
  const snap = await w.next();
  assert.ok(snap.type === 'snapshot');
  assert.deepEqual(snap.table, JSON.parse(JSON.stringify(published.table)));

  const sock: Socket = connect(c.port, '127.0.0.1');
  t.after(() => sock.destroy());
  await once(sock, 'connect');
  sock.write(`GET /v1/watch?node=raw HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
  const sizes: number[] = [];
  const splitter = new LineSplitter(1 << 30);
  const lines: string[] = [];
  sock.on('data', chunkedBody((data) => splitter.push(data, (line) => lines.push(line.toString('utf8'))), (size) => sizes.push(size)));
  await until('the snapshot line', () => lines.length > 0);
  assert.equal(lines[0], JSON.stringify({ type: 'snapshot', table: published.table }));
  const total = sizes.reduce((a, b) => a + b, 0);
  assert.ok(sizes.length > 10, `written in pieces: ${sizes.length} chunks for ${total} bytes`);
  assert.ok(Math.max(...sizes) <= 96 * 1024, `every piece at most 96 KiB: ${Math.max(...sizes)}`);
});

test('acks update the status, lag and metrics; refusals show their error', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  c.publisher.publish(content(2));
  const v1 = c.publisher.flush()!;

  assert.equal((await call(c.port, 'POST', '/v1/ack', { body: ack({ digest: v1.digest }) })).status, 204);
  let s = await status(c.port);
  assert.equal(s.version, 1);
  assert.equal(s.digest, v1.digest);
  assert.equal(s.proxies.length, 1);
  assert.deepEqual({ ...s.proxies[0], lastSeen: 'x' }, { node: 'node-a', connected: false, appliedEpoch: 'e1', appliedVersion: 1, lagVersions: 0, lagMs: 0, lastSeen: 'x' });

  c.publisher.publish(content(2, 1));
  c.publisher.flush();
  c.publisher.publish(content(2, 2));
  c.publisher.flush();
  s = await status(c.port);
  assert.equal(s.proxies[0]?.lagVersions, 2);
  assert.ok((s.proxies[0]?.lagMs ?? -1) >= 0);

  const refused = await call(c.port, 'POST', '/v1/ack', { body: ack({ version: 3, applied: false, error: 'listener 10001: address in use' }) });
  assert.equal(refused.status, 204);
  s = await status(c.port);
  assert.equal(s.proxies[0]?.appliedVersion, 1, 'a refusal does not move the applied version');
  assert.equal(s.proxies[0]?.lagVersions, 2);
  assert.equal(s.proxies[0]?.error, 'refused e1:3: listener 10001: address in use');

  assert.equal((await call(c.port, 'POST', '/v1/ack', { body: ack({ version: 3 }) })).status, 204);
  s = await status(c.port);
  assert.equal(s.proxies[0]?.appliedVersion, 3);
  assert.equal(s.proxies[0]?.lagVersions, 0);
  assert.equal(s.proxies[0]?.lagMs, 0);
  assert.equal(s.proxies[0]?.error, undefined, 'an applied version clears the refusal');

  // A proxy still on another controller's table counts every version of this epoch as missing.
  assert.equal((await call(c.port, 'POST', '/v1/ack', { body: ack({ node: 'node-b', epoch: 'old', version: 7 }) })).status, 204);
  s = await status(c.port);
  assert.deepEqual(s.proxies.map((p) => [p.node, p.appliedEpoch, p.appliedVersion, p.lagVersions]), [['node-a', 'e1', 3, 0], ['node-b', 'old', 7, 3]]);

  const m = (await call(c.port, 'GET', '/metrics', { token: null })).body;
  assert.equal(metric(m, 'hostmesh_controller_config_version'), 3);
  assert.equal(metric(m, 'hostmesh_controller_publishes_total'), 3);
  assert.equal(metric(m, 'hostmesh_controller_refusals_total'), 1);
  assert.equal(metric(m, 'hostmesh_controller_apply_lag_seconds_count'), 2, 'one lag sample per applied version of this epoch');
  assert.match(m, /hostmesh_controller_proxies\{state="disconnected"\} 2/);
});

test('status lists connected proxies and keeps disconnected ones', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  c.publisher.publish(content(1));
  c.publisher.flush();
  const w = await openWatch(t, c.port, 'node=node-b');
  await w.next();
  let s = await status(c.port);
  assert.deepEqual(s.proxies.map((p) => [p.node, p.connected, p.lagVersions]), [['node-b', true, undefined]]);
  assert.match((await call(c.port, 'GET', '/metrics', { token: null })).body, /hostmesh_controller_proxies\{state="connected"\} 1/);
  w.close();
  await until('the stream to close', () => c.server.streams.length === 0);
  s = await status(c.port);
  assert.deepEqual(s.proxies.map((p) => [p.node, p.connected]), [['node-b', false]]);
});

test('the proxy tracker forgets long-disconnected proxies and bounds how many it keeps', () => {
  let now = 1_000_000;
  const clock: VersionClock = { epoch: 'e1', version: 5, behindSince: (v) => (v < 5 ? now - 500 : undefined), publishedAt: () => undefined };
  const tracker = new ProxyTracker(clock, { forgetAfterMs: 3_600_000, maxProxies: 3, now: () => now });
  tracker.opened('a');
  tracker.opened('b');
  tracker.closed('b');
  assert.deepEqual(tracker.counts(), { connected: 1, disconnected: 1 });
  const [a] = tracker.list();
  assert.equal(a?.lagMs, 0, 'never behind for longer than the controller has known it');
  now += 1000;
  assert.equal(tracker.list()[0]?.lagMs, 500);
  now += 3_600_001;
  assert.deepEqual(tracker.list().map((p) => p.node), ['a'], 'b was forgotten an hour after it left; a is connected');
  for (const n of ['c', 'd', 'e', 'f']) tracker.acked({ node: n, epoch: 'e1', version: 5, digest: 'd', applied: true, time: '' });
  assert.equal(tracker.list().length, 3, 'bounded: the longest-disconnected entries make room');
  assert.ok(tracker.list().some((p) => p.node === 'a'), 'connected proxies are never evicted');
});

test('bad acks are refused with 400 naming the field, big ones with 413', async (t) => {
  const c = await startController(t, { maxAckBytes: 1024 });
  const notJson = await call(c.port, 'POST', '/v1/ack', { body: '{"node":' });
  assert.equal(notJson.status, 400);
  assert.match(notJson.body, /ack: body is not valid JSON/);
  const noVersion = await call(c.port, 'POST', '/v1/ack', { body: JSON.stringify({ ...JSON.parse(ack({})), version: undefined }) });
  assert.equal(noVersion.status, 400);
  assert.match(noVersion.body, /"code":"BAD_ACK".*version must be an integer/);
  const big = await call(c.port, 'POST', '/v1/ack', { body: ack({ applied: false, error: 'x'.repeat(2000) }) });
  assert.equal(big.status, 413);
  assert.match(big.body, /over the limit of 1024 bytes/);
  assert.equal((await status(c.port)).proxies.length, 0, 'nothing invalid was recorded');
});

/** Sends raw bytes and resolves with whatever comes back before the server closes or 300 ms pass. */
function raw(port: number, bytes: string | Buffer, endAfter = true): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const out: Buffer[] = [];
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(out).toString('latin1'));
    };
    const timer = setTimeout(done, 300);
    s.on('data', (d: Buffer) => out.push(d));
    s.on('error', done);
    s.on('close', done);
    s.write(bytes);
    if (endAfter) s.end();
  });
}

test('malformed requests never take the server down', async (t) => {
  const c = await startController(t, { epoch: 'e1', maxAckBytes: 4096 });
  c.publisher.publish(content(1));
  c.publisher.flush();
  const auth = `Authorization: Bearer ${TOKEN}\r\n`;
  const cases: (string | Buffer)[] = [
    'garbage\r\n\r\n',
    Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10]),
    'GET /v1/watch?node=a HTTP/1.1\r\nHost: x\r\n', // headers never finished
    `POST /v1/ack HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    `POST /v1/ack HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 100\r\n\r\n{"node":`, // body cut short
    `POST /v1/ack HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 99999999\r\n\r\n{}`,
    `GET /v1/watch?node=${'%ff'.repeat(50)}&since=%00:1 HTTP/1.1\r\nHost: x\r\n${auth}\r\n`,
    `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    `GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'x'.repeat(12_000)}\r\n\r\n`,
    `GET /v1/status HTTP/1.1\r\nHost: x\r\n${auth}${auth}\r\n`,
    'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n',
    'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n',
  ];
  for (const bytes of cases) await raw(c.port, bytes);

  // Random JSON bodies to /v1/ack and random queries to /v1/watch: only 204, 400 or 200.
  await fc.assert(fc.asyncProperty(fc.jsonValue(), async (v) => {
    const r = await call(c.port, 'POST', '/v1/ack', { body: JSON.stringify(v) });
    assert.ok([204, 400, 413].includes(r.status), `ack answered ${r.status}`);
  }), { numRuns: 60 });
  await fc.assert(fc.asyncProperty(fc.string({ maxLength: 80 }), async (q) => {
    const r = await raw(c.port, `GET /v1/watch?${encodeURI(q)} HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`, false);
    assert.match(r, /^HTTP\/1\.1 (200|400) /);
  }), { numRuns: 40 });

  assert.equal((await call(c.port, 'GET', '/healthz', { token: null })).status, 200);
  const s = await status(c.port);
  assert.equal(s.version, 1);
});

test('a standby replica that does not know the leader\'s address refuses watches and is not ready', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  c.publisher.publish(content(1));
  c.publisher.flush();
  const w = await openWatch(t, c.port, 'node=a');
  assert.equal((await w.next()).type, 'snapshot');
  c.server.standby = () => 'standby: the leader is replica-0';
  await until('the open stream to end (its proxy reconnects to the leader)', () => c.server.streams.length === 0);
  const refused = await call(c.port, 'GET', '/v1/watch?node=b');
  assert.equal(refused.status, 503);
  assert.match(refused.body, /"code":"NOT_LEADER".*standby: the leader is replica-0/);
  const ready = await call(c.port, 'GET', '/readyz', { token: null });
  assert.equal(ready.status, 503);
  assert.match(ready.body, /not ready: standby: the leader is replica-0/);
  c.server.standby = undefined;
  assert.equal((await call(c.port, 'GET', '/readyz', { token: null })).status, 200);
});
