/**
 * Property of the h2c content-length guard (src/proxy/http/h2-guard.ts), through a real proxy:
 * whatever mix of streams a client sends (with or without `content-length`, bodies shorter,
 * equal or longer than declared, DATA interleaved across streams, bytes cut anywhere), the
 * session is never ended; exactly the streams whose bodies match their declared length (or
 * declare none) are answered and reach the backend with exactly their bodies; every other
 * stream alone is reset with PROTOCOL_ERROR and never reaches the backend as a complete
 * request (not even one that sent exactly its declared bytes before going beyond).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:http2';
import fc from 'fast-check';
import { until } from '../support/until.ts';
import { proxyTo, rawBackend } from './support.ts';
import { FLAG, FRAME, frame, headerBlock, rawH2 } from './h2-frames.ts';

interface StreamCase {
  declared: number | undefined;
  chunks: string[];
}

const streamCase: fc.Arbitrary<StreamCase> = fc.record({
  declared: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
  chunks: fc.array(fc.stringMatching(/^[a-z]{0,6}$/), { minLength: 1, maxLength: 4 }),
});

test('property: only the streams that break their content-length are reset; the session and every other stream go on', async (t) => {
  const b = await rawBackend(t);
  const p = await proxyTo(t, b.port);
  let run = 0;
  await fc.assert(fc.asyncProperty(fc.array(streamCase, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }), async (streams, order, cuts) => {
    run++;
    const before = b.requests.length;
    const c = await rawH2(p.port);
    try {
      const ids = streams.map((_s, i) => 2 * i + 1);
      const frames: Buffer[] = [];
      streams.forEach((s, i) => {
        const head: [string, string][] = [[':method', 'POST'], [':scheme', 'http'], [':authority', 'svc'], [':path', `/r${run}-${i}`]];
        if (s.declared !== undefined) head.push(['content-length', String(s.declared)]);
        frames.push(frame(FRAME.HEADERS, FLAG.END_HEADERS, ids[i]!, headerBlock(head)));
      });
      // DATA frames interleaved across streams in an order drawn from `order`, each stream's in sequence.
      const next = streams.map(() => 0);
      let k = 0;
      for (let left = streams.reduce((n, s) => n + s.chunks.length, 0); left > 0; left--) {
        const open = streams.map((s, i) => (next[i]! < s.chunks.length ? i : -1)).filter((i) => i >= 0);
        const i = open[(order[k++] ?? 0) % open.length]!;
        const last = next[i] === streams[i]!.chunks.length - 1;
        frames.push(frame(FRAME.DATA, last ? FLAG.END_STREAM : 0, ids[i]!, Buffer.from(streams[i]!.chunks[next[i]!]!)));
        next[i]!++;
      }
      // The bytes go out cut at arbitrary places.
      const bytes = Buffer.concat(frames);
      for (let off = 0, j = 0; off < bytes.length; j++) {
        const n = cuts[j % cuts.length]!;
        c.send(bytes.subarray(off, off + n));
        off += n;
      }
      const fine = streams.map((s) => s.declared === undefined || s.declared === s.chunks.join('').length);
      const settled = (id: number): boolean => c.frames.some((f) => f.stream === id && (f.type === FRAME.RST_STREAM || (f.type === FRAME.DATA && (f.flags & FLAG.END_STREAM) !== 0)));
      await until('every stream answered or reset', () => ids.every(settled) || c.socket.destroyed, 10_000);
      assert.equal(c.frames.some((f) => f.type === FRAME.GOAWAY), false, 'the session is never ended');
      ids.forEach((id, i) => {
        const rst = c.frames.find((f) => f.stream === id && f.type === FRAME.RST_STREAM);
        if (fine[i]) assert.equal(rst, undefined, `stream ${id} (${JSON.stringify(streams[i])}) is answered`);
        else assert.equal(rst?.payload.readUInt32BE(0), constants.NGHTTP2_PROTOCOL_ERROR, `stream ${id} (${JSON.stringify(streams[i])}) is reset`);
      });
      const expected = streams.flatMap((s, i) => (fine[i] ? [`/r${run}-${i}=${s.chunks.join('')}`] : [])).toSorted();
      await until('the backend to see the good streams', () => b.requests.length - before >= expected.length, 5000);
      const got = b.requests.slice(before).map((r) => `${r.line.split(' ')[1]}=${r.body.toString()}`).toSorted();
      // Nothing else: a stream that goes beyond its length only after all its declared bytes went
      // out never reaches the backend as a complete request (its last byte waits for END_STREAM).
      assert.deepEqual(got, expected);
    } finally {
      c.socket.destroy();
    }
  }), { numRuns: 40 });
});
