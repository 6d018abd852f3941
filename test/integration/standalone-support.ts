/**
 * Manifests, backends and admin readers for the end-to-end tests through `hostmesh standalone`:
 * multi-port Services as YAML, a WebSocket echo and an h2c (gRPC-style) echo backend, and small
 * readers of `/v1/status`, `/v1/routes` and `/metrics`.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer as createH2Server } from 'node:http2';
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { TestContext } from 'node:test';
import type { Diagnostic } from '../../src/controller/translation/types.ts';
import type { ClusterEntry, RouteEntry } from '../../src/table/index.ts';
import type { StandaloneFixture } from '../support/standalone.ts';

export { serviceYaml } from '../support/standalone.ts';
export type { PortSpec } from '../support/standalone.ts';

/** The diagnostics `GET /v1/status` reports. */
export async function status(mesh: StandaloneFixture): Promise<Diagnostic[]> {
  const r = await fetch(`${mesh.admin}/v1/status`);
  if (r.status !== 200) throw new Error(`/v1/status answered ${r.status}`);
  return ((await r.json()) as { diagnostics: Diagnostic[] }).diagnostics;
}

/** The text lines of `GET /v1/routes`. */
export async function routeLines(mesh: StandaloneFixture): Promise<string[]> {
  const r = await fetch(`${mesh.admin}/v1/routes`);
  return (await r.text()).split('\n').filter((l) => l !== '');
}

/** Sum of the `/metrics` samples whose line starts with `prefix` and contains every `parts`. */
export async function metricSum(mesh: StandaloneFixture, prefix: string, ...parts: string[]): Promise<number> {
  const text = await (await fetch(`${mesh.admin}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(prefix) && parts.every((p) => line.includes(p))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The applied cluster and route of a Service port, read from the engine's current table. */
export function applied(mesh: StandaloneFixture, id: string): { cluster: ClusterEntry | undefined; route: RouteEntry | undefined } {
  const table = mesh.mesh.engine.current?.table;
  return { cluster: table?.clusters.find((c) => c.id === id), route: table?.routes.find((r) => r.id === id) };
}

/**
 * Server side of a WebSocket echo on an HTTP server's `upgrade` event: the RFC 6455 handshake,
 * then every client frame (masked) is sent back unmasked with the same opcode; a close frame is
 * echoed and ends the connection.
 */
export function acceptWebSocketEcho(req: { headers: IncomingHttpHeaders }, socket: Duplex, head: Buffer): void {
  const key = String(req.headers['sec-websocket-key'] ?? '');
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.on('error', () => {});
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  let pending = head;
  const onData = (chunk: Buffer): void => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const frame = readClientFrame(pending);
      if (frame === undefined) return;
      pending = pending.subarray(frame.size);
      socket.write(serverFrame(frame.opcode, frame.payload));
      if (frame.opcode === 0x8) {
        socket.end();
        return;
      }
    }
  };
  socket.on('data', onData);
  if (head.length > 0) onData(Buffer.alloc(0));
}

function readClientFrame(buf: Buffer): { opcode: number; payload: Buffer; size: number } | undefined {
  if (buf.length < 2) return undefined;
  const opcode = buf[0]! & 0x0f;
  let length = buf[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buf.length < 4) return undefined;
    length = buf.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buf.length < 10) return undefined;
    length = Number(buf.readBigUInt64BE(2));
    offset = 10;
  }
  if (buf.length < offset + 4 + length) return undefined;
  const mask = buf.subarray(offset, offset + 4);
  const payload = Buffer.from(buf.subarray(offset + 4, offset + 4 + length));
  for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
  return { opcode, payload, size: offset + 4 + length };
}

function serverFrame(opcode: number, payload: Buffer): Buffer {
  const first = 0x80 | opcode;
  if (payload.length < 126) return Buffer.concat([Buffer.from([first, payload.length]), payload]);
  if (payload.length < 65536) {
    const head = Buffer.from([first, 126, 0, 0]);
    head.writeUInt16BE(payload.length, 2);
    return Buffer.concat([head, payload]);
  }
  const head = Buffer.alloc(10);
  head[0] = first;
  head[1] = 127;
  head.writeBigUInt64BE(BigInt(payload.length), 2);
  return Buffer.concat([head, payload]);
}

/**
 * An HTTP/2-only (h2c, prior knowledge) backend on 127.0.0.1 answering gRPC style: the request
 * body echoed back with `content-type: application/grpc`, then `grpc-status` trailers. An
 * HTTP/1.1 request cannot reach it: it speaks nothing else.
 */
export async function grpcEchoBackend(t: TestContext): Promise<{ port: number; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createH2Server();
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    seen.push(headers);
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': `echoed ${headers[':path']}` }));
      stream.end(Buffer.concat(parts));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sessions) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as { port: number }).port, seen };
}

/** A gRPC-style length-prefixed message (uncompressed). */
export function grpcMessage(text: string): Buffer {
  const body = Buffer.from(text);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}
