/**
 * Route rules in the proxy (docs/rule-model.md), end to end over real sockets: structured
 * matches and first-match-wins, client scoping by the identity of the source address
 * (127.0.0.x), direct answers for their share, per-rule policies over the route's, the backend
 * timeout per attempt, and a regular expression that is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import type { IdentityEntry, RouteRule } from '../../src/table/index.ts';
import { client, engine, freePort, get, httpBackend, LOOPBACK, namedBackend, svc, table } from './helpers.ts';
import { mesh } from './rule-mesh.ts';
import type { Mesh } from './rule-mesh.ts';

const to = (name: string, weight = 1) => ({ cluster: `test/${name}:80`, weight });

async function names(m: Mesh, paths: string[], opts: Parameters<typeof get>[2] = { method: 'GET' }): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) out.push((await get(m.http, `${m.url}${p}`, opts)).body);
  return out;
}

test('structured matches: path exact, element-wise prefix, regex; headers; query; methods; first match wins', async (t) => {
  const [web, a, b, c, d] = await Promise.all(['web', 'a', 'b', 'c', 'd'].map((n) => namedBackend(t, n)));
  const m = await mesh(t, { web: web!, a: a!, b: b!, c: c!, d: d! });
  const rules: RouteRule[] = [
    { matches: [{ path: { type: 'Exact', value: '/exact' } }], backends: [to('a')] },
    { matches: [{ path: { type: 'PathPrefix', value: '/api/' }, methods: ['POST'] }], backends: [to('b')] },
    { matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backends: [to('c')] },
    { matches: [{ path: { type: 'RegularExpression', value: '/v[0-9]+/.*' } }, { headers: [{ type: 'Exact', name: 'X-Version', value: 'two' }] }], backends: [to('d')] },
    { matches: [{ queryParams: [{ type: 'RegularExpression', name: 'beta', value: 'y.s' }], headers: [{ type: 'RegularExpression', name: 'user-agent', value: '.*Chrome.*' }] }], backends: [to('a')] },
  ];
  assert.deepEqual(await m.apply({ rules }), []);
  assert.deepEqual(await names(m, ['/exact', '/exact/', '/api', '/api/x', '/apix', '/v2/a', '/v2', '/other']), ['a', 'web', 'c', 'c', 'web', 'd', 'web', 'web']);
  assert.deepEqual(await names(m, ['/api/x', '/api'], { method: 'POST' }), ['b', 'b'], 'the POST rule comes first; /api/ matches /api element-wise');
  assert.deepEqual(await names(m, ['/x'], { method: 'GET', headers: { 'x-VERSION': 'two' } }), ['d'], 'header names compare case-insensitively');
  assert.deepEqual(await names(m, ['/x?beta=yes&beta=no', '/x?beta=no&beta=yes', '/x?beta=yes'], { method: 'GET', headers: { 'user-agent': 'Mozilla Chrome/120' } }), ['a', 'web', 'a'], 'the first query value counts; all conditions must hold');
  assert.deepEqual(await names(m, ['/x?beta=yes'], { method: 'GET', headers: { 'user-agent': 'curl' } }), ['web']);
});

test('consumer scoping: rules apply by the namespace of the client address (127.0.0.x) in the identity map', async (t) => {
  const [web, a, b] = await Promise.all(['web', 'a', 'b'].map((n) => namedBackend(t, n)));
  const m = await mesh(t, { web: web!, a: a!, b: b! });
  const identities: IdentityEntry[] = [
    { address: '127.0.0.2', namespace: 'team-a', serviceAccount: 'client' },
    { address: '127.0.0.3', namespace: 'team-b', serviceAccount: 'client' },
  ];
  await m.apply({
    rules: [
      // A consumer route of team-a: only its clients.
      { clients: { namespaces: ['team-a'] }, backends: [to('a')] },
      // Every client but team-a and team-c, unknown ones included.
      { clients: { exceptNamespaces: ['team-a', 'team-c'] }, matches: [{ path: { type: 'PathPrefix', value: '/b' } }], backends: [to('b')] },
    ],
  }, identities);
  const from = (addr: string): Agent => {
    const agent = new Agent({ localAddress: addr });
    t.after(() => agent.close());
    return agent;
  };
  const ask = async (addr: string, path: string): Promise<string> => (await get(from(addr), `${m.url}${path}`)).body;
  assert.deepEqual(await Promise.all([ask('127.0.0.2', '/b'), ask('127.0.0.3', '/b'), ask('127.0.0.4', '/b'), ask('127.0.0.3', '/x'), ask('127.0.0.1', '/')]), ['a', 'b', 'b', 'web', 'web']);
  // The next identity map moves 127.0.0.3 into team-a: its requests follow at once.
  await m.apply({ rules: [{ clients: { namespaces: ['team-a'] }, backends: [to('a')] }] }, [{ ...identities[1]!, namespace: 'team-a' }]);
  assert.deepEqual(await Promise.all([ask('127.0.0.3', '/'), ask('127.0.0.2', '/')]), ['a', 'web']);
});

test('direct answers take exactly their weighted share: 500 for a missing backend, 404 catch-all, JSON when asked', async (t) => {
  const [web, a] = await Promise.all(['web', 'a'].map((n) => namedBackend(t, n)));
  const m = await mesh(t, { web: web!, a: a! });
  await m.apply({
    rules: [
      { matches: [{ path: { type: 'PathPrefix', value: '/split' } }], backends: [to('a', 3), { weight: 1, respond: { status: 500, reason: 'has a backend that does not exist (test/missing:80)' } }] },
      { matches: [{ path: { type: 'PathPrefix', value: '/zero' } }], backends: [to('a', 0), { weight: 1, respond: { status: 500, reason: 'x' } }] },
      { backends: [{ weight: 1, respond: { status: 404, reason: 'has no route rule for this request' } }] },
    ],
  });
  const statuses: Record<string, number> = {};
  for (let i = 0; i < 200; i++) {
    const r = await get(m.http, `${m.url}/split/${i}`);
    const k = `${r.status} ${r.status === 200 ? r.body : ''}`.trim();
    statuses[k] = (statuses[k] ?? 0) + 1;
  }
  assert.deepEqual(statuses, { '200 a': 150, '500': 50 });
  assert.equal(a!.seen.length, 150);
  const z = await get(m.http, `${m.url}/zero`);
  assert.equal(z.status, 500);
  const nf = await get(m.http, `${m.url}/nothing`);
  assert.equal(nf.status, 404);
  assert.match(nf.body, /^404 Not Found: test\/web:80 has no route rule for this request\n$/);
  const json = await get(m.http, `${m.url}/nothing`, { method: 'GET', headers: { accept: 'application/json' } });
  assert.deepEqual(JSON.parse(json.body), { status: 404, error: 'Not Found', service: 'test/web:80', reason: 'test/web:80 has no route rule for this request' });
  assert.equal(web!.seen.length, 0, 'the catch-all leaves nothing for the route backends');
});

test('per-rule policies replace the route\'s for the requests the rule takes; the rest keep the route\'s', async (t) => {
  let flaky = 0;
  const [web, a] = await Promise.all(['web', 'a'].map((n) => namedBackend(t, n)));
  const f = await httpBackend(t, (_req, res) => {
    flaky++;
    res.statusCode = flaky % 2 === 1 ? 503 : 200;
    res.end(`try ${flaky}`);
  });
  const m = await mesh(t, { web: web!, a: a!, f });
  const rules: RouteRule[] = [
    // Retries a 503 once, with its own backoff; the route does not retry.
    { matches: [{ path: { type: 'Exact', value: '/retry' } }], backends: [to('f')], retry: { count: 1, on: 'true', codes: [[503, 503]], backoffMs: 1 } },
    { matches: [{ path: { type: 'Exact', value: '/once' } }], backends: [to('f')] },
    { matches: [{ path: { type: 'Exact', value: '/a' } }], backends: [to('a')] },
  ];
  await m.apply({ rules });
  const r = await get(m.http, `${m.url}/retry`);
  assert.deepEqual([r.status, r.body, flaky], [200, 'try 2', 2]);
  const once = await get(m.http, `${m.url}/once`);
  assert.deepEqual([once.status, once.body, flaky], [503, 'try 3', 3]);
  // A rule's policy overrides the route's: a route retry of 503s, the rule's retry of nothing.
  await m.apply({ rules: [{ ...rules[1]!, retry: { count: 1, on: 'true', codes: [[599, 599]] } }], retry: { count: 1, on: 'true', codes: [[503, 503]] } });
  assert.equal((await get(m.http, `${m.url}/once`)).status, 200, 'the 4th arrival is a 200');
  const own = await get(m.http, `${m.url}/once`);
  assert.deepEqual([own.status, flaky], [503, 5], 'the 5th is a 503 and not retried');
  // What a rule leaves unset, the Service's settings govern: maintenance answers for every rule.
  await m.apply({ rules, maintenance: { reason: 'is being moved' } });
  assert.deepEqual(await Promise.all(['/retry', '/a', '/'].map(async (p) => (await get(m.http, `${m.url}${p}`)).status)), [503, 503, 503]);
  assert.deepEqual([flaky, a!.seen.length, web!.seen.length], [5, 0, 0]);
});

test('backendTimeoutMs bounds each attempt: a slow endpoint is given up for the next one, and alone answers 504', async (t) => {
  const held: (() => void)[] = [];
  t.after(() => { for (const h of held) h(); });
  const slow = await httpBackend(t, (_req, res) => { held.push(() => res.end('late')); });
  const fast = await namedBackend(t, 'fast');
  const web = await namedBackend(t, 'web');
  const e = engine(t);
  const port = await freePort();
  const tbl = table([{ cluster: svc('web', [web.port]), listenPort: port }, { cluster: svc('pair', [slow.port, fast.port], { loadBalancer: { kind: 'round-robin' } }), listenPort: 0 }, { cluster: svc('slow', [slow.port]), listenPort: 0 }]);
  tbl.listeners = tbl.listeners.slice(0, 1);
  tbl.routes = [{
    ...tbl.routes[0]!,
    rules: [
      { matches: [{ path: { type: 'Exact', value: '/pair' } }], backends: [to('pair')], backendTimeoutMs: 150, retry: { count: 1, on: 'true', codes: [] } },
      { matches: [{ path: { type: 'Exact', value: '/slow' } }], backends: [to('slow')], backendTimeoutMs: 150 },
    ],
  }];
  assert.equal((await e.apply(tbl)).ok, true);
  const http = client(t);
  const url = `http://${LOOPBACK}:${port}`;
  const pair = await Promise.all([get(http, `${url}/pair`), get(http, `${url}/pair`)]);
  assert.deepEqual(pair.map((r) => `${r.status} ${r.body}`), ['200 fast', '200 fast']);
  const s = await get(http, `${url}/slow`);
  assert.equal(s.status, 504);
  assert.match(s.body, /test\/web:80 \(backend test\/slow:80\) did not answer in time/);
});

test('a regular expression that could backtrack exponentially is refused: a warning, and its match never matches', async (t) => {
  const [web, a] = await Promise.all(['web', 'a'].map((n) => namedBackend(t, n)));
  const m = await mesh(t, { web: web!, a: a! });
  const warnings = await m.apply({ rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/(a+)+' } }, { path: { type: 'Exact', value: '/ok' } }], backends: [to('a')] }] });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /route test\/web:80: rules\[0\]\.matches\[0\]\.path is ignored \(the match never matches\): a repeated group holds an unbounded repetition/);
  assert.deepEqual(await names(m, ['/aaaa', '/ok']), ['web', 'a']);
});

test('expression rules (annotations) and structured rules mix, in order', async (t) => {
  const [web, a, b] = await Promise.all(['web', 'a', 'b'].map((n) => namedBackend(t, n)));
  const m = await mesh(t, { web: web!, a: a!, b: b! });
  await m.apply({ rules: [{ match: "header({'X-Beta': 'yes'})", backends: [to('a')] }, { matches: [{ methods: ['DELETE'] }], backends: [to('b')] }] });
  assert.deepEqual(await names(m, ['/'], { method: 'DELETE', headers: { 'x-beta': 'yes' } }), ['a']);
  assert.deepEqual(await names(m, ['/'], { method: 'DELETE' }), ['b']);
  assert.deepEqual(await names(m, ['/']), ['web']);
});
