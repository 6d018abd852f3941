/**
 * The fast HTTP/1 path (src/proxy/http/h1-fast.ts) answers byte for byte as node:http does:
 * the same raw exchanges are sent to a proxy with it and one without (`fastHttp1: false`), and
 * the answers compared (the Date header's value aside). Also: a connection moves to node:http
 * at the first request the fast path does not take, and pipelined requests keep their order.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
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

/** A client connection to the proxy that collects what comes back. */
async function open(port: number): Promise<{ s: Socket; text: () => string; until: (re: RegExp) => Promise<void> }> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  let got = '';
  s.on('data', (d: Buffer) => { got += d.toString('latin1'); });
  const until = async (re: RegExp): Promise<void> => {
    for (let i = 0; i < 500 && !re.test(got); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.match(got, re);
  };
  return { s, text: () => got, until };
}

test('bytes a connection keeps between reads survive other connections\' reads (the shared read buffer), and an upgrade after fast requests relays', async (t) => {
  // /slow answers after 150 ms; /ws switches protocols and echoes everything after.
  const seen: string[] = [];
  const server = await tcpServer(t, (s) => {
    let buf = '';
    let tunnel = false;
    s.on('data', (d: Buffer) => {
      if (tunnel) {
        s.write(d);
        return;
      }
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0 && !tunnel; end = buf.indexOf('\r\n\r\n')) {
        const req = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const path = req.split(' ')[1]!;
        seen.push(`${req.split('\r\n')[0]!} ${/x-tag: (\w+)/i.exec(req)?.[1] ?? '-'}`);
        if (path === '/ws') {
          tunnel = true;
          s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
          if (buf !== '') s.write(buf);
        } else {
          const answer = `HTTP/1.1 200 OK\r\ncontent-length: ${path.length}\r\n\r\n${path}`;
          if (path === '/slow') setTimeout(() => s.write(answer), 150);
          else s.write(answer);
        }
      }
    });
  });
  const { fast } = await proxies(t, server.port);
  const a = await open(fast);
  t.after(() => a.s.destroy());
  a.s.write(`GET /a0 HTTP/1.1\r\n${H}\r\n`);
  await a.until(/\/a0$/);
  // Pipelined behind a slow request: /a2's head waits while other connections read.
  a.s.write(`GET /slow HTTP/1.1\r\n${H}X-Tag: aaaa\r\n\r\nGET /a2 HTTP/1.1\r\n${H}X-Tag: bbbb\r\n\r\n`);
  // (A connection's first bytes come through the protocol sniffer: the second request is
  // the one read into the shared buffer.)
  const other = async (tag: string): Promise<void> => {
    const b = await open(fast);
    for (const n of [1, 2]) {
      b.s.write(`GET /other${n}xxxxxxxxxxxxxxxxxxxxxxxx HTTP/1.1\r\n${H}X-Tag: ${tag.repeat(30)}\r\n\r\n`);
      await b.until(new RegExp(`/other${n}x+$`));
    }
    b.s.destroy();
  };
  await other('z');
  await a.until(/\/slow[\s\S]*\/a2$/);
  // Half a head: kept (across reads) while other connections read into the shared buffer.
  a.s.write(`GET /a3 HTTP/1.1\r\n${H}X-Ta`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await other('y');
  a.s.write(`g: cccc\r\n\r\n`);
  await a.until(/\/a3$/);
  assert.deepEqual(seen.filter((l) => !l.includes('other')), ['GET /a0 HTTP/1.1 -', 'GET /slow HTTP/1.1 aaaa', 'GET /a2 HTTP/1.1 bbbb', 'GET /a3 HTTP/1.1 cccc']);
  // An upgrade on a connection that began on the fast path: the tunnel carries both ways.
  const w = await open(fast);
  t.after(() => w.s.destroy());
  w.s.write(`GET /before HTTP/1.1\r\n${H}\r\n`);
  await w.until(/\/before$/);
  w.s.write(`GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: echo\r\n\r\n`);
  await w.until(/101 Switching Protocols[\s\S]*\r\n\r\n$/);
  w.s.write('ping-1 ');
  await w.until(/ping-1 $/);
  w.s.write('ping-2');
  await w.until(/ping-1 ping-2$/);
});
