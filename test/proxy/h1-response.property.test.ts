/**
 * The backend pool's fast response reader (src/proxy/http/h1-response.ts) against llhttp, the
 * parser the pool otherwise uses: every response it accepts, llhttp (strict, as the pool runs
 * it) parses to the same status, reason, version, header list, keep-alive and body, complete,
 * with nothing left over. Responses it declines go to llhttp, so declining is always safe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readResponse } from '../../src/proxy/http/h1-response.ts';
import { HTTPParser, WEIRD, chars, mostly, pick } from './llhttp-harness.ts';

interface Parsed { status: number; reason: string; minor: number; headers: string[]; keepAlive: boolean; upgrade: boolean; body: string; complete: boolean; error?: string }

function llhttp(buf: Buffer): Parsed {
  const p = new HTTPParser();
  p.initialize(HTTPParser.RESPONSE, {}, 16384, 0);
  const out: Parsed = { status: 0, reason: '', minor: -1, headers: [], keepAlive: false, upgrade: false, body: '', complete: false };
  p[HTTPParser.kOnHeaders] = (h: string[]) => {
    out.headers.push(...h);
  };
  p[HTTPParser.kOnHeadersComplete] = (_maj: number, minor: number, h: string[] | undefined, _m: unknown, _u: unknown, status: number, reason: string, upgrade: boolean, keepAlive: boolean) => {
    if (h !== undefined) out.headers.push(...h);
    Object.assign(out, { status, reason, minor, upgrade, keepAlive });
    return 0;
  };
  p[HTTPParser.kOnBody] = (b: Buffer) => {
    out.body += b.toString('latin1');
  };
  p[HTTPParser.kOnMessageComplete] = () => {
    out.complete = true;
  };
  const r = p.execute(buf);
  if (typeof r !== 'number') out.error = (r as { code?: string }).code ?? 'error';
  return out;
}

const version = mostly(pick(['HTTP/1.1', 'HTTP/1.0']), pick(['HTTP/1.2', 'HTTP/2.0', 'HTTP/1.10', 'http/1.1', 'HTTP/1.1 ', 'HTTP/0.9']));
const status = mostly(pick(['200', '201', '404', '500', '503', '302']), pick(['100', '101', '204', '304', '199', '600', '099', '2000', '20', 'abc', '', ' 200']));
const reason = mostly(pick(['OK', 'Not Found', 'x', 'Service Unavailable']), fc.oneof(pick(['', ' ', 'OK ', ' OK', 'O\tK']), chars(`ok${WEIRD}`, 5)));
const name = mostly(
  fc.oneof(pick(['Content-Type', 'Server', 'Date', 'Connection', 'Keep-Alive', 'Set-Cookie', 'X-A', 'content-length']), chars('abcXY-_.!~', 6).filter((n) => n !== '')),
  fc.oneof(pick(['Transfer-Encoding', 'Upgrade', 'Proxy-Connection', 'CONTENT-LENGTH', 'Content-Length ']), chars(`ab${WEIRD}`, 4)),
);
const value = mostly(
  fc.oneof(pick(['', 'text/plain', 'close', 'keep-alive', 'Keep-Alive', 'timeout=5', 'a=1; b=2']), chars('ab09 ,=;!~', 8)),
  fc.oneof(pick([' x', 'x ', 'chunked', 'upgrade', 'close, keep-alive', 'Close']), chars(`ab09 ,=;${WEIRD}`, 8)),
);
const eol = mostly(fc.constant('\r\n'), pick(['\n', '\r', '\r\r\n', ' \r\n']));
const header = fc.tuple(name, mostly(pick([':', ': ', ':\t', ':  ']), pick([' :', '', '::'])), value, eol).map(([n, sep, v, e]) => `${n}${sep}${v}${e}`);
const body = mostly(chars('abc\r\n', 12), chars(`ab${WEIRD}`, 6));
/** The declared length: the body's, or now and then something else. */
const declared = mostly(fc.constant('exact'), pick(['', 'x', '-1', '+1', ' 1', '1 ', '0x1', '99999999999999999999', 'twice', 'none', 'more', 'less']));

const response = fc.tuple(version, mostly(fc.constant(' '), pick(['  ', '\t', ''])), status, mostly(fc.constant(' '), pick(['  ', '\t', ''])), reason, eol, fc.array(header, { maxLength: 6 }), declared, eol, body)
  .map(([v, s1, st, s2, r, e1, hs, cl, e2, b]) => {
    const n = Buffer.byteLength(b, 'latin1');
    const lines = cl === 'exact' ? `Content-Length: ${n}\r\n`
      : cl === 'twice' ? `Content-Length: ${n}\r\nContent-Length: ${n}\r\n`
        : cl === 'none' ? ''
          : cl === 'more' ? `Content-Length: ${n + 1}\r\n`
            : cl === 'less' ? `Content-Length: ${Math.max(0, n - 1)}\r\n`
              : `Content-Length: ${cl}\r\n`;
    return `${v}${s1}${st}${s2}${r}${e1}${lines}${hs.join('')}${e2}${b}`;
  });

test('property: a response the fast reader accepts is parsed by llhttp to the same response, complete, nothing left over', () => {
  let accepted = 0;
  fc.assert(fc.property(response, (text) => {
    const buf = Buffer.from(text, 'latin1');
    const r = readResponse(buf, 8192);
    if (r === null) return;
    accepted++;
    const p = llhttp(buf);
    assert.equal(p.error, undefined, `llhttp refused what the fast reader took: ${JSON.stringify(text)}`);
    assert.equal(p.complete, true, JSON.stringify(text));
    assert.deepEqual(
      { status: r.status, reason: r.reason, minor: r.minor, headers: r.headers, keepAlive: r.keepAlive, upgrade: false, body: buf.subarray(r.bodyStart).toString('latin1') },
      { status: p.status, reason: p.reason, minor: p.minor, headers: p.headers, keepAlive: p.keepAlive, upgrade: p.upgrade, body: p.body },
      JSON.stringify(text),
    );
  }), { numRuns: 4000 });
  assert.ok(accepted > 100, `only ${accepted} generated responses were accepted: the property proves little`);
});

test('responses the fast reader leaves to llhttp', () => {
  const declined = [
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi',
    'HTTP/1.1 200 OK\r\n\r\nhi',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nh',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\n',
    'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 100 Continue\r\n\r\n',
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: a\r\n b\r\n\r\n',
    'HTTP/1.1 200 OK\nContent-Length: 0\n\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: \u00e9\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 0 \r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: +0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nConnection: close, keep-alive\r\nContent-Length: 0\r\n\r\n',
    `HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`,
  ];
  for (const text of declined) assert.equal(readResponse(Buffer.from(text, 'latin1'), 8192), null, JSON.stringify(text.slice(0, 80)));
  const ok = readResponse(Buffer.from('HTTP/1.0 200 OK\r\nServer: x\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc', 'latin1'), 8192);
  assert.deepEqual(ok, { status: 200, reason: 'OK', minor: 0, headers: ['Server', 'x', 'Connection', 'keep-alive', 'Content-Length', '3'], keepAlive: true, bodyStart: 73 });
});
