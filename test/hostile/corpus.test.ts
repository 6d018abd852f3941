/**
 * The request-smuggling and malformed-message corpus for HTTP/1: each case is sent raw to the
 * proxy, and the test checks what the proxy answered and exactly what the backend received
 * (a raw backend that frames requests as a strict origin would). A case the proxy refuses must
 * reach the backend with no byte at all; a case it accepts must reach it as exactly the requests
 * the client got answers for, with the body the proxy framed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exchangeRaw, header, proxyTo, rawBackend, statuses } from './support.ts';

const H = 'Host: raw.test.hostmesh\r\n';

interface Case {
  name: string;
  send: string;
  /** Statuses the proxy answers, in order. */
  answers: number[];
  /** Requests the backend frames: their request lines, and bodies where given. */
  backend: { line: string; body?: string }[];
}

const REFUSED: Case[] = [
  { name: 'two different Content-Length headers', send: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhelloX`, answers: [400], backend: [] },
  { name: 'Content-Length list with different values', send: `POST / HTTP/1.1\r\n${H}Content-Length: 5, 6\r\n\r\nhelloX`, answers: [400], backend: [] },
  { name: 'Content-Length and Transfer-Encoding (CL.TE)', send: `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n`, answers: [400], backend: [] },
  { name: 'Transfer-Encoding and Content-Length (TE.CL)', send: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n`, answers: [400], backend: [] },
  { name: 'Transfer-Encoding not ending in chunked', send: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`, answers: [400], backend: [] },
  { name: 'Transfer-Encoding with an obs-fold', send: `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`, answers: [400], backend: [] },
  { name: 'obs-fold in an ordinary header', send: `GET / HTTP/1.1\r\n${H}X-Long: a\r\n b\r\n\r\n`, answers: [400], backend: [] },
  { name: 'space before the colon', send: `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, answers: [400], backend: [] },
  { name: 'bare LF ending a header line', send: `GET / HTTP/1.1\r\n${H}X-A: 1\nX-B: 2\r\n\r\n`, answers: [400], backend: [] },
  { name: 'bare CR inside a header value', send: `GET / HTTP/1.1\r\n${H}X-A: 1\rX-B: 2\r\n\r\n`, answers: [400], backend: [] },
  { name: 'NUL in a header value', send: `GET / HTTP/1.1\r\n${H}X-A: a\u0000b\r\n\r\n`, answers: [400], backend: [] },
  { name: 'chunk size not hex', send: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, answers: [400], backend: [] },
  { name: 'chunk size with a sign', send: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n`, answers: [400], backend: [] },
  { name: 'chunk size overflowing 64 bits', send: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n`, answers: [400], backend: [] },
  { name: 'chunk data longer than its size', send: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n`, answers: [400], backend: [] },
  { name: 'negative Content-Length', send: `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, answers: [400], backend: [] },
  { name: 'Content-Length with a plus sign', send: `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`, answers: [400], backend: [] },
  { name: 'HTTP/1.1 without Host', send: 'GET / HTTP/1.1\r\n\r\n', answers: [400], backend: [] },
  { name: 'two Host headers', send: `GET / HTTP/1.1\r\n${H}${H}\r\n`, answers: [400], backend: [] },
  { name: 'unknown HTTP version', send: `GET / HTTP/1.7\r\n${H}\r\n`, answers: [400], backend: [] },
  { name: 'oversized head', send: `GET / HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`, answers: [431], backend: [] },
  { name: 'many small headers over the head limit', send: `GET / HTTP/1.1\r\n${H}${'X-N: 1\r\n'.repeat(3000)}\r\n`, answers: [431], backend: [] },
  { name: 'invalid header name token', send: `GET / HTTP/1.1\r\n${H}X(A): 1\r\n\r\n`, answers: [400], backend: [] },
  { name: 'method with a lower-case letter and a control byte', send: `G\u0001T / HTTP/1.1\r\n${H}\r\n`, answers: [400], backend: [] },
  { name: 'identical Content-Length headers (refused too: one framing only)', send: `POST /d HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, answers: [400], backend: [] },
  { name: 'an Upgrade carrying a body', send: `POST /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\nabc`, answers: [400], backend: [] },
  { name: 'CONNECT to another host', send: `CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n`, answers: [], backend: [] },
];

const ACCEPTED: Case[] = [
  { name: 'plain GET', send: `GET /a HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, answers: [200], backend: [{ line: 'GET /a HTTP/1.1' }] },
  { name: 'chunked body with extensions and trailers', send: `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n`, answers: [200], backend: [{ line: 'POST /c HTTP/1.1', body: 'hello' }] },
  { name: 'pipelined pair, bodies framed by length', send: `POST /1 HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabcGET /2 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, answers: [200, 200], backend: [{ line: 'POST /1 HTTP/1.1', body: 'abc' }, { line: 'GET /2 HTTP/1.1' }] },
  { name: 'extra space in the request line is normalised', send: `GET  /sp HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, answers: [200], backend: [{ line: 'GET /sp HTTP/1.1' }] },
  { name: 'a malformed request behind a pipelined one is refused after the first is answered', send: `GET /first HTTP/1.1\r\n${H}\r\n0\r\n\r\n`, answers: [200, 400], backend: [{ line: 'GET /first HTTP/1.1' }] },
  { name: 'an oversized head behind a pipelined one gets its 431 after the first answer', send: `GET /first HTTP/1.1\r\n${H}\r\nGET /big HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`, answers: [200, 431], backend: [{ line: 'GET /first HTTP/1.1' }] },
  { name: 'absolute-form target becomes origin-form', send: `GET http://raw.test.hostmesh/abs?q=1 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, answers: [200], backend: [{ line: 'GET /abs?q=1 HTTP/1.1' }] },
  { name: 'absolute-form naming another host keeps the routed Host', send: `GET http://evil.example/steal HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, answers: [200], backend: [{ line: 'GET /steal HTTP/1.1' }] },
  { name: 'HTTP/1.0 request gets an HTTP/1.1 backend request', send: `GET /old HTTP/1.0\r\n${H}\r\n`, answers: [200], backend: [{ line: 'GET /old HTTP/1.1' }] },
  { name: 'Upgrade: h2c is declined, not tunnelled', send: `GET /u HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n`, answers: [200], backend: [{ line: 'GET /u HTTP/1.1' }] },
];

for (const c of [...REFUSED, ...ACCEPTED]) {
  test(`corpus: ${c.name}`, async (t) => {
    const b = await rawBackend(t);
    const p = await proxyTo(t, b.port);
    const got = await exchangeRaw(p.port, c.send);
    assert.deepEqual(statuses(got), c.answers, `answers to ${JSON.stringify(c.send.slice(0, 120))}: ${JSON.stringify(got.toString('latin1').slice(0, 200))}`);
    for (const conn of b.conns) assert.equal(conn.broken, undefined, `the backend could not frame what the proxy sent: ${conn.broken}`);
    assert.deepEqual(b.requests.map((r) => r.line), c.backend.map((r) => r.line));
    c.backend.forEach((want, i) => {
      if (want.body !== undefined) assert.equal(b.requests[i]!.body.toString('latin1'), want.body);
      assert.equal(header(b.requests[i]!, 'host'), 'raw.test.hostmesh', 'the Host the proxy routed on reaches the backend');
    });
    if (c.backend.length === 0) assert.equal(b.bytes(), 0, 'nothing of a refused request reaches the backend');
  });
}

test('Connection: host cannot strip Host (nor the body framing) from the backend request', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port);
  const got = await exchangeRaw(p.port, `POST /h HTTP/1.1\r\n${H}Connection: host, content-length, x-drop, close\r\nX-Drop: 1\r\nContent-Length: 2\r\n\r\nok`);
  assert.deepEqual(statuses(got), [200]);
  assert.equal(b.requests.length, 1);
  const r = b.requests[0]!;
  assert.equal(header(r, 'host'), 'raw.test.hostmesh');
  assert.equal(header(r, 'x-drop'), undefined, 'other listed headers are still dropped');
  assert.equal(r.body.toString(), 'ok');
});
