/**
 * Echo pods for the ported conformance tests: one per upstream echo Deployment, bound to its own
 * loopback address (the pod IP, 127.0.0.x) so a request it sends carries that source address.
 * Each pod serves the base manifests' ports: HTTP on `http` and `http-alt`, gRPC (h2c) on
 * `grpc`, TLS on `https`, a TCP echo on `tcp`; the real ports are chosen by the kernel.
 *
 * HTTP answers with the JSON shape of the upstream echo server (echo-basic): path (with query),
 * host, method, proto, headers (each header's values as sent, one entry per header line),
 * namespace, ingress, service, pod; like echo-basic it waits `?delay=1s` before answering. gRPC serves the upstream mesh echo's method,
 * `proto.EchoTestService/Echo`, whose reply message is `key=value` lines as that echo writes them
 * (Hostname, StatusCode, RequestHeader=name:value, ...).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createServer as createH2c } from 'node:http2';
import type { Http2Server, ServerHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import { createServer as createTcp } from 'node:net';
import type { Server as NetServer } from 'node:net';
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';

export const PORT_NAMES = ['http', 'http-alt', 'https', 'tcp', 'grpc'] as const;
export type PortName = (typeof PORT_NAMES)[number];
/** The base manifests' Service port numbers by name. */
export const SERVICE_PORTS: Readonly<Record<PortName, number>> = { 'http': 80, 'http-alt': 8080, 'https': 443, 'tcp': 9090, 'grpc': 7070 };

export interface EchoPod {
  readonly name: string;
  readonly namespace: string;
  /** Pod IP: the loopback address every server of the pod binds, and its clients send from. */
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Container ports actually bound, by port name. */
  readonly ports: Readonly<Record<PortName, number>>;
  /** HTTP requests the pod answered, oldest first (the last 1,000): its "logs". */
  readonly seen: readonly EchoBody[];
}

/** What the HTTP echo answers (echo-basic's shape). */
export interface EchoBody {
  path: string;
  host: string;
  method: string;
  proto: string;
  headers: Record<string, string[]>;
  namespace: string;
  ingress: string;
  service: string;
  pod: string;
}

type Closable = { close(cb?: (err?: Error) => void): unknown; closeAllConnections?: () => void };

function listen(server: NetServer | Http2Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve((server.address() as { port: number }).port));
  });
}

function closeAll(servers: Closable[]): Promise<void> {
  return Promise.all(servers.map((s) => new Promise<void>((resolve) => {
    s.closeAllConnections?.();
    s.close(() => resolve());
  }))).then(() => undefined);
}

/** Header lines as received, names lower-cased, each line's value kept apart. */
function headerLines(raw: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) (out[raw[i]!.toLowerCase()] ??= []).push(raw[i + 1]!);
  return out;
}

/** Go duration of echo-basic's `delay` query parameter (`500ms`, `1s`), in ms. */
function delayOf(url: string): number {
  const m = /[?&]delay=(\d+(?:\.\d+)?)(ms|s)(?:&|$)/.exec(url);
  return m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : 0;
}

function httpEcho(pod: { name: string; namespace: string }, seen: EchoBody[]): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => {
      if (res.destroyed) return;
      const body: EchoBody = {
        path: req.url ?? '/',
        host: req.headers.host ?? '',
        method: req.method ?? '',
        proto: `HTTP/${req.httpVersion}`,
        headers: headerLines(req.rawHeaders),
        namespace: pod.namespace,
        ingress: '',
        service: '',
        pod: pod.name,
      };
      seen.push(body);
      if (seen.length > 1000) seen.shift();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    }, delayOf(req.url ?? '')));
  };
}

/** A protobuf message with one length-delimited string field 1 (EchoRequest and EchoResponse). */
export function messageField1(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const len: number[] = [];
  let n = bytes.length;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n > 0) b |= 0x80;
    len.push(b);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x0a, ...len]), bytes]);
}

/** Field 1 of a protobuf message as text ('' when absent). */
export function readField1(msg: Buffer): string {
  let i = 0;
  while (i < msg.length) {
    const key = msg[i++]!;
    let len = 0;
    let shift = 0;
    for (;;) {
      const b = msg[i++]!;
      len |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
    }
    if (key === 0x0a) return msg.subarray(i, i + len).toString('utf8');
    i += len;
  }
  return '';
}

/** One gRPC length-prefixed frame around a message. */
export function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** The messages of a gRPC body (uncompressed frames). */
export function grpcMessages(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + 5 <= body.length;) {
    const len = body.readUInt32BE(i + 1);
    out.push(body.subarray(i + 5, i + 5 + len));
    i += 5 + len;
  }
  return out;
}

export const GRPC_ECHO_PATH = '/proto.EchoTestService/Echo';

function grpcEcho(pod: { name: string; namespace: string; version: string }): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void {
  return (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => {});
    stream.on('end', () => {
      if (headers[':path'] !== GRPC_ECHO_PATH) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': `unknown method ${String(headers[':path'])}` }, { endStream: true });
        return;
      }
      const request = grpcMessages(Buffer.concat(chunks)).map(readField1)[0] ?? '';
      const lines: string[] = [];
      if (request) lines.push(`Echo=${request}`);
      lines.push(`ServiceVersion=${pod.version}`, `ServicePort=${SERVICE_PORTS.grpc}`, 'StatusCode=200', 'Proto=GRPC');
      lines.push(`Host=${String(headers[':authority'] ?? '')}`, `Hostname=${pod.name}`, `Namespace=${pod.namespace}`);
      for (const [name, value] of Object.entries(headers)) {
        if (name.startsWith(':')) continue;
        for (const v of Array.isArray(value) ? value : [String(value)]) lines.push(`RequestHeader=${name}:${v}`);
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
      stream.end(grpcFrame(messageField1(`${lines.join('\n')}\n`)));
    });
  };
}

const fixtures = new URL('../../fixtures/', import.meta.url);

/** Starts one echo pod's servers on `address`; they close after the test (or suite) `t`. */
export async function startEchoPod(t: Pick<TestContext, 'after'>, pod: { name: string; namespace: string; address: string; labels: Record<string, string> }): Promise<EchoPod> {
  const version = pod.labels.version ?? '';
  const seen: EchoBody[] = [];
  const http = createServer(httpEcho(pod, seen));
  const httpAlt = createServer(httpEcho(pod, seen));
  const https = createHttps({ cert: readFileSync(new URL('test-backend.crt', fixtures)), key: readFileSync(new URL('test-backend.key', fixtures)) }, httpEcho(pod, seen));
  const grpc = createH2c();
  grpc.on('stream', grpcEcho({ ...pod, version }));
  grpc.on('sessionError', () => {});
  const tcp = createTcp((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  const servers: Closable[] = [http, httpAlt, https, grpc, tcp];
  t.after(() => closeAll(servers));
  const ports: Record<PortName, number> = {
    'http': await listen(http, pod.address),
    'http-alt': await listen(httpAlt, pod.address),
    'https': await listen(https, pod.address),
    'tcp': await listen(tcp, pod.address),
    'grpc': await listen(grpc, pod.address),
  };
  return { name: pod.name, namespace: pod.namespace, address: pod.address, labels: pod.labels, ports, seen };
}
