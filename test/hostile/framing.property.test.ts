/**
 * fast-check over generated request heads (tricky Content-Length / Transfer-Encoding variants,
 * folds, bare LFs, Connection tokens, upgrades) followed by a second request: whatever the proxy
 * answers, the backend frames exactly the requests whose answers came from it, in order, never
 * a byte more. A request the proxy refused leaves no trace at the backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { until } from '../support/until.ts';
import { exchangeRaw, proxyTo, rawBackend, responses } from './support.ts';

const HEADER_LINES = [
  'Content-Length: 5',
  'Content-Length: 3',
  'Content-Length: 0',
  'Content-Length:  5 ',
  'Content-Length: 5, 5',
  'Content-Length: 05',
  'Content-Length: 5x',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: Chunked',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: gzip, chunked',
  'Transfer-Encoding:\tchunked',
  'Transfer-Encoding : chunked',
  ' Transfer-Encoding: chunked',
  'Transfer-Encoding: xchunked',
  'X-Fold: a\r\n b',
  'Connection: host',
  'Connection: content-length, transfer-encoding',
  'Connection: close',
  'Connection: Upgrade',
  'Upgrade: websocket',
  'Upgrade: h2c',
  'Expect: 100-continue',
  'Host: other.example',
  'X-Plain: 1',
];

const BODIES = ['', 'hello', '5\r\nhello\r\n0\r\n\r\n', '0\r\n\r\n', '3\r\nabc\r\n', 'ffffffffffffffffff\r\nx\r\n0\r\n\r\n', 'GET /inner HTTP/1.1\r\nHost: raw.test.hostmesh\r\n\r\n'];

const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'HEAD'),
  target: fc.constantFrom('/', '/a?b=c', 'http://raw.test.hostmesh/x', '*', 'http://evil.example/y'),
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0'),
  headers: fc.array(fc.constantFrom(...HEADER_LINES), { maxLength: 4 }),
  eol: fc.constantFrom('\r\n', '\r\n', '\r\n', '\n'),
  body: fc.constantFrom(...BODIES),
});

test('property: the backend never receives bytes framed differently from what the proxy answered for', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port);
  await fc.assert(fc.asyncProperty(request, async (r) => {
    const before = b.requests.length;
    const bytesBefore = b.bytes();
    const lines = [`${r.method} ${r.target} ${r.version}`, 'Host: raw.test.hostmesh', ...r.headers];
    const first = lines.join(r.eol) + r.eol + r.eol + r.body;
    const second = 'GET /second HTTP/1.1\r\nHost: raw.test.hostmesh\r\nConnection: close\r\n\r\n';
    const got = responses(await exchangeRaw(p.port, first + second, 1000), [r.method, 'GET']);
    const fresh = b.requests.slice(before);
    for (const c of b.conns) assert.equal(c.broken, undefined, `backend could not frame: ${c.broken}`);
    // Answers that came from the backend carry its counter; the proxy's own do not.
    const fromBackend = got.filter((x) => x.seen !== undefined).map((x) => x.seen);
    assert.deepEqual(fromBackend, fresh.map((_, i) => before + i + 1), `backend answers ${JSON.stringify(got)} for ${JSON.stringify(fresh.map((f) => f.line))}`);
    // A refused head sends nothing; a body found malformed while it streams may have sent its
    // start, but then the backend connection is closed with the request incomplete (below).
    if (fresh.length === 0 && got.length > 0 && got[0]!.seen === undefined && !r.headers.some((h) => /transfer-encoding/i.test(h))) {
      assert.equal(b.bytes(), bytesBefore, 'nothing of a refused request reaches the backend');
    }
    // A request cut short (the client left mid-body) must cost the backend its connection,
    // never leave a partial request on a connection that is reused.
    await until('backend connections holding a partial request to close', () => b.conns.every((c) => c.pending === 0 || c.socket.destroyed), 5000);
  }), { numRuns: 300, seed: Number(process.env.HOSTMESH_SEED ?? 1612) });
});
