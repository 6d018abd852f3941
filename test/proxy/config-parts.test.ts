import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate } from 'node:timers/promises';
import fc from 'fast-check';
import { isHostmeshError } from '../../src/common/errors.ts';
import { textPieces } from '../../src/common/text-pieces.ts';
import { LineSplitter } from '../../src/proxy/config/lines.ts';
import { Backoff } from '../../src/proxy/config/backoff.ts';
import { LatestWorker } from '../../src/proxy/config/latest.ts';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonPieces, loadState, saveState, STATE_FILE } from '../../src/proxy/config/state.ts';
import { TABLE_FORMAT } from '../../src/table/index.ts';
import type { RoutingTable } from '../../src/table/index.ts';
import { content } from '../controller/push-fixtures.ts';

/** The lines `push` gives (as text); `pushText` (decoding chunk by chunk) must give the same, or throw the same. */
function split(chunks: Buffer[], max = 1 << 20): string[] {
  const run = (text: boolean): string[] | Error => {
    const s = new LineSplitter(max);
    const out: string[] = [];
    try {
      for (const c of chunks) {
        if (text) s.pushText(c, (l) => out.push(l));
        else s.push(c, (l) => out.push(l.toString('utf8')));
      }
    } catch (e) {
      return e as Error;
    }
    return out;
  };
  const bytes = run(false);
  const text = run(true);
  if (bytes instanceof Error) {
    assert.equal((text as Error).message, bytes.message, 'pushText refuses what push refuses');
    throw bytes;
  }
  assert.deepEqual(text, bytes, 'pushText gives the lines push gives');
  return bytes;
}

test('NDJSON lines come out whole however the stream is chunked', () => {
  assert.deepEqual(split([Buffer.from('{"a":1}\n{"b"'), Buffer.from(':2}\r\n\n{"c"'), Buffer.from(':3}\n')]), ['{"a":1}', '{"b":2}', '{"c":3}']);
  assert.deepEqual(split([Buffer.from('no newline yet')]), []);
  // A character split between chunks, and a CR that ends one chunk with the LF in the next.
  assert.deepEqual(split([Buffer.from('{"é":'), Buffer.from('"€"}\r'), Buffer.from('\n')].flatMap((b) => [b.subarray(0, 2), b.subarray(2)])), ['{"é":"€"}']);
  fc.assert(fc.property(
    fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('\n') && !s.includes('\r') && s.length > 0), { maxLength: 20 }),
    fc.array(fc.nat(), { maxLength: 30 }),
    (lines, cuts) => {
      const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''));
      const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].toSorted((a, b) => a - b);
      const chunks: Buffer[] = [];
      let prev = 0;
      for (const p of [...points, bytes.length]) {
        chunks.push(bytes.subarray(prev, p));
        prev = p;
      }
      assert.deepEqual(split(chunks), lines);
    },
  ));
});

test('a line over the limit is an error, whether it arrives whole or in pieces', () => {
  assert.throws(() => split([Buffer.from(`${'x'.repeat(11)}\n`)], 10), (e) => isHostmeshError(e, 'WATCH_LINE_TOO_LONG') && /limit is 10 bytes/.test(e.message));
  assert.throws(() => split([Buffer.from('x'.repeat(6)), Buffer.from('x'.repeat(6))], 10), (e) => isHostmeshError(e, 'WATCH_LINE_TOO_LONG'));
  assert.deepEqual(split([Buffer.from('x'.repeat(5)), Buffer.from(`${'x'.repeat(5)}\n`)], 10), ['x'.repeat(10)]);
  const s = new LineSplitter(10);
  s.push(Buffer.from('abc'), () => undefined);
  assert.equal(s.pendingBytes, 3);
});

test('backoff doubles with jitter up to its cap and starts over after reset', () => {
  const lo = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => lo.next()), [50, 100, 200, 400, 500, 500]);
  const hi = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
  assert.deepEqual([1, 2, 3, 4, 5].map(() => hi.next()), [100, 200, 400, 800, 1000]);
  hi.reset();
  assert.equal(hi.next(), 100);
  fc.assert(fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 30 }), (rs) => {
    let i = 0;
    const b = new Backoff({ random: () => rs[i++ % rs.length]! });
    let nominal = 100;
    for (const _ of rs) {
      const d = b.next();
      assert.ok(d >= nominal / 2 && d <= nominal, `${d} outside [${nominal / 2}, ${nominal}]`);
      nominal = Math.min(10_000, nominal * 2);
    }
  }));
});

test('the latest worker runs one item at a time and only the newest waiting one', async () => {
  const ran: number[] = [];
  let release: () => void = () => undefined;
  const worker = new LatestWorker<number>(async (n) => {
    ran.push(n);
    if (n === 1) await new Promise<void>((resolve) => { release = resolve; });
  });
  worker.offer(1);
  await setImmediate();
  for (let n = 2; n <= 5; n++) worker.offer(n);
  assert.deepEqual(ran, [1], 'nothing else starts while an item runs');
  release();
  await worker.idle();
  assert.deepEqual(ran, [1, 5]);
  assert.equal(worker.superseded, 3);
  worker.offer(6);
  await worker.idle();
  assert.deepEqual(ran, [1, 5, 6], 'an idle worker starts again');
  worker.stop();
  worker.offer(7);
  await worker.idle();
  assert.deepEqual(ran, [1, 5, 6]);
});

test('LatestWorker with a spacing: offers made during it run once, the newest, after it; stop() ends the wait', async () => {
  const ran: number[] = [];
  const worker = new LatestWorker<number>(async (n) => { ran.push(n); }, 60_000);
  worker.offer(1);
  await setImmediate();
  assert.deepEqual(ran, [1], 'the first offer runs at once');
  for (let n = 2; n <= 5; n++) worker.offer(n);
  await setImmediate();
  assert.deepEqual(ran, [1], 'later offers wait for the spacing');
  assert.equal(worker.superseded, 3);
  // stop() drops the waiting item and idle() does not wait out the minute.
  worker.stop();
  await worker.idle();
  assert.deepEqual(ran, [1]);

  const short = new LatestWorker<number>(async (n) => { ran.push(n); }, 20);
  short.offer(10);
  short.offer(11);
  short.offer(12);
  await short.idle();
  assert.deepEqual(ran, [1, 10, 12], 'the newest waiting item runs once the spacing is over');
});

test('property: the saved table\'s pieces join into JSON.stringify\'s text', () => {
  fc.assert(fc.property(fc.jsonValue(), fc.array(fc.jsonValue(), { minLength: 250, maxLength: 300 }), (v, long) => {
    for (const value of [v, { a: long, b: { c: long, d: v } }, long]) assert.equal([...jsonPieces(value)].join(''), JSON.stringify(value));
  }), { numRuns: 50 });
  const odd = { a: undefined, b: [undefined, () => 1, ...Array.from({ length: 300 }, (_, i) => i)], c: new Date(0) };
  assert.equal([...jsonPieces(odd)].join(''), JSON.stringify(odd));
});

test('a table of 2,000 Services is saved in chunks and loads back equal', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hostmesh-state-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const table: RoutingTable = { format: TABLE_FORMAT, epoch: 'e', version: 7, generatedAt: new Date(0).toISOString(), ...content(2000) };
  await saveState(dir, table);
  const text = await readFile(join(dir, STATE_FILE), 'utf8');
  assert.ok(text.length > 256 * 1024, 'several chunks');
  assert.equal(text, JSON.stringify(table));
  const loaded = await loadState(dir);
  assert.equal(loaded.kind, 'table');
  assert.deepEqual(loaded.kind === 'table' ? loaded.table : undefined, table);
});

test('text pieces join back to the text and never split a surrogate pair', () => {
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.integer({ min: 1, max: 9 }), (text, size) => {
    const pieces = [...textPieces(text, size)];
    assert.equal(pieces.join(''), text);
    for (const p of pieces) {
      assert.ok(p.length <= size + 1);
      assert.notEqual(p.charCodeAt(p.length - 1) & 0xfc00, 0xd800, 'no piece ends on a high surrogate');
      // Each piece encodes to UTF-8 on its own exactly as its part of the whole.
      assert.equal(Buffer.from(p).toString('utf8'), p);
    }
  }));
});
