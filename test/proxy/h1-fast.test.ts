/**
 * The fast HTTP/1 path (src/proxy/http/h1-fast.ts) answers byte for byte as node:http does:
 * the same raw exchanges are sent to a proxy with it and one without (`fastHttp1: false`), and
 * the answers compared (the Date header's value aside). Also: a connection moves to node:http
 * at the first request the fast path does not take, and pipelined requests keep their order.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { engine, freePort, rawExchange, svc, table, tcpServer } from './helpers.ts';

const H = 'Host: svc.test\r\n';
const LAST = `GET /last HTTP/1.1\r\n${H}Connection: close\r\n\r\n`;

/** A raw backend: each request (head, plus a Content-Length body) gets the answer for its path. */
async function backend(t: TestContext) {
  const seen: string[] = [];
  const answers: Record<string, string> = {
    '/cl': 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-a: 1\r\n\r\nhello',
    '/chunked': 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    '/nocontent': 'HTTP/1.1 204 No Content\r\nx-b: 2\r\n\r\n',
    '/bad': 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-bad: a\u0001b\r\n\r\nok',
  };
  const server = await tcpServer(t, (s) => {
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const len = /content-length: (\d+)/i.exec(buf.slice(0, end));
        const total = end + 4 + (len === null ? 0 : Number(len[1]));
        if (buf.length < total) return;
        const req = buf.slice(0, total);
        buf = buf.slice(total);
        seen.push(req.split('\r\n')[0]!);
        const path = req.split(' ')[1]!.split('?')[0]!;
        s.write(answers[path] ?? `HTTP/1.1 200 OK\r\ncontent-length: ${path.length}\r\n\r\n${path}`);
      }
    });
  });
  return { port: server.port, seen };
}

async function proxies(t: TestContext, backendPort: number): Promise<{ fast: number; node: number }> {
  const out = { fast: 0, node: 0 };
  for (const mode of ['fast', 'node'] as const) {
    const port = await freePort();
    const e = engine(t, { limits: { fastHttp1: mode === 'fast', clientKeepAliveTimeoutMs: 7000 } });
    const r = await e.apply(table([
      { cluster: svc('server', [backendPort]), listenPort: port },
    ]));
    assert.equal(r.ok, true);
    out[mode] = port;
  }
  return out;
}

const normalise = (raw: string): string => raw.replace(/\r\nDate: [^\r]*/g, '\r\nDate: -');

test('the fast path frames responses exactly as node:http does', async (t) => {
  const b = await backend(t);
  const { fast, node } = await proxies(t, b.port);
  // A backend that refuses connections: the proxy's own error pages (502), HEAD included.
  const deadPort = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const dead = await proxies(t, deadPort);
  for (const c of [`GET / HTTP/1.1\r\n${H}Accept: application/json\r\n\r\n${LAST}`, `HEAD / HTTP/1.1\r\n${H}\r\n${LAST}`]) {
    const [a, n] = await Promise.all([rawExchange(dead.fast, c), rawExchange(dead.node, c)]);
    assert.match(a, /^HTTP\/1\.1 502 /);
    assert.equal(normalise(a), normalise(n), JSON.stringify(c));
  }
  const cases = [
    `GET /cl HTTP/1.1\r\n${H}\r\n${LAST}`,
    `GET /chunked HTTP/1.1\r\n${H}User-Agent: t\r\n\r\n${LAST}`,
    `HEAD /cl HTTP/1.1\r\n${H}\r\n${LAST}`,
    `GET /nocontent HTTP/1.1\r\n${H}\r\n${LAST}`,
    `DELETE /x?y=1 HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n${LAST}`,
    `GET /cl HTTP/1.0\r\n${H}\r\n`,
    `GET /chunked HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\n`,
    `GET /cl HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\n${LAST}`,
    `GET /bad HTTP/1.1\r\n${H}\r\n${LAST}`,
    `GET /cl HTTP/1.1\r\n${H}Connection: close\r\n\r\nGET /never HTTP/1.1\r\n${H}\r\n`,
    `GET /a HTTP/1.1\r\n${H}\r\nPOST /b HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\n${H}\r\n${LAST}`,
    `GET /a HTTP/1.1\r\n${H}\r\nGET /b HTTP/1.1\r\n${H}${H}\r\n${LAST}`,
    `GET /a HTTP/1.1\r\n${H}\r\nGET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`,
  ];
  for (const c of cases) {
    const [a, n] = await Promise.all([rawExchange(fast, c), rawExchange(node, c)]);
    assert.ok(a.length > 0, JSON.stringify(c));
    assert.equal(normalise(a), normalise(n), JSON.stringify(c));
  }
});

test('pipelined requests are answered in order, across the move to node:http', async (t) => {
  const b = await backend(t);
  const { fast } = await proxies(t, b.port);
  let text = '';
  for (let i = 0; i < 20; i++) text += i === 10 ? `PUT /${i} HTTP/1.1\r\n${H}Content-Length: 1\r\n\r\nx` : `GET /${i} HTTP/1.1\r\n${H}\r\n`;
  const raw = await rawExchange(fast, text + LAST);
  const bodies = raw.split('\r\n\r\n').slice(1).map((part) => part.split('HTTP/1.1')[0]);
  assert.deepEqual(bodies, [...Array.from({ length: 20 }, (_, i) => `/${i}`), '/last']);
  assert.deepEqual(b.seen, [...Array.from({ length: 20 }, (_, i) => `${i === 10 ? 'PUT' : 'GET'} /${i} HTTP/1.1`), 'GET /last HTTP/1.1']);
});
