/** Loopback backends, free ports, engines and clients for the proxy tests. */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import type { Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { ProxyEngine } from '../../src/proxy/engine.ts';
import type { ProxyEngineOptions } from '../../src/proxy/engine.ts';
import { cluster, simpleTable } from '../support/tables.ts';
import type { ClusterEntry, RouteEntry } from '../../src/table/index.ts';
import type { L4Listener, L4ListenerOptions } from '../../src/proxy/l4-listeners.ts';

export const LOOPBACK = '127.0.0.1';

/** A port that was free a moment ago (listen on 0, read it, close). */
let nextPort = 0;

/**
 * A port that was free a moment ago, for a listener a test opens later. Taken from 12000-19999,
 * below Linux's ephemeral range (32768+): a port from `listen(0)` comes from that range, and once
 * closed the kernel may hand it out as the source port of any outgoing connection (tests make
 * thousands), so a later bind would fail now and then. Here only another test process could take
 * it, and each process starts at its own place.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 12000 + ((process.pid * 131 + nextPort++) % 8000);
    const s = createNetServer();
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.listen(port, LOOPBACK, () => resolve(true));
    });
    if (ok) {
      await new Promise<void>((resolve) => s.close(() => resolve()));
      return port;
    }
  }
  throw new Error('no free port in 12000-19999');
}

/** Closes a server and every connection it still has. */
export function closeServer(s: Server | ReturnType<typeof createNetServer>): Promise<void> {
  return new Promise((resolve) => {
    (s as Server).closeAllConnections?.();
    s.close(() => resolve());
  });
}

export interface Backend {
  port: number;
  server: Server;
  /** Requests seen, in order. */
  seen: IncomingMessage[];
}

/** An HTTP/1 backend on loopback, closed after the test. */
export async function httpBackend(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Backend> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  t.after(() => closeServer(server));
  return { port: (server.address() as { port: number }).port, server, seen };
}

/** A backend that answers with its name, for balancing tests. */
export function namedBackend(t: TestContext, name: string): Promise<Backend> {
  return httpBackend(t, (_req, res) => {
    res.setHeader('x-backend', name);
    res.end(name);
  });
}

/** A raw TCP server whose connections do whatever `onSocket` does. */
export async function tcpServer(t: TestContext, onSocket: (s: Socket) => void): Promise<{ port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return closeServer(server);
  });
  return { port: (server.address() as { port: number }).port, sockets };
}

/** A proxy engine with quiet defaults, closed after the test. */
export function engine(t: TestContext, opts: ProxyEngineOptions = {}): ProxyEngine {
  const e = new ProxyEngine({ processMetrics: false, ...opts, limits: { drainTimeoutMs: 2000, ...opts.limits } });
  t.after(() => e.close());
  return e;
}

/** One Service `test/<name>:80` with the given backends' ports as endpoints. */
export function svc(name: string, ports: number[], extra: Partial<ClusterEntry> = {}): ClusterEntry {
  return cluster('test', name, 80, ports.map((port) => ({ address: LOOPBACK, port })), extra);
}

/** A table serving each cluster on its own listener port. */
export function table(entries: { cluster: ClusterEntry; listenPort: number; route?: Partial<RouteEntry> }[], version = 1) {
  return simpleTable(entries, version);
}

/** An undici client agent for the test, closed afterwards. */
export function client(t: TestContext, opts: Agent.Options = {}): Agent {
  const a = new Agent({ keepAliveTimeout: 1000, ...opts });
  t.after(() => a.close());
  return a;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request through `dispatcher`, body read as text. */
export async function get(dispatcher: Dispatcher, url: string, opts: Omit<Dispatcher.RequestOptions, 'origin' | 'path'> = { method: 'GET' }): Promise<Reply> {
  const r = await request(url, { dispatcher, ...opts });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

/** Text of /metrics lines matching `re`. */
/** Works for an engine and a single-thread ProxyHost (a worker pool's own registry lacks the workers' series). */
export async function metricLines(e: { readonly registry: { metrics(): Promise<string> } }, re: RegExp): Promise<string[]> {
  return (await e.registry.metrics()).split('\n').filter((l) => re.test(l));
}

/** Value of the first metric line matching `re`, or undefined. */
export async function metricValue(e: { readonly registry: { metrics(): Promise<string> } }, re: RegExp): Promise<number | undefined> {
  const line = (await metricLines(e, re))[0];
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Sends raw bytes and collects everything until the server closes (send `Connection: close`). */
export function rawExchange(port: number, bytes: string | Buffer, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connectSocket(port);
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${timeoutMs} ms, got ${JSON.stringify(out.slice(0, 300))}`));
    }, timeoutMs);
    s.setEncoding('latin1');
    s.on('data', (d: string) => { out += d; });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.write(bytes);
  });
}

export function connectSocket(port: number): Socket {
  return netConnect({ host: LOOPBACK, port });
}

/** Parses a raw HTTP/1.1 response head: status and lower-cased headers (repeated ones joined). */
export function parseHead(raw: string): { status: number; headers: Map<string, string>; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  const lines = raw.slice(0, end).split('\r\n');
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    headers.set(k, headers.has(k) ? `${headers.get(k)}, ${v}` : v);
  }
  return { status: Number(lines[0]!.split(' ')[1]), headers, body: raw.slice(end + 4) };
}

/**
 * A minimal real TCP forwarder with the L4 listener shape, standing in for src/proxy/l4/ (which
 * another engineer writes) so the engine's L4 seam is exercised end to end.
 */
export function tinyTcpForwarder(opts: L4ListenerOptions): L4Listener {
  return netL4Listener(opts, (down) => {
    down.on('error', () => {});
    const cl = opts.route.pickCluster();
    const ep = cl?.picker.pick();
    if (cl === undefined || ep === undefined) {
      opts.observer.connectError(opts.route.id, cl?.id, 'no-endpoint');
      down.destroy();
      return;
    }
    const up = netConnect({ host: ep.address, port: ep.port });
    up.on('error', () => {
      opts.observer.connectError(opts.route.id, cl.id, 'refused');
      down.destroy();
    });
    down.on('close', () => up.destroy());
    down.pipe(up).pipe(down);
  });
}

/**
 * An L4 listener (the engine's seam) over a real net server that hands each connection to
 * `onConnection`; close() also ends the connections still open.
 */
export function netL4Listener(opts: L4ListenerOptions, onConnection: (s: Socket) => void): L4Listener {
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    onConnection(s);
  });
  return {
    route: opts.route,
    listen: () => new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve());
    }),
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
