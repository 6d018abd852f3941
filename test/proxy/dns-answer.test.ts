import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, RecordType } from 'dns-packet';
import { SRV_PRIORITY, SRV_WEIGHT, answerQuestion, buildZoneIndex } from '../../src/proxy/dns/zone.ts';
import type { ZoneAnswer } from '../../src/proxy/dns/zone.ts';
import { RCODES, UDP_CLASSIC_MAX, UDP_MAX, respond } from '../../src/proxy/dns/respond.ts';
import { BIG_ADDRESSES, meshConfig } from './dns-fixtures.ts';

const index = buildZoneIndex(meshConfig(), 42);
const ask = (name: string, type: string): ZoneAnswer => answerQuestion(index, name === '' ? [] : name.split('.'), type);
const data = (answers: Answer[], type?: string): unknown[] =>
  answers.filter((a) => type === undefined || a.type === type).map((a) => ('data' in a ? a.data : undefined));

test('A and AAAA for <service>.<namespace>.<zone> in every zone, case-insensitive', () => {
  for (const zone of ['hostmesh', 'traefik.mesh', 'caddy.mesh', 'HostMesh', 'Traefik.MESH']) {
    const a = ask(`web.shop.${zone}`, 'A');
    assert.equal(a.rcode, 'NOERROR');
    assert.equal(a.authoritative, true);
    assert.deepEqual(data(a.answers), ['10.96.0.10']);
    assert.deepEqual(data(ask(`WEB.Shop.${zone}`, 'AAAA').answers), ['fd00::10']);
  }
  const a = ask('Web.Shop.hostmesh', 'A');
  assert.equal(a.answers[0]!.name, 'Web.Shop.hostmesh', 'owner names keep the asker\'s spelling');
  assert.equal((a.answers[0] as { ttl: number }).ttl, 5);
  assert.deepEqual(data(ask('web.shop.hostmesh', 'ANY').answers), ['10.96.0.10', 'fd00::10', ...[80, 9090, 53].map((port) => ({ priority: SRV_PRIORITY, weight: SRV_WEIGHT, port, target: 'web.shop.hostmesh' }))]);
});

test('SRV for _<port>._<proto>.<service>.<namespace>.<zone> and for the bare name, with address glue', () => {
  const named = ask('_http._tcp.web.shop.traefik.mesh', 'SRV');
  assert.equal(named.rcode, 'NOERROR');
  assert.deepEqual(data(named.answers), [{ priority: SRV_PRIORITY, weight: SRV_WEIGHT, port: 80, target: 'web.shop.traefik.mesh' }]);
  assert.deepEqual(named.additionals.map((a) => [a.name, a.type, 'data' in a ? a.data : undefined]), [
    ['web.shop.traefik.mesh', 'A', '10.96.0.10'],
    ['web.shop.traefik.mesh', 'AAAA', 'fd00::10'],
  ]);
  assert.deepEqual(data(ask('_dns._udp.web.shop.hostmesh', 'SRV').answers).map((d) => (d as { port: number }).port), [53]);
  assert.equal(ask('_dns._tcp.web.shop.hostmesh', 'SRV').rcode, 'NXDOMAIN');
  assert.deepEqual(data(ask('web.shop.hostmesh', 'SRV').answers).map((d) => (d as { port: number }).port), [80, 9090, 53]);
  // An unnamed port has no _<port>._<proto> name but is listed under the bare name.
  assert.deepEqual(data(ask('db.shop.hostmesh', 'SRV').answers).map((d) => (d as { port: number }).port), [5432]);
  assert.equal(ask('_._tcp.db.shop.hostmesh', 'SRV').rcode, 'NXDOMAIN');
});

test('NODATA (NOERROR, no answer, SOA in authority) when the name exists but not the type', () => {
  for (const [name, type] of [
    ['web.shop.hostmesh', 'TXT'],
    ['db.shop.hostmesh', 'AAAA'],
    ['_http._tcp.web.shop.hostmesh', 'A'],
    ['shop.hostmesh', 'A'],
    ['_tcp.web.shop.hostmesh', 'SRV'],
    ['hostmesh', 'A'],
    ['big.shop.hostmesh', 'SRV'],
  ] as const) {
    const a = ask(name, type);
    assert.equal(a.rcode, 'NOERROR', `${name} ${type}`);
    assert.deepEqual(a.answers, [], `${name} ${type}`);
    assert.equal(a.authorities[0]?.type, 'SOA', `${name} ${type}`);
  }
});

test('NXDOMAIN with the zone SOA (negative TTL = the configured TTL) for unknown names in a zone', () => {
  for (const name of ['nope.shop.hostmesh', 'web.nope.hostmesh', 'x.web.shop.hostmesh', 'api.shop.caddy.mesh', 'web.shop.mesh.hostmesh']) {
    const a = ask(name, 'A');
    assert.equal(a.rcode, 'NXDOMAIN', name);
    assert.equal(a.authoritative, true);
    assert.deepEqual(a.answers, []);
    assert.equal(a.authorities.length, 1);
    const soa = a.authorities[0]!;
    assert.equal(soa.type, 'SOA');
    assert.equal(soa.name, name.endsWith('caddy.mesh') ? 'caddy.mesh' : 'hostmesh');
    assert.deepEqual(soa.type === 'SOA' && { ttl: soa.ttl, minimum: soa.data.minimum, serial: soa.data.serial }, { ttl: 5, minimum: 5, serial: 42 });
  }
  // Labels are compared as labels: one label "web.shop" is not the two labels web, shop.
  assert.equal(answerQuestion(index, ['web.shop', 'hostmesh'], 'A').rcode, 'NXDOMAIN');
});

test('REFUSED outside every zone; the apex answers its SOA', () => {
  for (const name of ['example.com', 'hostmesh.example', 'mesh', 'web.shop.svc.cluster.local', '']) {
    const a = ask(name, 'A');
    assert.equal(a.rcode, 'REFUSED', name);
    assert.equal(a.authoritative, false);
  }
  const apex = ask('traefik.mesh', 'SOA');
  assert.deepEqual(apex.answers.map((a) => [a.type, a.name]), [['SOA', 'traefik.mesh']]);
});

test('the longest zone wins, and a new index replaces the whole data set', () => {
  const nested = buildZoneIndex({ zones: ['mesh', 'traefik.mesh'], ttl: 1, services: [{ namespace: 'traefik', name: 'x', addresses: ['10.0.0.1'], ports: [] }] }, 1);
  // x.traefik.mesh is read in zone traefik.mesh (name "x"), not as service x in namespace traefik.
  assert.equal(answerQuestion(nested, ['x', 'traefik', 'mesh'], 'A').rcode, 'NXDOMAIN');
  assert.equal(answerQuestion(nested, ['traefik', 'mesh'], 'A').authorities[0]?.name, 'traefik.mesh');
  const empty = buildZoneIndex({ zones: ['hostmesh'], ttl: 5, services: [] }, 2);
  assert.equal(answerQuestion(empty, ['web', 'shop', 'hostmesh'], 'A').rcode, 'NXDOMAIN');
});

// ---- wire level ----

function query(name: string, type: RecordType, extra: { edns?: number; id?: number; flags?: number } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: extra.id ?? 7,
    flags: extra.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
    additionals: extra.edns === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: extra.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  });
}

function decodeReply(b: Buffer | undefined): DecodedPacket & { rcode: string } {
  assert.ok(b !== undefined, 'expected a reply');
  return dnsPacket.decode(b) as DecodedPacket & { rcode: string };
}

test('replies echo id, RD and the question byte for byte; AA is set inside the zones', () => {
  const q = query('Web.SHOP.hostmesh', 'A', { id: 4242 });
  const r = respond(index, q, true)!;
  const p = decodeReply(r.bytes);
  assert.equal(p.id, 4242);
  assert.equal(p.flag_qr, true);
  assert.equal(p.flag_aa, true);
  assert.equal(p.flag_rd, true);
  assert.equal(p.flag_ra, false);
  assert.deepEqual(r.bytes.subarray(12, q.length), q.subarray(12));
  assert.deepEqual(data(p.answers ?? []), ['10.96.0.10']);
});

test('UDP answers over 512 bytes (or the EDNS size, capped) are truncated with TC; TCP is not', () => {
  const plain = respond(index, query('big.shop.hostmesh', 'A'), true)!;
  assert.equal(plain.truncated, true);
  assert.ok(plain.bytes.length <= UDP_CLASSIC_MAX);
  const p = decodeReply(plain.bytes);
  assert.equal(p.flag_tc, true);
  assert.deepEqual(p.answers, []);

  // An EDNS client that can take 4096 bytes still gets at most UDP_MAX over UDP.
  const edns = respond(index, query('big.shop.hostmesh', 'A', { edns: 4096 }), true)!;
  assert.equal(edns.truncated, true);
  assert.ok(edns.bytes.length <= UDP_MAX);
  const opt = decodeReply(edns.bytes).additionals?.find((a) => a.type === 'OPT');
  assert.equal(opt?.type === 'OPT' && opt.udpPayloadSize, UDP_MAX);

  const tcp = respond(index, query('big.shop.hostmesh', 'A'), false)!;
  assert.equal(tcp.truncated, false);
  assert.deepEqual(data(decodeReply(tcp.bytes).answers ?? []), BIG_ADDRESSES);

  // Small answers are not truncated, and an EDNS size below 512 counts as 512.
  assert.equal(respond(index, query('web.shop.hostmesh', 'A', { edns: 100 }), true)!.truncated, false);
});

test('FORMERR for readable headers with a bad body; nothing for short packets and responses', () => {
  assert.equal(respond(index, Buffer.alloc(11), true), undefined);
  const response = query('web.shop.hostmesh', 'A');
  response.writeUInt16BE(response.readUInt16BE(2) | 0x8000, 2);
  assert.equal(respond(index, response, true), undefined);

  const garbage = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f, 0x61]);
  const r = respond(index, garbage, true)!;
  assert.equal(r.rcode, 'FORMERR');
  const p = decodeReply(r.bytes);
  assert.equal(p.id, 0x1234);
  assert.equal(p.rcode, 'FORMERR');
  assert.equal(p.flag_rd, true);

  const noQuestion = query('web.shop.hostmesh', 'A');
  noQuestion.writeUInt16BE(0, 4);
  assert.equal(respond(index, noQuestion.subarray(0, 12), true)?.rcode, 'FORMERR');
  const twoQuestions = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'a.hostmesh' }, { type: 'A', name: 'b.hostmesh' }] });
  assert.equal(respond(index, twoQuestions, true)?.rcode, 'FORMERR');
});

test('other opcodes, classes, EDNS versions and zone transfers', () => {
  assert.equal(respond(index, query('web.shop.hostmesh', 'A', { flags: 2 << 11 }), true)?.rcode, 'NOTIMP');
  const badvers = respond(index, dnsPacket.encode({
    type: 'query', id: 3, questions: [{ type: 'A', name: 'web.shop.hostmesh' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 1, flags: 0, flag_do: false, options: [] }],
  }), true)!;
  assert.equal(badvers.rcode, 'BADVERS');
  const opt = decodeReply(badvers.bytes).additionals?.find((a) => a.type === 'OPT');
  assert.equal(opt?.type === 'OPT' && opt.extendedRcode, 1);
  const chaos = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'TXT', name: 'version.bind', class: 'CH' }] });
  assert.equal(respond(index, chaos, true)?.rcode, 'REFUSED');
  assert.equal(respond(index, query('hostmesh', 'AXFR'), false)?.rcode, 'REFUSED');
});

test('property: any bytes at all never throw; a reply exists exactly when a query header does', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.boolean(), (bytes, udp) => {
    const buf = Buffer.from(bytes);
    const r = respond(index, buf, udp);
    if (buf.length < 12 || (buf[2]! & 0x80) !== 0) {
      assert.equal(r, undefined);
      return;
    }
    assert.ok(r !== undefined);
    assert.ok(RCODES.includes(r.rcode));
    assert.equal(r.bytes.readUInt16BE(0), buf.readUInt16BE(0));
    assert.ok((r.bytes[2]! & 0x80) !== 0, 'QR set');
    if (udp) assert.ok(r.bytes.length <= UDP_MAX);
  }), { numRuns: 3000 });
});

test('property: a valid header followed by random bytes is FORMERR or a decodable answer to it', () => {
  const header = fc.record({ id: fc.integer({ min: 0, max: 0xffff }), qd: fc.integer({ min: 0, max: 3 }), an: fc.integer({ min: 0, max: 2 }), ar: fc.integer({ min: 0, max: 2 }) });
  fc.assert(fc.property(header, fc.uint8Array({ maxLength: 300 }), (h, body) => {
    const buf = Buffer.alloc(12 + body.length);
    buf.writeUInt16BE(h.id, 0);
    buf.writeUInt16BE(0x0100, 2);
    buf.writeUInt16BE(h.qd, 4);
    buf.writeUInt16BE(h.an, 6);
    buf.writeUInt16BE(h.ar, 10);
    Buffer.from(body).copy(buf, 12);
    const r = respond(index, buf, true);
    assert.ok(r !== undefined);
    const p = dnsPacket.decode(r.bytes);
    assert.equal(p.id, h.id);
    if (r.rcode !== 'FORMERR') assert.equal(p.questions?.length, 1);
  }), { numRuns: 3000 });
});

test('property: well-formed queries for any name and type get a decodable reply echoing the question', () => {
  const label = fc.oneof(fc.constantFrom('web', 'shop', 'db', 'big', '_http', '_tcp', 'hostmesh', 'traefik', 'mesh', 'WEB', 'x'), fc.stringMatching(/^[a-z0-9-]{1,12}$/));
  const types: RecordType[] = ['A', 'AAAA', 'SRV', 'TXT', 'SOA', 'NS', 'MX', 'CNAME', 'PTR'];
  fc.assert(fc.property(fc.array(label, { maxLength: 6 }), fc.constantFrom(...types), fc.boolean(), (labels, type, udp) => {
    const name = labels.join('.');
    const r = respond(index, query(name === '' ? '.' : name, type), udp)!;
    const p = decodeReply(r.bytes);
    assert.equal(p.questions?.[0]?.type, type);
    assert.equal(p.questions?.[0]?.name.toLowerCase(), name === '' ? '.' : name.toLowerCase());
    const inZone = /(^|\.)(hostmesh|traefik\.mesh|caddy\.mesh)$/i.test(name);
    assert.equal(r.rcode === 'REFUSED', !inZone, `${name}: ${r.rcode}`);
    for (const a of p.answers ?? []) assert.equal(a.type, type);
  }), { numRuns: 1000 });
});
