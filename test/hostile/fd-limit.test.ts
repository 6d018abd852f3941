/**
 * fd exhaustion under a real open-file limit: the proxy runs in its own process under
 * `ulimit -n 256`; clients open far more connections than that. The overload manager sheds the
 * excess with 503 before the process runs out of fds, admitted clients are all served (their
 * backend connections included), and the process never comes near its limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { until } from '../support/until.ts';
import { freePort, rawBackend, responses } from './support.ts';

const FD_LIMIT = 256;
const CHILD = fileURLToPath(new URL('fd-limited-proxy.ts', import.meta.url));
const REQUEST = 'GET /x HTTP/1.1\r\nHost: raw.test.hostmesh\r\n\r\n';

/** A keep-alive client connection: send a GET, read its one response. */
class Conn {
  readonly s: Socket;
  got = Buffer.alloc(0);
  constructor(port: number) {
    this.s = netConnect({ host: '127.0.0.1', port });
    this.s.on('error', () => {});
    this.s.on('data', (d: Buffer) => { this.got = Buffer.concat([this.got, d]); });
  }

  async ask(): Promise<number> {
    this.got = Buffer.alloc(0);
    this.s.write(REQUEST);
    await until('an answer', () => responses(this.got).length > 0 || this.s.destroyed, 15_000);
    return responses(this.got)[0]?.status ?? 0;
  }
}

test(`under ulimit -n ${FD_LIMIT}, a flood of connections is shed with 503 before the proxy runs out of fds; admitted clients are all served`, async (t) => {
  const b = await rawBackend(t);
  const port = await freePort();
  const child = spawn('bash', ['-c', `ulimit -n ${FD_LIMIT} && exec "${process.execPath}" "${CHILD}" --port ${port} --backend ${b.port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => { child.kill('SIGKILL'); });
  const ready = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8');
    child.stdout.once('data', (d: string) => resolve(d.trim()));
    child.once('exit', (code) => reject(new Error(`the proxy exited (${code})`)));
  });
  // The budget comes from the real limit: 256 - 128 headroom = 128, half of it for clients.
  assert.equal(ready, `ready ${FD_LIMIT} 128 64`);
  const fds = (): number => readdirSync(`/proc/${child.pid}/fd`).length;

  // 120 connections, one after the other, each asking once and staying open.
  const conns: Conn[] = [];
  const first: number[] = [];
  for (let i = 0; i < 120; i++) {
    const c = new Conn(port);
    conns.push(c);
    first.push(await c.ask());
  }
  assert.equal(first.filter((s) => s === 200).length, 64, 'the client budget is admitted and served');
  assert.equal(first.filter((s) => s === 503).length, 56, 'the rest is shed');
  assert.equal(first.filter((s) => s !== 200 && s !== 503).length, 0);
  const admitted = conns.filter((_c, i) => first[i] === 200);
  await until('the shed connections to be closed', () => conns.every((c, i) => first[i] === 200 || c.s.destroyed), 10_000);

  // Every admitted client asks at once: 64 backend connections open beside the 64 clients.
  const again = await Promise.all(admitted.map((c) => c.ask()));
  assert.deepEqual(again.filter((s) => s !== 200), [], 'all admitted clients are served at once');
  const peak = fds();
  assert.ok(peak > 64 && peak < FD_LIMIT - 32, `the proxy holds ${peak} fds of ${FD_LIMIT}`);

  // The flood goes away: a new client is served again, and the process is alive.
  for (const c of conns) c.s.destroy();
  await until('the client connections to be released', () => fds() < peak - 32, 10_000);
  const late = new Conn(port);
  assert.equal(await late.ask(), 200);
  late.s.destroy();
  assert.equal(child.exitCode, null, 'the proxy process is still running');
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
});
