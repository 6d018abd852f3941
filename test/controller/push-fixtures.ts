/** Shared pieces of the distribution tests (and the convergence bench): tables, a controller, watch readers. */
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { portId } from '../../src/table/index.ts';
import type { ClusterEntry, WatchMessage } from '../../src/table/index.ts';
import type { Logger } from '../../src/common/log.ts';
import { Publisher } from '../../src/controller/push/publisher.ts';
import type { PublisherOptions, TableContent } from '../../src/controller/push/publisher.ts';
import { PushServer } from '../../src/controller/push/server.ts';
import type { PushServerOptions } from '../../src/controller/push/server.ts';
import { LineSplitter } from '../../src/proxy/config/lines.ts';

export const TOKEN = 'sekrit-token-for-tests';

/**
 * A valid table body with `services` HTTP services (3 endpoints each). `variant` moves one
 * endpoint of one service, so consecutive variants differ by one small change, as a rollout does.
 */
export function content(services: number, variant = 0): TableContent {
  const clusters: ClusterEntry[] = [];
  const routes: TableContent['routes'] = [];
  const listeners: TableContent['listeners'] = [];
  const dnsServices: TableContent['dns']['services'] = [];
  for (let i = 0; i < services; i++) {
    const name = `svc-${i}`;
    const id = portId('bench', name, 80);
    const b = (i >> 8) & 0xff;
    const c = i & 0xff;
    clusters.push({
      id, namespace: 'bench', service: name, port: 80, protocol: 'http', scheme: 'http', dialTimeoutMs: 3000,
      loadBalancer: { kind: 'least-request' }, passiveHealth: { maxFails: 1, failDurationMs: 10_000 },
      endpoints: [1, 2, 3].map((d) => ({ address: `10.${b}.${c}.${d}`, port: 8080, nodeName: `node-${d}`, target: `bench/${name}-${d}` })),
    });
    routes.push({ id, namespace: 'bench', service: name, port: 80, protocol: 'http', rules: [], backends: [{ cluster: id, weight: 1 }] });
    listeners.push({ port: 10_000 + i, protocol: 'http', route: id });
    dnsServices.push({ namespace: 'bench', name, addresses: [`10.96.${b}.${c}`], ports: [{ name: 'http', protocol: 'tcp', port: 80 }] });
  }
  const base: TableContent = { dns: { zones: ['hostmesh'], ttl: 5, services: dnsServices }, listeners, routes, clusters };
  return variant === 0 ? base : changed(base, variant);
}

/** `base` with the first endpoint of one service moved to another port; shares everything else. */
export function changed(base: TableContent, variant: number): TableContent {
  const n = base.clusters.length;
  if (n === 0) return { ...base, dns: { ...base.dns, ttl: 1 + (variant % 3600) } };
  const i = variant % n;
  const clusters = base.clusters.slice();
  const c = clusters[i]!;
  const [first, ...rest] = c.endpoints;
  clusters[i] = { ...c, endpoints: [{ ...first!, port: 1 + ((8080 + variant) % 65535) }, ...rest] };
  return { ...base, clusters };
}

export interface Controller {
  publisher: Publisher;
  server: PushServer;
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startController(
  t: TestContext | undefined,
  options: Partial<Omit<PushServerOptions, 'publisher'>> & PublisherOptions & { port?: number } = {},
): Promise<Controller> {
  const publisher = new Publisher({ epoch: options.epoch, coalesceMs: options.coalesceMs ?? 5, maxDelayMs: options.maxDelayMs ?? 20 });
  const server = new PushServer({ token: TOKEN, log: options.log ?? quietLogger(), ...options, publisher });
  const { port } = await server.listen(options.port ?? 0, '127.0.0.1');
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    publisher.close();
    await server.close();
  };
  t?.after(close);
  return { publisher, server, port, url: `http://127.0.0.1:${port}`, close };
}

export function quietLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A debug-level logger that keeps its lines, for asserting on what an operator would read. */
export function captureLogger(): { log: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as { level: number; msg: string });
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** Polls `cond` until it holds; fails with `what` after a generous safety timeout. */

export interface WatchReader {
  status: number;
  headers: IncomingMessage['headers'];
  /** The next message (waits for it). */
  next(): Promise<WatchMessage>;
  /** Messages received and not yet taken by next(). */
  readonly buffered: WatchMessage[];
  close(): void;
}

/** Opens a watch with node:http and parses its NDJSON, independently of the proxy's client. */
export function openWatch(t: TestContext, port: number, query: string, token: string | undefined = TOKEN): Promise<WatchReader> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const req = request({ host: '127.0.0.1', port, path: `/v1/watch?${query}`, headers }, (res) => {
      const buffered: WatchMessage[] = [];
      const waiters: ((m: WatchMessage) => void)[] = [];
      const splitter = new LineSplitter(1 << 30);
      res.on('data', (chunk: Buffer) => splitter.push(chunk, (line) => {
        const msg = JSON.parse(line.toString('utf8')) as WatchMessage;
        const w = waiters.shift();
        if (w) w(msg);
        else buffered.push(msg);
      }));
      res.on('error', () => undefined);
      const reader: WatchReader = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        buffered,
        next: () => {
          const m = buffered.shift();
          if (m) return Promise.resolve(m);
          return new Promise((resolve) => waiters.push(resolve));
        },
        close: () => req.destroy(),
      };
      t.after(() => reader.close());
      resolve(reader);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A plain HTTP request to the controller; resolves with status, headers and body text. */
export function call(port: number, method: string, path: string, options: { token?: string | null; body?: string | Buffer; headers?: Record<string, string> } = {}):
  Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? TOKEN : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] ??= 'application/json';
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * A raw socket's HTTP/1.1 response with a chunked body, decoded as it comes: returns the
 * socket's data handler, which passes body bytes to `onData` and each chunk's size to
 * `onChunk`. A line of the watch stream may span many chunks (a snapshot is written in
 * pieces), and a chunk's size line may be cut between two reads.
 */
export function chunkedBody(onData: (data: Buffer) => void, onChunk?: (size: number) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  let headerDone = false;
  let left = 0;
  const decode = (): void => {
    for (;;) {
      if (!headerDone) {
        const i = pending.indexOf('\r\n\r\n');
        if (i < 0) return;
        headerDone = true;
        pending = pending.subarray(i + 4);
      }
      if (left > 0) {
        const take = Math.min(left, pending.length);
        if (take === 0) return;
        onData(pending.subarray(0, take));
        pending = pending.subarray(take);
        left -= take;
        continue;
      }
      // A size line, after the CRLF that ends the previous chunk's data.
      const at = pending.subarray(0, 2).toString() === '\r\n' ? 2 : 0;
      const eol = pending.indexOf('\r\n', at);
      if (eol < 0) return;
      const size = Number.parseInt(pending.subarray(at, eol).toString(), 16);
      if (!Number.isInteger(size)) throw new Error(`not a chunk size: ${JSON.stringify(pending.subarray(at, eol).toString())}`);
      onChunk?.(size);
      left = size;
      pending = pending.subarray(eol + 2);
      if (size === 0) return;
    }
  };
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    decode();
  };
}
