/**
 * The malformed-message corpus for h2c: request header blocks written by hand (HPACK literals,
 * so a client library cannot tidy them up) sent to the proxy, each on a session of its own.
 * A case the proxy refuses must cost only its stream (RST_STREAM or a 4xx; no GOAWAY, and a
 * well-formed request on the same session is still answered) and reach the backend with no
 * byte at all; a case it accepts must reach the backend as exactly one well-framed HTTP/1.1
 * request (the raw backend frames strictly), with what the test names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../support/until.ts';
import { proxyTo, rawBackend } from './support.ts';
import type { Framed } from './support.ts';
import { FLAG, FRAME, frame, headerBlock, rawH2, statusOf } from './h2-frames.ts';

type Fields = [string, string][];

interface Case {
  name: string;
  headers: Fields;
  /** DATA sent after the headers (ending the stream); none: the HEADERS frame ends it. */
  body?: string;
  /** `refused`, or a check of the one request the backend framed. */
  expect: 'refused' | ((req: Framed) => void);
}

const base = (path = '/c'): Fields => [[':method', 'GET'], [':scheme', 'http'], [':authority', 'svc.test'], [':path', path]];
const post = (length: string): Fields => [[':method', 'POST'], [':scheme', 'http'], [':authority', 'svc.test'], [':path', '/c'], ['content-length', length]];
const one = (name: string, req: Framed): string[] => req.headers.filter(([n]) => n === name).map(([, v]) => v);
/** The request went on without the named fields; no line of the backend's head mentions them. */
const dropped = (...names: string[]) => (req: Framed): void => {
  assert.equal(req.line, 'GET /c HTTP/1.1');
  for (const n of names) assert.deepEqual(one(n, req), [], `no ${n} field`);
  assert.equal(req.headers.some(([n, v]) => n.includes('smuggled') || v.includes('smuggled')), false);
};

const CASES: Case[] = [
  // Connection-specific fields are forbidden in HTTP/2 (RFC 9113 8.2.2).
  { name: 'connection: keep-alive', headers: [...base(), ['connection', 'keep-alive']], expect: 'refused' },
  { name: 'transfer-encoding: chunked (a smuggling vector once downgraded)', headers: [...post('5'), ['transfer-encoding', 'chunked']], body: 'hello', expect: 'refused' },
  { name: 'keep-alive', headers: [...base(), ['keep-alive', 'timeout=5']], expect: 'refused' },
  { name: 'proxy-connection', headers: [...base(), ['proxy-connection', 'close']], expect: 'refused' },
  { name: 'upgrade: websocket', headers: [...base(), ['upgrade', 'websocket']], expect: 'refused' },
  { name: 'te: gzip', headers: [...base(), ['te', 'gzip']], expect: 'refused' },
  // Field names and values.
  { name: 'an upper-case field name', headers: [...base(), ['X-Upper', 'a']], expect: 'refused' },
  // Fields HTTP forbids in a value or name are dropped by Node's HTTP/2 layer (the request goes
  // on without them): nothing of them may reach the backend, least of all as a header line.
  { name: 'CRLF inside a field value (header injection once downgraded)', headers: [...base(), ['x-a', '1\r\nx-smuggled: 2']], expect: dropped('x-a', 'x-smuggled') },
  { name: 'a bare LF inside a field value', headers: [...base(), ['x-a', '1\nGET /smuggled HTTP/1.1']], expect: dropped('x-a') },
  { name: 'NUL inside a field value', headers: [...base(), ['x-a', 'a\u0000b']], expect: dropped('x-a') },
  { name: 'a space inside a field name', headers: [...base(), ['x a', '1']], expect: dropped('x a', 'x') },
  { name: 'CRLF inside :authority', headers: [[':method', 'GET'], [':scheme', 'http'], [':authority', 'svc.test\r\nx-smuggled: 1'], [':path', '/c']], expect: 'refused' },
  { name: 'CRLF inside :path', headers: [[':method', 'GET'], [':scheme', 'http'], [':authority', 'svc.test'], [':path', '/c\r\nx-smuggled: 1']], expect: 'refused' },
  { name: 'a space inside :method', headers: [[':method', 'GET /x'], [':scheme', 'http'], [':authority', 'svc.test'], [':path', '/c']], expect: 'refused' },
  // Pseudo-headers.
  { name: 'no :path', headers: [[':method', 'GET'], [':scheme', 'http'], [':authority', 'svc.test']], expect: 'refused' },
  { name: 'an empty :path', headers: [[':method', 'GET'], [':scheme', 'http'], [':authority', 'svc.test'], [':path', '']], expect: 'refused' },
  { name: 'no :method', headers: [[':scheme', 'http'], [':authority', 'svc.test'], [':path', '/c']], expect: 'refused' },
  { name: 'two :path', headers: [...base(), [':path', '/other']], expect: 'refused' },
  { name: 'a pseudo-header after a regular field', headers: [[':method', 'GET'], [':scheme', 'http'], ['x-a', '1'], [':authority', 'svc.test'], [':path', '/c']], expect: 'refused' },
  { name: 'an unknown pseudo-header', headers: [...base(), [':smuggle', '1']], expect: 'refused' },
  { name: 'a response pseudo-header in a request', headers: [...base(), [':status', '200']], expect: 'refused' },
  // Body framing.
  { name: 'fewer DATA bytes than content-length', headers: post('10'), body: 'short', expect: 'refused' },
  { name: 'more DATA bytes than content-length', headers: post('3'), body: 'too long', expect: 'refused' },
  { name: 'a content-length that is not a number', headers: post('5x'), body: 'hello', expect: 'refused' },
  // Accepted, and downgraded to HTTP/1.1 cleanly.
  {
    name: 'te: trailers is allowed and not forwarded as a hop-by-hop field', headers: [...base('/te'), ['te', 'trailers']], expect: (req) => {
      assert.equal(req.line, 'GET /te HTTP/1.1');
      assert.deepEqual(one('transfer-encoding', req), []);
    },
  },
  {
    name: 'a body with its content-length arrives framed by exactly that length', headers: post('5'), body: 'hello', expect: (req) => {
      assert.equal(req.line, 'POST /c HTTP/1.1');
      assert.deepEqual(one('content-length', req), ['5']);
      assert.equal(req.body.toString(), 'hello');
    },
  },
  {
    name: 'a body without content-length is chunked to the backend', headers: [[':method', 'POST'], [':scheme', 'http'], [':authority', 'svc.test'], [':path', '/c']], body: 'stream', expect: (req) => {
      assert.deepEqual(one('transfer-encoding', req), ['chunked']);
      assert.equal(req.body.toString(), 'stream');
    },
  },
  {
    name: 'a host field beside :authority: the backend gets exactly one Host', headers: [...base('/h'), ['host', 'other.test']], expect: (req) => {
      assert.equal(one('host', req).length, 1);
    },
  },
  {
    name: 'cookie split over several fields reaches the backend as one Cookie', headers: [...base('/k'), ['cookie', 'a=1'], ['cookie', 'b=2']], expect: (req) => {
      assert.deepEqual(one('cookie', req), ['a=1; b=2']);
    },
  },
  { name: 'an absolute URI in :path (only origin-form is valid in HTTP/2)', headers: [[':method', 'GET'], [':scheme', 'http'], [':authority', 'svc.test'], [':path', 'http://evil.test/x']], expect: 'refused' },
];

test('h2c corpus: malformed request heads cost their stream only and never reach the backend; accepted ones are downgraded cleanly', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port);
  const problems: string[] = [];
  for (const c of CASES) {
    const before = b.requests.length;
    const bytesBefore = b.bytes();
    const s = await rawH2(p.port);
    try {
      const end = c.body === undefined;
      s.send(frame(FRAME.HEADERS, FLAG.END_HEADERS | (end ? FLAG.END_STREAM : 0), 1, headerBlock(c.headers)));
      if (!end) s.data(1, c.body!, true);
      // A well-formed request after it on the same session.
      s.send(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 3, headerBlock(base('/after'))));
      const answered = (id: number): boolean => s.frames.some((f) => f.stream === id && (f.type === FRAME.RST_STREAM || (f.type === FRAME.DATA && (f.flags & FLAG.END_STREAM) !== 0) || (f.type === FRAME.HEADERS && (f.flags & FLAG.END_STREAM) !== 0)));
      await until(`${c.name}: both streams to be answered`, () => (answered(1) && answered(3)) || s.socket.destroyed, 10_000);
      const goaway = s.frames.find((f) => f.type === FRAME.GOAWAY);
      if (goaway !== undefined) problems.push(`${c.name}: the session was ended (GOAWAY ${goaway.payload.readUInt32BE(4)})`);
      const status = (id: number): number | undefined => {
        const h = s.frames.find((f) => f.stream === id && f.type === FRAME.HEADERS);
        return h === undefined ? undefined : statusOf(h);
      };
      if (status(3) !== 200) problems.push(`${c.name}: the request after it got ${status(3) ?? 'no answer'}`);
      await until(`${c.name}: the backend to see the request after it`, () => b.requests.slice(before).some((r) => r.line.startsWith('GET /after ')), 5000).catch(() => {});
      const got = b.requests.slice(before).filter((r) => !r.line.startsWith('GET /after '));
      if (b.conns.some((conn) => conn.broken !== undefined)) problems.push(`${c.name}: the backend could not frame what it got: ${b.conns.find((conn) => conn.broken)!.broken}`);
      if (c.expect === 'refused') {
        const rst = s.frames.some((f) => f.stream === 1 && f.type === FRAME.RST_STREAM);
        const st = status(1);
        if (!rst && (st === undefined || st < 400 || st >= 500)) problems.push(`${c.name}: not refused (status ${st})`);
        if (got.length > 0) problems.push(`${c.name}: reached the backend: ${got.map((r) => r.line).join(', ')}`);
        // Nothing but the well-formed request's bytes: every byte the backend got is framed.
        if (b.conns.reduce((n, conn) => n + conn.pending, 0) > 0) problems.push(`${c.name}: unframed bytes reached the backend (${b.bytes() - bytesBefore} in all)`);
      } else {
        if (status(1) !== 200) problems.push(`${c.name}: answered ${status(1) ?? 'nothing'}`);
        if (got.length !== 1) problems.push(`${c.name}: the backend framed ${got.length} requests`);
        else {
          try {
            c.expect(got[0]!);
          } catch (e) {
            problems.push(`${c.name}: ${(e as Error).message.split('\n')[0]}`);
          }
        }
      }
    } finally {
      s.socket.destroy();
    }
  }
  assert.deepEqual(problems, []);
});
