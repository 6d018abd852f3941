/**
 * 50 MB up and 50 MB down through the real `hostmesh standalone` process, whose memory is read
 * from outside: its own `/metrics` (`process_resident_memory_bytes`), sampled while the bodies
 * stream. A proxy that buffered a body would grow by at least its 50 MB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { client, httpBackend } from '../proxy/helpers.ts';
import { service } from '../support/standalone.ts';
import { adminUrl, bannerRoutes, childPortRange, MAIN, spawnCli } from './cli-process.ts';

const MB = 1024 * 1024;
const SIZE = 50 * MB;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

async function rss(admin: string): Promise<number> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes '));
  assert.ok(line, 'process_resident_memory_bytes in /metrics');
  return Number(line.slice(line.indexOf(' ') + 1));
}

/** A request body of `size` bytes, produced as it is read. */
function body(size: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) this.push(null);
      else {
        sent += CHUNK.length;
        this.push(CHUNK);
      }
    },
  });
}

test('50 MB streamed up and down through the hostmesh standalone process with bounded memory', async (t) => {
  // PUT: count the bytes. GET /N: N MB, written with backpressure.
  const backend = await httpBackend(t, (req, res) => {
    if (req.method === 'PUT') {
      let n = 0;
      req.on('data', (d: Buffer) => { n += d.length; });
      req.on('end', () => res.end(String(n)));
      return;
    }
    const size = Number(req.url!.slice(1)) * MB;
    res.writeHead(200, { 'content-length': String(size) });
    let written = 0;
    const pump = (): void => {
      while (written < size) {
        written += CHUNK.length;
        if (!res.write(CHUNK)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-stream-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'bulk.yaml'), service('bulk', { ports: [backend.port] }));
  // V8 grows its young generation (up to tens of MB) under allocation pressure whatever is live,
  // which would hide what the proxy holds; a small semi-space keeps that noise to a few MB.
  // Bodies the proxy kept would be promoted to the old generation and count in full.
  const command = [process.execPath, '--max-semi-space-size=2', MAIN];
  const proxy = spawnCli(t, ['standalone', '--manifests', dir, '--admin', '127.0.0.1:0', '--port-range', childPortRange(0), '--log-level', 'warn'], { command });
  const admin = await adminUrl(proxy);
  const port = bannerRoutes(proxy.stdout).get('test/bulk:80');
  assert.ok(port, proxy.stdout.join('\n'));
  const url = `http://127.0.0.1:${port}`;
  const c = client(t);

  // Warm up (code, JIT, pools, socket buffers), so the baseline is the proxy at work, not at rest.
  for (let i = 0; i < 3; i++) {
    const up = await request(`${url}/up`, { dispatcher: c, method: 'PUT', body: body(4 * MB) });
    assert.equal(await up.body.text(), String(4 * MB));
    const down = await request(`${url}/4`, { dispatcher: c });
    for await (const _ of down.body) { /* drain */ }
  }
  await sleep(200);
  const base = await rss(admin);
  let peak = base;
  let samples = 0;
  const sampling = { on: true };
  const sampler = (async () => {
    while (sampling.on) {
      peak = Math.max(peak, await rss(admin));
      samples++;
      await sleep(25);
    }
  })();

  const up = await request(`${url}/upload`, { dispatcher: c, method: 'PUT', body: body(SIZE) });
  assert.equal(up.statusCode, 200);
  assert.equal(await up.body.text(), String(SIZE), 'the backend received every byte');
  // Besides the sampler's reads during each transfer, one right after each: memory a proxy kept
  // for a body would still be there.
  peak = Math.max(peak, await rss(admin));
  const down = await request(`${url}/50`, { dispatcher: c });
  assert.equal(down.statusCode, 200);
  let received = 0;
  for await (const chunk of down.body) received += (chunk as Buffer).length;
  assert.equal(received, SIZE);
  peak = Math.max(peak, await rss(admin));

  sampling.on = false;
  await sampler;
  const growth = (peak - base) / MB;
  t.diagnostic(`proxy RSS ${(base / MB).toFixed(1)} MB before, peak +${growth.toFixed(1)} MB while moving 2 x 50 MB, ${samples} samples`);
  // Buffering either body would add 50 MB; streaming adds socket-sized buffers, plus allocator
  // noise that reached ~20 MB on a loaded 2-core machine. 30 MB still fails any buffering.
  assert.ok(growth < 30, `the proxy's RSS grew by ${growth.toFixed(1)} MB while moving 50 MB each way`);

  const exit = await proxy.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null });
});
