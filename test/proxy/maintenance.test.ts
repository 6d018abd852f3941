/** The maintenance stage through a real engine: the proxy's page, no backend contacted. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maintenanceText } from '../../src/table/index.ts';
import { client, connectSocket, engine, freePort, get, httpBackend, metricValue, parseHead, rawExchange, svc, table, tcpServer } from './helpers.ts';

test('the reason reads as a sentence; "true" reads as plain maintenance', () => {
  assert.equal(maintenanceText('maintenance'), 'is down for maintenance');
  assert.equal(maintenanceText(''), 'is down for maintenance');
  assert.equal(maintenanceText('Database upgrade until 14:00 UTC.'), 'is down for maintenance: Database upgrade until 14:00 UTC');
});

test('a route in maintenance answers 503 with Retry-After, HTML or JSON, HEAD without a body, and never calls a backend', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('backend'));
  const port = await freePort();
  const e = engine(t);
  const r = await e.apply(table([{ cluster: svc('web', [b.port]), listenPort: port, route: { maintenance: { reason: 'Moving to <new> racks' } } }]));
  assert.equal(r.ok, true);
  if (r.ok) assert.deepEqual(r.warnings, []);
  const c = client(t);
  const url = `http://127.0.0.1:${port}/x`;

  const html = await get(c, url);
  assert.equal(html.status, 503);
  assert.equal(html.headers['retry-after'], '5');
  assert.equal(html.headers['cache-control'], 'no-store');
  assert.match(String(html.headers['content-type']), /^text\/html/);
  assert.match(html.body, /<b>test\/web:80<\/b> is down for maintenance: Moving to &#60;new&#62; racks\./);

  const json = await get(c, url, { method: 'GET', headers: { accept: 'application/json' } });
  assert.equal(json.status, 503);
  assert.deepEqual(JSON.parse(json.body), {
    status: 503,
    error: 'Service Unavailable',
    service: 'test/web:80',
    reason: 'test/web:80 is down for maintenance: Moving to <new> racks',
  });

  const head = await get(c, url, { method: 'HEAD' });
  assert.equal(head.status, 503);
  assert.equal(head.body, '');

  // A POST body is not read: the connection closes after the answer.
  const post = parseHead(await rawExchange(port, 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\npartial'));
  assert.equal(post.status, 503);

  const upgrade = parseHead(await rawExchange(port, 'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'));
  assert.equal(upgrade.status, 503);
  assert.match(upgrade.body, /is down for maintenance/);

  assert.equal(b.seen.length, 0);
  assert.equal(await metricValue(e, /^hostmesh_requests_total\{.*code="503",method="GET"\}/), 3);
});

test('taking a route out of maintenance, or changing the reason, takes effect on the next request', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('backend'));
  const port = await freePort();
  const e = engine(t);
  const cluster = svc('web', [b.port]);
  const c = client(t);
  const url = `http://127.0.0.1:${port}/`;
  await e.apply(table([{ cluster, listenPort: port, route: { maintenance: { reason: 'maintenance' } } }], 1));
  assert.match((await get(c, url)).body, /is down for maintenance\./);
  await e.apply(table([{ cluster, listenPort: port, route: { maintenance: { reason: 'back at noon' } } }], 2));
  assert.match((await get(c, url)).body, /is down for maintenance: back at noon\./);
  await e.apply(table([{ cluster, listenPort: port }], 3));
  const live = await get(c, url);
  assert.equal(live.status, 200);
  assert.equal(live.body, 'backend');
});

test('a TCP route in maintenance refuses connections (reset) without dialing a backend', async (t) => {
  let dialed = 0;
  const backend = await tcpServer(t, (s) => { dialed++; s.end('hello'); });
  const port = await freePort();
  const e = engine(t);
  const r = await e.apply(table([{ cluster: svc('db', [backend.port], { protocol: 'tcp' }), listenPort: port, route: { maintenance: { reason: 'maintenance' } } }]));
  assert.equal(r.ok, true);
  if (r.ok) assert.deepEqual(r.warnings, []);
  const s = connectSocket(port);
  const outcome = await new Promise<string>((resolve) => {
    let got = '';
    s.on('data', (d: Buffer) => { got += d.toString(); });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    s.on('close', () => resolve(`closed:${got}`));
  });
  assert.ok(outcome === 'ECONNRESET' || outcome === 'closed:', outcome);
  assert.equal(dialed, 0);
});
