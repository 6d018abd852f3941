/**
 * Every protocol through `hostmesh standalone`, configured by annotations only: WebSocket over an
 * http port, gRPC-style h2c, raw TCP with half-close, and UDP.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { connect as h2connect } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { client, get, httpBackend } from '../proxy/helpers.ts';
import { closed, readAll, tcpBackend, tcpClient, tcpClientRaw, udpBackend, udpExchange, udpSocket } from '../proxy/l4-fixtures.ts';
import { service, withStandalone } from '../support/standalone.ts';
import { acceptWebSocketEcho, grpcEchoBackend, grpcMessage, metricSum, routeLines, serviceYaml } from './standalone-support.ts';

test('WebSocket: the upgrade is relayed on an http port and frames echo both ways', async (t) => {
  const upgrades: IncomingHttpHeaders[] = [];
  const b = await httpBackend(t, (_req, res) => res.end('plain http'));
  b.server.on('upgrade', (req: { headers: IncomingHttpHeaders }, socket: Duplex, head: Buffer) => {
    upgrades.push(req.headers);
    acceptWebSocketEcho(req, socket, head);
  });
  const mesh = await withStandalone(t, { 'chat.yaml': service('chat', { ports: [b.port] }) });
  const port = mesh.port('test/chat:80');
  const big = 'w'.repeat(100_000);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`);
  t.after(() => ws.close());
  const messages: string[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => {
      ws.send('hello mesh');
      ws.send(big);
    };
    ws.onmessage = (m) => {
      messages.push(String(m.data));
      if (messages.length === 2) ws.close(1000, 'done');
    };
    ws.onclose = () => resolve();
    ws.onerror = () => reject(new Error('WebSocket error'));
  });
  assert.deepEqual(messages, ['hello mesh', big]);
  assert.equal(upgrades.length, 1);
  assert.equal(upgrades[0]!.upgrade, 'websocket');
  assert.equal(upgrades[0]!['x-forwarded-for'], '127.0.0.1');
  // The same port still serves plain HTTP.
  assert.equal((await get(client(t), `${mesh.url('test/chat:80')}/`)).body, 'plain http');
  assert.equal(await metricSum(mesh, 'hostmesh_requests_total{', 'destination_service="chat"', 'code="101"'), 1);
});

async function grpcCall(port: number, t: TestContext, path: string, message: Buffer): Promise<{ headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders; body: Buffer }> {
  const session = h2connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  t.after(() => session.destroy());
  const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', 'te': 'trailers' });
  return new Promise((resolve, reject) => {
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const parts: Buffer[] = [];
    req.on('response', (h) => { headers = h; });
    req.on('trailers', (h) => { trailers = h; });
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      session.close();
      resolve({ headers, trailers, body: Buffer.concat(parts) });
    });
    req.on('error', reject);
    req.end(message);
  });
}

test('gRPC-style h2c: scheme h2c (or appProtocol kubernetes.io/h2c) carries body and trailers end to end', async (t) => {
  const backend = await grpcEchoBackend(t);
  const mesh = await withStandalone(t, {
    'by-annotation.yaml': serviceYaml('greeter', { annotations: { 'hostmesh.io/scheme': 'h2c' }, ports: [{ name: 'grpc', port: 50051, backends: [backend.port] }] }),
    'by-app-protocol.yaml': serviceYaml('greeter-ap', { ports: [{ name: 'grpc', port: 50051, backends: [backend.port], appProtocol: 'kubernetes.io/h2c' }] }),
  });
  for (const route of ['test/greeter:50051', 'test/greeter-ap:50051']) {
    const message = grpcMessage(`hello from ${route}`);
    const reply = await grpcCall(mesh.port(route), t, '/helloworld.Greeter/SayHello', message);
    assert.equal(reply.headers[':status'], 200, route);
    assert.equal(reply.headers['content-type'], 'application/grpc');
    assert.deepEqual(reply.body, message);
    assert.equal(reply.trailers['grpc-status'], '0');
    assert.equal(reply.trailers['grpc-message'], 'echoed /helloworld.Greeter/SayHello');
  }
  assert.equal(backend.seen.length, 2);
  assert.equal(backend.seen[0]!.te, 'trailers');
  // An HTTP/1.1 client reaches the HTTP/2-only backend too: the proxy speaks h2c to it.
  const h1 = await get(client(t), `${mesh.url('test/greeter:50051')}/helloworld.Greeter/SayHello`, { method: 'POST', body: grpcMessage('h1'), headers: { 'content-type': 'application/grpc' } });
  assert.equal(h1.status, 200);
  assert.equal(h1.body.slice(5), 'h1');
});

/** Replies upper-cased, only after the client has finished sending (its FIN). */
function upperAfterEnd(s: Socket): void {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.on('end', () => s.end(Buffer.concat(chunks).toString('latin1').toUpperCase()));
}

test('TCP: echo through a traffic-type tcp port, and a half-close carries the reply after the FIN', async (t) => {
  const echo = await tcpBackend(t, (s) => s.pipe(s));
  const upper = await tcpBackend(t, upperAfterEnd);
  const mesh = await withStandalone(t, {
    'echo.yaml': service('echo', { port: 7, ports: [echo.port], annotations: { 'hostmesh.io/traffic-type': 'tcp' } }),
    'upper.yaml': service('upper', { port: 9000, ports: [upper.port], annotations: { 'hostmesh.io/traffic-type': 'tcp' } }),
  });
  const lines = await routeLines(mesh);
  assert.ok(lines.some((l) => l.startsWith('test/echo:7 -> ') && l.includes(' tcp ')), lines.join('\n'));

  const c = await tcpClient(mesh.port('test/echo:7'));
  const echoed = readAll(c);
  c.write('ping ');
  c.end('pong');
  assert.equal((await echoed).toString(), 'ping pong');
  await closed(c);

  const h = await tcpClient(mesh.port('test/upper:9000'));
  const reply = readAll(h);
  h.end('half-closed hello');
  assert.equal((await reply).toString(), 'HALF-CLOSED HELLO', 'the backend saw the FIN and its later reply reached the client');
  assert.equal((await closed(h)).error, undefined);
});

test('TCP: a port with no endpoint resets the connection', async (t) => {
  const mesh = await withStandalone(t, { 'db.yaml': service('db', { port: 5432, ports: [], annotations: { 'hostmesh.io/traffic-type': 'tcp' } }) });
  const s = tcpClientRaw(mesh.port('test/db:5432'));
  const got = readAll(s);
  const { error } = await closed(s);
  assert.equal(error, 'ECONNRESET');
  assert.equal((await got).length, 0);
});

test('UDP: datagrams echo through a protocol UDP port, each client on its own session', async (t) => {
  const backend = await udpBackend(t, (m) => Buffer.from(`echo:${m.toString()}`));
  // read-timeout is a UDP session's idle expiry: short, so closing the mesh need not wait out
  // the drain period for sessions to end.
  const annotations = { 'hostmesh.io/read-timeout': '1s' };
  const mesh = await withStandalone(t, { 'dns.yaml': service('resolver', { port: 53, protocol: 'UDP', ports: [backend.port], annotations }) });
  const lines = await routeLines(mesh);
  assert.ok(lines.some((l) => l.startsWith('test/resolver:53 -> ') && l.includes(' udp ')), lines.join('\n'));
  const port = mesh.port('test/resolver:53');
  const [a, b] = await Promise.all([udpSocket(t), udpSocket(t)]);
  assert.equal((await udpExchange(a, port, 'one')).toString(), 'echo:one');
  assert.equal((await udpExchange(b, port, 'two')).toString(), 'echo:two');
  assert.equal((await udpExchange(a, port, 'three')).toString(), 'echo:three');
  assert.equal(backend.received, 3);
  assert.equal(backend.sources.size, 2, 'one proxy session (source port) per client');
});
