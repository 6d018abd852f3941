import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { cookieValue } from '../../src/proxy/http/cookies.ts';
import { clientAddress, rawHeader, requestHeaders, responseHeadersFlat, responseHeadersObject } from '../../src/proxy/http/headers.ts';
import { errorPage, rawErrorResponse, wantsJson } from '../../src/proxy/http/error-page.ts';
import { sniffProtocol } from '../../src/proxy/http/sniff.ts';
import type { Protocol } from '../../src/proxy/http/sniff.ts';

const HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
const anyCase = (s: string) => fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) => [...s].map((ch, i) => (up[i] ? ch.toUpperCase() : ch)).join(''));
const headerName = fc.oneof(token, fc.constantFrom(...HOP, 'x-forwarded-for', 'host', 'content-length').chain(anyCase));
const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?$/);

test('request headers: no hop-by-hop header survives, everything else keeps its order', () => {
  fc.assert(fc.property(fc.array(fc.tuple(headerName, value), { maxLength: 20 }), fc.array(token, { maxLength: 3 }), (pairs, listed) => {
    const raw = pairs.flat();
    if (listed.length > 0) raw.push('Connection', listed.join(', '));
    const facts = { hasBody: false };
    const out = requestHeaders(raw, '10.9.8.7', facts);
    const names = out.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    const connectionListed = new Set(pairs.filter(([n]) => n.toLowerCase() === 'connection').flatMap(([, v]) => v.split(',').map((x) => x.trim().toLowerCase())).concat(listed));
    for (let i = 0; i < out.length; i += 2) {
      const n = out[i]!.toLowerCase();
      if (n === 'te') assert.equal(out[i + 1]!.trim().toLowerCase(), 'trailers');
      else assert.ok(!HOP.includes(n), `hop-by-hop ${n} forwarded`);
      if (!n.startsWith('x-forwarded-') && n !== 'host') assert.ok(!connectionListed.has(n), `${n} was listed in Connection`);
    }
    assert.equal(names.filter((n) => n === 'x-forwarded-for').length, 1);
    const xff = out[out.findIndex((n, i) => i % 2 === 0 && n === 'x-forwarded-for') + 1]!;
    assert.ok(xff.endsWith('10.9.8.7'));
    const kept = pairs.filter(([n]) => { const l = n.toLowerCase(); return !HOP.includes(l) && l !== 'x-forwarded-for' && !connectionListed.has(l) && l !== 'traceparent' && l !== 'tracestate'; });
    const forwarded = [];
    for (let i = 0; i < out.length; i += 2) if (!['te', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'traceparent', 'tracestate'].includes(out[i]!.toLowerCase())) forwarded.push([out[i], out[i + 1]]);
    assert.deepEqual(forwarded, kept);
  }), { numRuns: 300 });
});

test('request headers: body detection, XFF appending, HTTP/2 authority', () => {
  const f = { hasBody: false };
  requestHeaders(['Content-Length', '0'], '1.1.1.1', f);
  assert.equal(f.hasBody, false);
  requestHeaders(['Content-Length', '12'], '1.1.1.1', f);
  assert.equal(f.hasBody, true);
  requestHeaders(['Transfer-Encoding', 'chunked'], '1.1.1.1', f);
  assert.equal(f.hasBody, true);
  const out = requestHeaders(['X-Forwarded-For', 'a', 'x-forwarded-for', 'b', ':authority', 'svc.ns.hostmesh', ':path', '/'], '2.2.2.2', f);
  assert.deepEqual(out.slice(0, -2), ['host', 'svc.ns.hostmesh', 'x-forwarded-for', 'a, b, 2.2.2.2', 'x-forwarded-proto', 'http', 'x-forwarded-host', 'svc.ns.hostmesh']);
  assert.equal(out.at(-2), 'traceparent', 'a new trace is started');
  assert.match(out.at(-1)!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.equal(clientAddress('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(clientAddress('fd00::1'), 'fd00::1');
});

test('response headers: hop-by-hop dropped in both shapes, repeats kept, extras appended', () => {
  fc.assert(fc.property(fc.dictionary(fc.oneof(token, fc.constantFrom(...HOP)), fc.oneof(value, fc.array(value, { minLength: 1, maxLength: 3 }))), (headers) => {
    const flat = responseHeadersFlat(headers, ['set-cookie', 'aff=1']);
    const obj = responseHeadersObject(headers, ['set-cookie', 'aff=1']);
    const conn = headers.connection;
    const listed = new Set((Array.isArray(conn) ? conn : conn ? [conn] : []).flatMap((v) => v.split(',').map((x) => x.trim().toLowerCase())));
    for (const name of Object.keys(obj)) assert.ok(!HOP.includes(name) && (name === 'set-cookie' || !listed.has(name)), name);
    for (let i = 0; i < flat.length - 2; i += 2) assert.ok(!HOP.includes(flat[i]!));
    assert.deepEqual(flat.slice(-2), ['set-cookie', 'aff=1']);
    for (const [name, v] of Object.entries(headers)) {
      if (HOP.includes(name) || listed.has(name) || name === 'set-cookie') continue;
      assert.deepEqual(obj[name], v);
      assert.equal(flat.filter((x, i) => i % 2 === 0 && x === name).length, Array.isArray(v) ? v.length : 1);
    }
  }), { numRuns: 300 });
});

test('cookie and header lookup in raw headers', () => {
  const raw = ['Cookie', 'a=1; lb=tok-en ', 'X-User', 'u1', 'cookie', 'c=3', 'x-user', 'u2'];
  assert.equal(cookieValue(raw, 'lb'), 'tok-en');
  assert.equal(cookieValue(raw, 'c'), '3');
  assert.equal(cookieValue(raw, 'l'), undefined);
  assert.equal(rawHeader(raw, 'x-user'), 'u1, u2');
  assert.equal(rawHeader(raw, 'x-none'), undefined);
});

test('error pages: JSON on request, HTML for 503 with Retry-After, text otherwise; lengths right; names escaped', () => {
  assert.equal(wantsJson('application/json'), true);
  assert.equal(wantsJson('application/problem+json'), true);
  assert.equal(wantsJson('text/html, application/json'), false);
  assert.equal(wantsJson('application/json;q=0.9, text/html'), true);
  assert.equal(wantsJson(undefined), false);
  const page = errorPage('no-endpoint', 'a/<b>:80', 'a/c:80', 'text/html', 3);
  assert.equal(page.status, 503);
  assert.equal(page.headers['retry-after'], '3');
  assert.ok(page.body.includes('a/&#60;b&#62;:80 (backend a/c:80)'));
  assert.equal(Number(page.headers['content-length']), Buffer.byteLength(page.body));
  const text = errorPage('read-timeout', 'a/b:80', undefined, undefined, 3);
  assert.equal(text.status, 504);
  assert.equal(text.headers['retry-after'], undefined);
  assert.equal(text.body, '504 Gateway Timeout: a/b:80 did not answer in time\n');
  const raw = rawErrorResponse(text);
  assert.match(raw, /^HTTP\/1\.1 504 Gateway Timeout\r\n/);
  assert.ok(raw.endsWith(`connection: close\r\n\r\n${text.body}`));
});

async function sniffWith(parts: string[]): Promise<{ protocol: Protocol; bytes: string }> {
  const { promise, resolve } = Promise.withResolvers<{ protocol: Protocol; bytes: string }>();
  const server = createServer((s: Socket) => sniffProtocol(s, 2000, (sock, protocol) => {
    const bytes = sock.read() as Buffer | null;
    resolve({ protocol, bytes: bytes?.toString('latin1') ?? '' });
    sock.destroy();
  }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const c = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  c.on('error', () => {});
  for (const p of parts) {
    c.write(p);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
  const out = await promise;
  c.destroy();
  server.close();
  return out;
}

test('protocol sniffing: the HTTP/2 preface and the header of the first frame, even split in pieces, mean h2; anything else h1; bytes are kept', async () => {
  const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
  const settings = '\x00\x00\x00\x04\x00\x00\x00\x00\x00';
  assert.deepEqual(await sniffWith([preface.slice(0, 3), preface.slice(3, 10), `${preface.slice(10)}\x00\x00`, settings.slice(2)]), { protocol: 'h2', bytes: `${preface}${settings}` });
  assert.deepEqual(await sniffWith(['P', 'OST / HTTP/1.1\r\n']), { protocol: 'h1', bytes: 'POST / HTTP/1.1\r\n' });
  assert.deepEqual(await sniffWith(['GET / HTTP/1.1\r\n\r\n']), { protocol: 'h1', bytes: 'GET / HTTP/1.1\r\n\r\n' });
});
