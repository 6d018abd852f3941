import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { client, engine, freePort, httpBackend, svc, table } from './helpers.ts';

const MB = 1024 * 1024;
const SIZE = 50 * MB;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** A backend that counts uploads and streams `SIZE` bytes on GET, honouring backpressure. */
async function bulkBackend(t: Parameters<typeof httpBackend>[0]) {
  const progress = { written: 0 };
  const b = await httpBackend(t, (req, res) => {
    if (req.method === 'PUT') {
      let n = 0;
      req.on('data', (d: Buffer) => { n += d.length; });
      req.on('end', () => res.end(String(n)));
      return;
    }
    res.writeHead(200, { 'content-length': String(SIZE) });
    const pump = (): void => {
      while (progress.written < SIZE) {
        progress.written += CHUNK.length;
        if (!res.write(CHUNK)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  return { port: b.port, progress };
}

function upload(): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= SIZE) this.push(null);
      else {
        sent += CHUNK.length;
        this.push(CHUNK);
      }
    },
  });
}

function ask(child: ChildProcess, msg: object, reply: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const on = (m: Record<string, unknown>): void => {
      if (m.type === reply) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
    child.send(msg);
  });
}

test('50 MB up and 50 MB down stream through a proxy process whose memory stays bounded', async (t) => {
  const backend = await bulkBackend(t);
  const port = await freePort();
  const child = fork(new URL('./child-proxy.ts', import.meta.url), { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  t.after(() => { if (child.exitCode === null) child.kill(); });
  await once(child, 'message');
  const applied = await ask(child, { type: 'apply', table: table([{ cluster: svc('bulk', [backend.port]), listenPort: port }]) }, 'applied');
  assert.equal(applied.ok, true);
  const c = client(t);
  // Warm up so the baseline includes code, JIT and pools, not the transfer.
  await (await request(`http://127.0.0.1:${port}/warm`, { dispatcher: c, method: 'PUT', body: 'x' })).body.text();
  const base = await ask(child, { type: 'memory' }, 'memory');
  // Live bytes after a full GC: what the proxy holds, as opposed to garbage not yet collected.
  const live = (m: Record<string, unknown>) => (m.arrayBuffers as number) + (m.heapUsed as number);
  let peakLive = live(base);
  let peakRss = base.rss as number;
  let samples = 0;
  const sampling = { on: true };
  const sampler = (async () => {
    while (sampling.on) {
      const m = await ask(child, { type: 'memory' }, 'memory');
      peakLive = Math.max(peakLive, live(m));
      peakRss = Math.max(peakRss, m.rss as number);
      samples++;
      await sleep(10);
    }
  })();

  const up = await request(`http://127.0.0.1:${port}/upload`, { dispatcher: c, method: 'PUT', body: upload() });
  assert.equal(up.statusCode, 200);
  assert.equal(await up.body.text(), String(SIZE));

  const down = await request(`http://127.0.0.1:${port}/download`, { dispatcher: c });
  assert.equal(down.statusCode, 200);
  let received = 0;
  for await (const chunk of down.body) received += (chunk as Buffer).length;
  assert.equal(received, SIZE);

  sampling.on = false;
  await sampler;
  const liveGrowth = (peakLive - live(base)) / MB;
  const rssGrowth = (peakRss - (base.rss as number)) / MB;
  assert.ok(samples >= 5, `sampled ${samples} times`);
  // Buffering a body whole would hold 50 MB; streaming holds a few socket-sized buffers.
  assert.ok(liveGrowth < 16, `proxy held up to ${liveGrowth.toFixed(1)} MB while moving 100 MB`);
  assert.ok(rssGrowth < 100, `proxy RSS grew by ${rssGrowth.toFixed(1)} MB`);
  t.diagnostic(`proxy memory while moving 100 MB: live +${liveGrowth.toFixed(1)} MB, RSS +${rssGrowth.toFixed(1)} MB, ${samples} samples`);
  child.send({ type: 'exit' });
  await once(child, 'exit');
});

test('a client that stops reading stops the backend too (backpressure end to end)', async (t) => {
  const backend = await bulkBackend(t);
  const port = await freePort();
  const e = engine(t);
  await e.apply(table([{ cluster: svc('bulk', [backend.port]), listenPort: port }]));
  const r = await request(`http://127.0.0.1:${port}/download`, { dispatcher: client(t) });
  assert.equal(r.statusCode, 200);
  await sleep(500); // not reading: the proxy must stop pulling from the backend
  const stalledAt = backend.progress.written;
  await sleep(200);
  assert.equal(backend.progress.written, stalledAt, 'the backend is held while the client does not read');
  assert.ok(stalledAt < SIZE / 2, `only socket buffers fill: ${(stalledAt / MB).toFixed(1)} MB written of 50`);
  let received = 0;
  for await (const chunk of r.body) received += (chunk as Buffer).length;
  assert.equal(received, SIZE);
});
