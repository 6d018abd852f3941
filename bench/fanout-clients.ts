/**
 * The fan-out bench's watch clients (bench/fanout.ts), all in this worker thread: each opens
 * `GET /v1/watch`, splits NDJSON lines, parses them, and acks every snapshot or delta version as
 * a proxy does. The first `slow` clients can be told to stop reading (their sockets fill) and
 * to read again.
 */
import { Agent, request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { LineSplitter } from '../src/proxy/config/lines.ts';

const { port, token, clients, slow } = workerData as { port: number; token: string; clients: number; slow: number };
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const watchAgent = new Agent({ keepAlive: false, maxSockets: Infinity });
const responses: IncomingMessage[] = [];
let stopping = false;

function ack(node: string, epoch: string, version: number): void {
  const body = JSON.stringify({ node, epoch, version, digest: 'bench', applied: true, time: new Date().toISOString() });
  const req = request({ host: '127.0.0.1', port, path: '/v1/ack', method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => res.resume());
  req.on('error', () => {});
  req.end(body);
}

function watch(i: number): Promise<void> {
  const node = `fanout-${i}`;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/v1/watch?node=${node}`, agent: watchAgent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch ${node}: ${res.statusCode}`));
        return;
      }
      responses[i] = res;
      const splitter = new LineSplitter(1 << 30);
      res.on('data', (chunk: Buffer) => splitter.push(chunk, (line) => {
        const m = JSON.parse(line.toString('utf8')) as { type: string; table?: { epoch: string; version: number }; delta?: { epoch: string; version: number } };
        const v = m.type === 'snapshot' ? m.table : m.type === 'delta' ? m.delta : undefined;
        if (v !== undefined) ack(node, v.epoch, v.version);
      }));
      res.on('error', () => {});
      res.on('end', () => { if (!stopping) process.stderr.write(`watch ${node} ended\n`); });
      resolve();
    });
    req.on('error', reject);
    req.end();
  });
}

// Connect in batches so the listen backlog is not overrun.
for (let i = 0; i < clients; i += 100) {
  await Promise.all(Array.from({ length: Math.min(100, clients - i) }, (_, j) => watch(i + j)));
}
parentPort!.postMessage({ type: 'connected' });
parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'pause') {
    for (let i = 0; i < slow; i++) responses[i]?.pause();
    parentPort!.postMessage({ type: 'paused' });
  } else if (m.type === 'resume') {
    for (let i = 0; i < slow; i++) responses[i]?.resume();
  } else if (m.type === 'stop') {
    stopping = true;
    for (const r of responses) r?.destroy();
    agent.destroy();
    parentPort!.postMessage({ type: 'stopped' });
  }
});
