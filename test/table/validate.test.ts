import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emptyTable, formatProblems, parsePortId, portId, tableDigest, validateTable } from '../../src/table/index.ts';
import { cluster, simpleTable } from '../support/tables.ts';

const good = () => simpleTable([
  { cluster: cluster('test', 'server', 80, [{ address: '10.0.0.1', port: 8080 }]), listenPort: 10001 },
  { cluster: cluster('test', 'db', 5432, [{ address: 'fd00::1', port: 5432 }], { protocol: 'tcp' }), listenPort: 10002 },
]);

function problemsOf(mutate: (t: ReturnType<typeof good>) => void): string {
  const t = good();
  mutate(t);
  const r = validateTable(JSON.parse(JSON.stringify(t)));
  assert.equal(r.ok, false, 'expected the table to be refused');
  return r.ok ? '' : formatProblems(r.problems);
}

test('a well-formed table is accepted as is', () => {
  const t = good();
  const r = validateTable(t);
  assert.equal(r.ok, true);
  assert.equal(r.ok && r.table, t);
  assert.equal(validateTable(emptyTable('e')).ok, true);
});

test('problems name the path and the offending value', () => {
  assert.match(problemsOf((t) => { t.clusters[0]!.endpoints[0]!.address = 'pod-a'; }), /\$\.clusters\[0\]\.endpoints\[0\]\.address: must be an IPv4 or IPv6 address, got "pod-a"/);
  assert.match(problemsOf((t) => { t.clusters[0]!.scheme = 'gopher' as never; }), /\$\.clusters\[0\]\.scheme: must be one of http, https, h2c, got "gopher"/);
  assert.match(problemsOf((t) => { t.listeners[1]!.port = 10001; }), /\$\.listeners\[1\]\.port: port 10001 is used by two listeners/);
  assert.match(problemsOf((t) => { t.listeners[0]!.route = 'test/none:80'; }), /\$\.listeners\[0\]\.route: names unknown route test\/none:80/);
  assert.match(problemsOf((t) => { t.routes[0]!.backends = []; }), /\$\.routes\[0\]\.backends: must name at least one cluster/);
  assert.match(problemsOf((t) => { t.routes[0]!.backends[0]!.cluster = 'test/db:5432'; }), /cluster test\/db:5432 is tcp, the route is http/);
  assert.match(problemsOf((t) => { t.listeners[0]!.protocol = 'udp'; }), /listener is udp but route test\/server:80 is http/);
  assert.match(problemsOf((t) => { t.routes[0]!.retry = { on: 'true', codes: [[504, 500]] }; }), /\$\.routes\[0\]\.retry: needs count or durationMs.*retry\.codes\[0\]: must be \[from, to\]/);
  assert.match(problemsOf((t) => { t.routes[1]!.rules = [{ match: 'true', backends: [{ cluster: 'test/db:5432', weight: 1 }] }]; }), /only http routes have rules/);
  assert.match(problemsOf((t) => { t.clusters.push(t.clusters[0]!); }), /duplicate cluster id test\/server:80/);
  assert.match(problemsOf((t) => { t.dns.zones = ['Hostmesh.']; }), /\$\.dns\.zones\[0\]: must be a lower-case DNS name/);
  assert.match(problemsOf((t) => { (t as { format: number }).format = 2; }), /\$\.format: must be 1, got number 2/);
});

test('the validator never throws and always explains a refusal', () => {
  fc.assert(fc.property(fc.jsonValue(), (v) => {
    const r = validateTable(v);
    if (!r.ok) {
      assert.ok(r.problems.length > 0 && r.problems.length <= 50);
      for (const p of r.problems) assert.match(p.path, /^\$/);
    }
  }), { numRuns: 500 });
  // Mutating one field of a good table anywhere must not make the validator throw either.
  fc.assert(fc.property(fc.nat(), fc.jsonValue(), (pick, value) => {
    const t = JSON.parse(JSON.stringify(good())) as Record<string, unknown>;
    const paths: [Record<string, unknown>, string][] = [];
    const walk = (o: unknown): void => {
      if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) { paths.push([o as Record<string, unknown>, k]); walk(v); }
    };
    walk(t);
    const [obj, key] = paths[pick % paths.length]!;
    obj[key] = value;
    validateTable(t);
  }), { numRuns: 500 });
});

test('port ids round-trip and the digest ignores version and time', () => {
  assert.deepEqual(parsePortId(portId('a-b', 'c.d', 8080)), { namespace: 'a-b', name: 'c.d', port: 8080 });
  assert.equal(parsePortId('nope'), undefined);
  const a = good();
  const b = { ...good(), version: 99, generatedAt: 'later' };
  assert.equal(tableDigest(a), tableDigest(b));
  b.clusters[0]!.endpoints.push({ address: '10.0.0.2', port: 8080 });
  assert.notEqual(tableDigest(a), tableDigest(b));
});

test('since values round-trip and junk is ignored', async () => {
  const { formatSince, parseSince } = await import('../../src/table/index.ts');
  assert.deepEqual(parseSince(formatSince('a:b-c', 42)), { epoch: 'a:b-c', version: 42 });
  for (const bad of [undefined, '', 'x', ':3', 'e:-1', 'e:1.5', 'e:abc']) assert.equal(parseSince(bad), undefined, String(bad));
});
