import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as dns } from 'node:dns';
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import dnsPacket from 'dns-packet';
import type { DecodedPacket, Packet, RecordType } from 'dns-packet';
import { Registry } from 'prom-client';
import { createDnsResponder } from '../../src/proxy/dns/server.ts';
import type { DnsResponder, DnsResponderOptions } from '../../src/proxy/dns/server.ts';
import { isHostmeshError } from '../../src/common/errors.ts';
import { BIG_ADDRESSES, meshConfig } from './dns-fixtures.ts';
import { closed, log, udpExchange, udpSocket } from './l4-fixtures.ts';

type Reply = DecodedPacket & { rcode: string };

async function start(t: TestContext, extra: Partial<DnsResponderOptions> = {}): Promise<{ responder: DnsResponder; udpPort: number; tcpPort: number }> {
  const responder = createDnsResponder({ host: '127.0.0.1', port: 0, config: meshConfig(), log, ...extra });
  const ports = await responder.listen();
  t.after(() => responder.close());
  return { responder, ...ports };
}

function resolver(port: number): dns.Resolver {
  // One try with a short timeout: a test that fails should fail quickly, not after retries.
  const r = new dns.Resolver({ timeout: 3000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
}

function query(name: string, type: RecordType, id = 1, edns?: number): Packet {
  return {
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
    additionals: edns === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  };
}

async function udpQuery(t: TestContext, port: number, packet: Packet | Buffer): Promise<Reply> {
  const s = await udpSocket(t);
  const bytes = Buffer.isBuffer(packet) ? packet : dnsPacket.encode(packet);
  return dnsPacket.decode(await udpExchange(s, port, bytes)) as Reply;
}

/** Collects length-prefixed DNS messages from a TCP stream. */
function tcpReader(s: Socket): { next(): Promise<Reply> } {
  let buf = Buffer.alloc(0);
  const ready: Reply[] = [];
  const waiting: ((r: Reply) => void)[] = [];
  s.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const msg = dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as Reply;
      buf = buf.subarray(2 + buf.readUInt16BE(0));
      const w = waiting.shift();
      if (w) w(msg);
      else ready.push(msg);
    }
  });
  return {
    next: () => {
      const r = ready.shift();
      return r ? Promise.resolve(r) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

async function tcpConnect(t: TestContext, port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port });
  s.on('error', () => {});
  t.after(() => { s.destroy(); });
  await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  return s;
}

test('UDP and TCP share the port, and Node\'s resolver gets A, AAAA and SRV answers', async (t) => {
  const { udpPort, tcpPort } = await start(t);
  assert.equal(udpPort, tcpPort);
  const r = resolver(udpPort);
  assert.deepEqual(await r.resolve4('web.shop.hostmesh'), ['10.96.0.10']);
  assert.deepEqual(await r.resolve4('WEB.Shop.Traefik.Mesh.'), ['10.96.0.10']);
  assert.deepEqual(await r.resolve6('web.shop.caddy.mesh'), ['fd00::10']);
  assert.deepEqual(await r.resolve4('web.shop.hostmesh', { ttl: true }), [{ address: '10.96.0.10', ttl: 5 }]);
  const srv = await r.resolveSrv('_http._tcp.web.shop.hostmesh');
  assert.deepEqual(srv.map(({ name, port, priority, weight }) => ({ name, port, priority, weight })), [{ name: 'web.shop.hostmesh', port: 80, priority: 0, weight: 100 }]);
  assert.deepEqual((await r.resolveSrv('web.shop.hostmesh')).map((s) => s.port).toSorted(), [53, 80, 9090]);
});

test('unknown names are NXDOMAIN (ENOTFOUND), missing types NODATA (ENODATA), other zones REFUSED (EREFUSED)', async (t) => {
  const { udpPort } = await start(t);
  const r = resolver(udpPort);
  await assert.rejects(r.resolve4('nope.shop.hostmesh'), { code: 'ENOTFOUND' });
  await assert.rejects(r.resolve6('db.shop.hostmesh'), { code: 'ENODATA' });
  await assert.rejects(r.resolve4('example.com'), { code: 'EREFUSED' });
});

test('a big answer is truncated over UDP and complete over TCP, so the resolver falls back and gets all of it', async (t) => {
  const { udpPort, tcpPort } = await start(t);
  const viaUdp = await udpQuery(t, udpPort, query('big.shop.hostmesh', 'A'));
  assert.equal(viaUdp.flag_tc, true);
  assert.deepEqual(viaUdp.answers, []);

  const s = await tcpConnect(t, tcpPort);
  const reader = tcpReader(s);
  s.write(dnsPacket.streamEncode(query('big.shop.hostmesh', 'A', 9)));
  const viaTcp = await reader.next();
  assert.equal(viaTcp.flag_tc, false);
  assert.equal(viaTcp.answers?.length, BIG_ADDRESSES.length);

  assert.deepEqual((await resolver(udpPort).resolve4('big.shop.hostmesh')).toSorted(), BIG_ADDRESSES.toSorted());
});

test('TCP: several queries per connection, pipelined and split across writes, answered in order', async (t) => {
  const { tcpPort } = await start(t);
  const s = await tcpConnect(t, tcpPort);
  const reader = tcpReader(s);
  const frames = Buffer.concat([
    dnsPacket.streamEncode(query('web.shop.hostmesh', 'A', 11)),
    dnsPacket.streamEncode(query('nope.shop.hostmesh', 'A', 12)),
    dnsPacket.streamEncode(query('example.com', 'A', 13)),
  ]);
  s.write(frames);
  const replies = [await reader.next(), await reader.next(), await reader.next()];
  assert.deepEqual(replies.map((r) => [r.id, r.rcode]), [[11, 'NOERROR'], [12, 'NXDOMAIN'], [13, 'REFUSED']]);

  // One frame in three pieces, the length prefix itself split.
  const frame = dnsPacket.streamEncode(query('_grpc._tcp.api.other.hostmesh', 'SRV', 14));
  s.write(frame.subarray(0, 1));
  await new Promise((resolve) => setImmediate(resolve));
  s.write(frame.subarray(1, 7));
  await new Promise((resolve) => setImmediate(resolve));
  s.write(frame.subarray(7));
  const srv = await reader.next();
  assert.equal(srv.id, 14);
  assert.deepEqual(srv.answers?.map((a) => a.type === 'SRV' && a.data.port), [9000]);
});

test('TCP: an idle connection is closed by the server', async (t) => {
  const { tcpPort } = await start(t, { tcpIdleTimeoutMs: 300 });
  const s = await tcpConnect(t, tcpPort);
  const reader = tcpReader(s);
  s.write(dnsPacket.streamEncode(query('web.shop.hostmesh', 'A', 5)));
  assert.equal((await reader.next()).rcode, 'NOERROR');
  await closed(s);
});

test('FORMERR for a bad body over UDP and TCP; short packets get nothing; the server survives random bytes', async (t) => {
  const { udpPort, tcpPort } = await start(t);
  const garbage = Buffer.from([0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1]);
  const formerr = await udpQuery(t, udpPort, garbage);
  assert.equal(formerr.id, 0xbeef);
  assert.equal(formerr.rcode, 'FORMERR');

  const s = await tcpConnect(t, tcpPort);
  const reader = tcpReader(s);
  const framed = Buffer.alloc(2 + garbage.length);
  framed.writeUInt16BE(garbage.length, 0);
  garbage.copy(framed, 2);
  s.write(framed);
  assert.equal((await reader.next()).rcode, 'FORMERR');

  // Datagrams too short for a header get nothing: the first reply this socket sees is the
  // one to its real query (loopback keeps datagrams in order).
  const shortSender = await udpSocket(t);
  for (let n = 0; n < 12; n++) shortSender.send(randomBytes(n), udpPort, '127.0.0.1');
  const first = dnsPacket.decode(await udpExchange(shortSender, udpPort, dnsPacket.encode(query('web.shop.hostmesh', 'A', 0xabc)))) as Reply;
  assert.equal(first.id, 0xabc);
  assert.equal(first.rcode, 'NOERROR');

  // Random datagrams: whatever comes back is a response, and the server keeps answering.
  const fuzzer = await udpSocket(t);
  let replies = 0;
  fuzzer.on('message', (m) => {
    replies++;
    assert.ok(m.length >= 12 && (m[2]! & 0x80) !== 0, 'every reply is a DNS response');
  });
  // In batches, so the responder (same process) reads as fast as the kernel buffers fill.
  for (let i = 0; i < 300; i++) {
    fuzzer.send(randomBytes(1 + (i % 200)), udpPort, '127.0.0.1');
    if (i % 10 === 9) await delay(1);
  }
  const after = await udpQuery(t, udpPort, query('web.shop.hostmesh', 'A', 77));
  assert.equal(after.rcode, 'NOERROR');
  assert.ok(replies <= 300);

  // Over TCP a frame too short to hold a header ends the connection.
  const s2 = await tcpConnect(t, tcpPort);
  s2.write(Buffer.from([0, 3, 1, 2, 3]));
  await closed(s2);
});

test('a new config is answered from at once, and the SOA serial moves', async (t) => {
  const { responder, udpPort } = await start(t);
  const r = resolver(udpPort);
  const soaBefore = await r.resolveSoa('hostmesh');
  responder.config = { zones: ['hostmesh'], ttl: 30, services: [{ namespace: 'shop', name: 'cart', addresses: ['10.96.0.20'], ports: [] }] };
  assert.deepEqual(await r.resolve4('cart.shop.hostmesh'), ['10.96.0.20']);
  await assert.rejects(r.resolve4('web.shop.hostmesh'), { code: 'ENOTFOUND' });
  await assert.rejects(r.resolve4('web.shop.traefik.mesh'), { code: 'EREFUSED' });
  const soaAfter = await r.resolveSoa('hostmesh');
  assert.ok(soaAfter.serial > soaBefore.serial);
  assert.equal(soaAfter.minttl, 30);
  assert.equal(responder.config.ttl, 30);
});

test('hostmesh_dns_queries_total counts by rcode, every rcode present from the start', async (t) => {
  const registry = new Registry();
  const { udpPort } = await start(t, { registry });
  const before = await registry.getSingleMetricAsString('hostmesh_dns_queries_total');
  assert.match(before, /hostmesh_dns_queries_total\{rcode="NXDOMAIN"\} 0/);
  assert.match(before, /hostmesh_dns_queries_total\{rcode="FORMERR"\} 0/);
  const r = resolver(udpPort);
  await r.resolve4('web.shop.hostmesh');
  await r.resolve4('api.other.hostmesh');
  await assert.rejects(r.resolve4('nope.shop.hostmesh'));
  await assert.rejects(r.resolve4('example.com'));
  const after = await registry.getSingleMetricAsString('hostmesh_dns_queries_total');
  assert.match(after, /hostmesh_dns_queries_total\{rcode="NOERROR"\} 2/);
  assert.match(after, /hostmesh_dns_queries_total\{rcode="NXDOMAIN"\} 1/);
  assert.match(after, /hostmesh_dns_queries_total\{rcode="REFUSED"\} 1/);
  // A second responder on the same registry shares the counter instead of failing to register.
  await start(t, { registry });
});

test('IPv6 listener', async (t) => {
  const responder = createDnsResponder({ host: '::1', port: 0, config: meshConfig(), log });
  const { udpPort } = await responder.listen();
  t.after(() => responder.close());
  const r = new dns.Resolver({ timeout: 3000, tries: 1 });
  r.setServers([`[::1]:${udpPort}`]);
  assert.deepEqual(await r.resolve4('web.shop.hostmesh'), ['10.96.0.10']);
});

test('listen() on a taken port rejects with listen-failed and leaves nothing bound', async (t) => {
  const taken = createSocket('udp4');
  await new Promise<void>((resolve) => taken.bind({ address: '127.0.0.1', port: 0 }, resolve));
  t.after(() => taken.close());
  const port = taken.address().port;
  const responder = createDnsResponder({ host: '127.0.0.1', port, config: meshConfig(), log });
  await assert.rejects(responder.listen(), (e: unknown) => {
    assert.ok(isHostmeshError(e, 'listen-failed'));
    assert.match(e.message, new RegExp(`dns responder \\(udp\\) cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
    return true;
  });
  await responder.close();

  // TCP taken, UDP free: the UDP socket bound first is released again.
  const tcpTaken = createServer();
  await new Promise<void>((resolve) => tcpTaken.listen({ host: '127.0.0.1', port: 0 }, resolve));
  t.after(() => tcpTaken.close());
  const tcpPort = (tcpTaken.address() as AddressInfo).port;
  const second = createDnsResponder({ host: '127.0.0.1', port: tcpPort, config: meshConfig(), log });
  await assert.rejects(second.listen(), /dns responder \(tcp\) cannot listen .*EADDRINUSE/);
  const probe = createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind({ address: '127.0.0.1', port: tcpPort }, resolve));
  probe.close();
  await second.close();
});
