/**
 * Loopback backends and clients for the layer-4 tests. Everything binds 127.0.0.1 on port 0 and
 * is closed through `t.after`.
 */
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { setTimeout as delay } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import { createLogger } from '../../src/common/log.ts';

export const log = createLogger('test');

/** A TCP server whose sockets are all destroyed at the end of the test. */
export async function tcpBackend(t: TestContext, onConnection: (s: Socket) => void): Promise<{ port: number; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  t.after(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  return { port: (server.address() as AddressInfo).port, server, sockets };
}

/** Echoes every byte back, and ends when the client ends. */
export function echo(s: Socket): void {
  s.pipe(s);
}

/** Replies with a fixed tag followed by an echo, so a test can tell backends apart. */
export function taggedEcho(tag: string): (s: Socket) => void {
  return (s) => {
    s.write(tag);
    s.pipe(s);
  };
}

/** A port nothing listens on: dials are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A port where dials hang until they time out: a listener in a worker whose event loop is
 * blocked, with an accept queue of one that two idle connections fill, so the kernel drops
 * further SYNs.
 */
export async function unresponsivePort(t: TestContext): Promise<number> {
  // gate[0]: set to release the worker; gate[1]: set by the worker once its loop is blocked.
  const gate = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(`
    const { workerData: gate, parentPort } = require('node:worker_threads');
    const server = require('node:net').createServer();
    server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
      parentPort.postMessage(server.address().port);
      setImmediate(() => { Atomics.store(gate, 1, 1); Atomics.wait(gate, 0, 0); server.close(); });
    });
  `, { eval: true, workerData: gate });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await eventually(() => Atomics.load(gate, 1) === 1, 'the worker to block');
  const fillers: Socket[] = [];
  t.after(async () => {
    for (const s of fillers) s.destroy();
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    await worker.terminate();
  });
  for (let i = 0; i < 2; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    fillers.push(s);
    await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  }
  return port;
}

/** A client socket that may be turned away before or right after its handshake completes. */
export function tcpClientRaw(port: number): Socket {
  const s = connect({ host: '127.0.0.1', port });
  s.on('error', () => {});
  return s;
}

export async function tcpClient(port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  return s;
}

/** Everything a socket receives until its readable side ends or it closes. */
export function readAll(s: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks));
    };
    s.once('end', finish);
    s.once('close', finish);
  });
}

/**
 * Resolves once the socket has closed (a FIN from the other side is answered with ours);
 * `error` tells whether it was reset.
 */
export function closed(s: Socket): Promise<{ error: string | undefined }> {
  let error: string | undefined;
  s.on('error', (e: NodeJS.ErrnoException) => { error = e.code ?? e.message; });
  s.once('end', () => s.end());
  if (s.closed) return Promise.resolve({ error });
  return new Promise((resolve) => s.once('close', () => resolve({ error })));
}

/** Reads until `n` bytes have arrived. */
export function readBytes(s: Socket, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        s.removeListener('data', onData);
        s.removeListener('close', onClose);
        resolve(Buffer.concat(chunks));
      }
    };
    const onClose = (): void => reject(new Error(`socket closed after ${got} of ${n} bytes`));
    s.on('data', onData);
    s.once('close', onClose);
  });
}

export async function udpSocket(t: TestContext, type: 'udp4' | 'udp6' = 'udp4'): Promise<UdpSocket> {
  const s = createSocket(type);
  s.on('error', () => {});
  await new Promise<void>((resolve) => s.bind({ address: type === 'udp4' ? '127.0.0.1' : '::1', port: 0 }, resolve));
  t.after(() => new Promise<void>((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve();
    }
  }));
  return s;
}

/** A UDP backend that answers each datagram with `reply(msg)`; counts what it saw per source. */
export async function udpBackend(t: TestContext, reply: (msg: Buffer) => Buffer | undefined, type: 'udp4' | 'udp6' = 'udp4'): Promise<{ port: number; sources: Set<string>; received: number }> {
  const s = await udpSocket(t, type);
  const state = { port: s.address().port, sources: new Set<string>(), received: 0 };
  s.on('message', (msg, rinfo) => {
    state.received++;
    state.sources.add(`${rinfo.address}:${rinfo.port}`);
    const out = reply(msg);
    if (out) s.send(out, rinfo.port, rinfo.address);
  });
  return state;
}

/** Sends one datagram and waits for the next one back (rejects after `ms`, a safety net). */
export function udpExchange(s: UdpSocket, port: number, msg: string | Buffer, host = '127.0.0.1', ms = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.removeListener('message', onMessage);
      reject(new Error(`no UDP reply within ${ms} ms`));
    }, ms);
    const onMessage = (m: Buffer): void => {
      clearTimeout(timer);
      resolve(m);
    };
    s.once('message', onMessage);
    s.send(msg, port, host);
  });
}

/** Polls `cond` every 10 ms until it holds; throws after `ms` (a safety net, not a measurement). */
export async function eventually(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await delay(10);
  }
}
