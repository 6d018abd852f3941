/**
 * The proxy's own HTTP/1.1 backend pool (src/proxy/http/h1-pool.ts), driven through undici's
 * handler protocol against raw-socket backends that record exactly what they received.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { H1Pool } from '../../src/proxy/http/h1-pool.ts';
import { LOOPBACK, tcpServer } from './helpers.ts';

interface Outcome {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  error?: Error & { code?: string };
}

function send(pool: Dispatcher | H1Pool, opts: Partial<Dispatcher.DispatchOptions> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { status: 0, headers: {}, body: '' };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart(_c, status, headers) {
        out.status = status;
        out.headers = headers as Outcome['headers'];
      },
      onResponseData(_c, chunk) {
        out.body += chunk.toString('latin1');
      },
      onResponseEnd() {
        resolve(out);
      },
      onResponseError(_c, err) {
        out.error = err;
        resolve(out);
      },
    };
    pool.dispatch({ path: '/', method: 'GET', headers: ['host', 'svc.test'], ...opts } as Dispatcher.DispatchOptions, handler);
  });
}

/** A backend answering each request head it reads with `answer(head, n)`; records heads and connections. */
async function rawBackend(t: Parameters<typeof tcpServer>[0], answer: (head: string, n: number, s: Socket) => string | undefined) {
  const heads: string[] = [];
  let connections = 0;
  const server = await tcpServer(t, (s) => {
    connections++;
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end + 4);
        const len = /content-length: (\d+)/i.exec(head);
        const total = end + 4 + (len === null ? 0 : Number(len[1]));
        if (buf.length < total) return;
        heads.push(buf.slice(0, total));
        buf = buf.slice(total);
        const reply = answer(head, heads.length, s);
        if (reply !== undefined) s.write(reply);
      }
    });
  });
  return { port: server.port, heads, get connections() { return connections; } };
}

function pool(t: Parameters<typeof tcpServer>[0], port: number, extra: Partial<ConstructorParameters<typeof H1Pool>[0]> = {}): H1Pool {
  const p = new H1Pool({
    host: LOOPBACK, port, dialTimeoutMs: 2000, keepAliveTimeoutMs: 4000, maxHeaderSize: 16384, connections: 0,
    fallback: () => new Pool(`http://${LOOPBACK}:${port}`), ...extra,
  });
  t.after(() => p.destroy());
  return p;
}

const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';

test('requests go out in undici\'s head form and reuse one keep-alive connection', async (t) => {
  const b = await rawBackend(t, () => OK);
  const p = pool(t, b.port);
  for (let i = 0; i < 3; i++) assert.equal((await send(p, { headers: ['Host', 'svc.test', 'X-A', '1', 'content-length', '0'] })).body, 'ok');
  assert.equal(b.connections, 1);
  assert.equal(b.heads[0], 'GET / HTTP/1.1\r\nhost: svc.test\r\nconnection: keep-alive\r\nX-A: 1\r\n\r\n');
  const post = await send(p, { method: 'POST', body: Buffer.from('hello'), headers: ['host', 'svc.test', 'content-length', '5'] });
  assert.equal(post.status, 200);
  assert.equal(b.heads[3], 'POST / HTTP/1.1\r\nhost: svc.test\r\nconnection: keep-alive\r\ncontent-length: 5\r\n\r\nhello');
  await send(p, { method: 'POST' });
  assert.match(b.heads[4]!, /content-length: 0\r\n\r\n$/);
});

test('chunked and close-delimited bodies, 1xx skipped, repeated headers as lists', async (t) => {
  const b = await rawBackend(t, (_h, n, s) => {
    if (n === 1) return 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n';
    s.end('HTTP/1.1 200 OK\r\n\r\nuntil close');
    return undefined;
  });
  const p = pool(t, b.port);
  const first = await send(p);
  assert.deepEqual([first.status, first.body, first.headers['set-cookie']], [200, 'abcde', ['a=1', 'b=2']]);
  const second = await send(p);
  assert.deepEqual([second.status, second.body], [200, 'until close']);
});

test('bytes after a complete response, a bad chunk and a close before the head fail the way undici\'s do', async (t) => {
  const b = await rawBackend(t, (_h, n, s) => {
    if (n === 1) return `${OK}HTTP/1.1 200 OK\r\n`; // a response nobody asked for: the connection is dropped
    if (n === 2) return 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n';
    s.destroy();
    return undefined;
  });
  const p = pool(t, b.port);
  assert.equal((await send(p)).body, 'ok');
  const bad = await send(p);
  assert.equal(bad.status, 200);
  assert.equal(bad.error?.code, 'UND_ERR_SOCKET');
  const cut = await send(p);
  assert.equal(cut.status, 0);
  assert.equal(cut.error?.code, 'UND_ERR_SOCKET');
  assert.equal(b.connections, 3, 'each failure cost its connection, the garbage one included');
});

test('invalid requests are refused before any byte is sent; streamed bodies go to the fallback', async (t) => {
  const b = await rawBackend(t, () => OK);
  const p = pool(t, b.port);
  for (const headers of [['host', 'a', 'Host', 'b'], ['x', 'a\r\nb'], ['content-length', '1', 'content-length', '1'], ['bad name', '1']]) {
    assert.equal((await send(p, { headers })).error?.code, 'UND_ERR_INVALID_ARG', String(headers));
  }
  assert.equal((await send(p, { path: '*' })).error?.code, 'UND_ERR_INVALID_ARG');
  assert.equal(b.heads.length, 0);
  async function* body(): AsyncGenerator<Buffer> {
    yield Buffer.from('abc');
  }
  const streamed = await send(p, { method: 'POST', body: body() as unknown as Dispatcher.DispatchOptions['body'] });
  assert.equal(streamed.body, 'ok', String(streamed.error));
  assert.match(b.heads[0]!, /transfer-encoding: chunked/);
});

test('HEAD responses have no body and close the connection; the connection limit queues requests', async (t) => {
  const b = await rawBackend(t, (h) => (h.startsWith('HEAD') ? 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n' : OK));
  const p = pool(t, b.port, { connections: 1 });
  const head = await send(p, { method: 'HEAD' });
  assert.deepEqual([head.status, head.body], [200, '']);
  const all = await Promise.all([send(p), send(p), send(p)]);
  assert.deepEqual(all.map((o) => o.body), ['ok', 'ok', 'ok']);
  assert.equal(b.connections, 2, 'one for the HEAD, one shared by the three queued GETs');
});

test('a refused dial reports the socket error, as undici does', async (t) => {
  const refused = pool(t, 1);
  assert.equal((await send(refused)).error?.code, 'ECONNREFUSED');
});
