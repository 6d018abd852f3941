/**
 * `npx node bench/l4.ts [all|tcp|udp|dns]`: TCP bulk throughput and connection rate, UDP
 * round trips and DNS queries, directly and through the L4 forwarders and the DNS responder
 * running in a worker thread (one core), in one run. Bounded: fixed byte and request counts.
 */
import { Worker } from 'node:worker_threads';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';

const mode = process.argv[2] ?? 'all';
// Backends in this thread.
const tcpServer = createServer((s) => {
  s.on('error', () => {});
  s.on('data', (c) => { if (c.length < 1024) s.write(c); }); // echo small messages, sink bulk
});
await new Promise<void>((resolve) => tcpServer.listen(0, '127.0.0.1', resolve));
const udpServer = createSocket('udp4');
udpServer.on('message', (m, ri) => udpServer.send(m, ri.port, ri.address));
await new Promise<void>((resolve) => udpServer.bind(0, '127.0.0.1', resolve));
const tcpBackend = (tcpServer.address() as AddressInfo).port;
const udpBackend = udpServer.address().port;
const worker = new Worker(new URL('./l4-proxy-worker.ts', import.meta.url), { workerData: { tcpBackend, udpBackend } });
const ports = await new Promise<{ tcp: number; udp: number; dns: number }>((resolve) => worker.once('message', resolve));

async function bulk(port: number, mb: number): Promise<number> {
  const s = connect(port, '127.0.0.1');
  await new Promise((resolve) => s.once('connect', resolve));
  s.resume();
  const chunk = Buffer.alloc(64 * 1024, 1);
  const t0 = performance.now();
  for (let i = 0; i < mb * 16; i++) if (!s.write(chunk)) await new Promise((resolve) => s.once('drain', resolve));
  await new Promise<void>((resolve) => s.end(resolve));
  // Wait for the backend to have read everything: the sink closes when the client ends.
  await new Promise((resolve) => s.once('close', resolve));
  return mb / ((performance.now() - t0) / 1000);
}

async function connRate(port: number, total: number, concurrency: number): Promise<number> {
  let started = 0;
  const one = async (): Promise<void> => {
    while (started < total) {
      started++;
      const s: Socket = connect(port, '127.0.0.1');
      s.on('error', () => {});
      await new Promise((resolve) => s.once('connect', resolve));
      s.write('ping');
      await new Promise((resolve) => s.once('data', resolve));
      s.end();
      await new Promise((resolve) => s.once('close', resolve));
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, one));
  return total / ((performance.now() - t0) / 1000);
}

async function udpRate(port: number, total: number, clients: number, payload: Buffer | ((i: number) => Buffer)): Promise<number> {
  let done = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => {
      let i = 0;
      const send = (): void => {
        if (done >= total) { s.close(); resolve(); return; }
        const msg = typeof payload === 'function' ? payload(i++) : payload;
        // Loss safety: resend after 200 ms without an answer.
        const timer = setTimeout(send, 200);
        s.once('message', () => { clearTimeout(timer); done++; send(); });
        s.send(msg, port, '127.0.0.1');
      };
      send();
    });
  }));
  return done / ((performance.now() - t0) / 1000);
}

const elu = async (): Promise<string> => {
  worker.postMessage('elu');
  const u = await new Promise<number>((resolve) => worker.once('message', resolve));
  return `(proxy thread busy ${(u * 100).toFixed(0)}%)`;
};
const q = (i: number): Buffer => dnsPacket.encode({ type: 'query', id: i & 0xffff, questions: [{ type: 'A', name: 'web.shop.hostmesh' }] });
const r = (n: number): string => n.toFixed(0);
if (mode === 'all' || mode === 'tcp') {
  await bulk(tcpBackend, 200);
  const d = await bulk(tcpBackend, 1024);
  await elu();
  console.log(`tcp bulk 1 GB, one connection: direct ${r(d)} MB/s, via proxy ${r(await bulk(ports.tcp, 1024))} MB/s ${await elu()}`);
  await connRate(ports.tcp, 2000, 50);
  const d2 = await connRate(tcpBackend, 20000, 50);
  await elu();
  console.log(`tcp connect+ping+close, 50 concurrent, 20000 conns: direct ${r(d2)}/s, via proxy ${r(await connRate(ports.tcp, 20000, 50))}/s ${await elu()}`);
}
if (mode === 'conn') {
  await connRate(ports.tcp, 20000, 50);
}
if (mode === 'all' || mode === 'udp') {
  const p = Buffer.alloc(100, 2);
  await udpRate(ports.udp, 5000, 50, p);
  const d3 = await udpRate(udpBackend, 200000, 50, p);
  await elu();
  console.log(`udp 100-byte ping-pong, 50 clients, 200000 exchanges: direct ${r(d3)}/s, via proxy ${r(await udpRate(ports.udp, 200000, 50, p))}/s ${await elu()}`);
}
if (mode === 'all' || mode === 'dns') {
  await udpRate(ports.dns, 5000, 50, q);
  await elu();
  console.log(`dns A queries over UDP, 50 clients, 200000 queries: ${r(await udpRate(ports.dns, 200000, 50, q))}/s ${await elu()}`);
}
await worker.terminate();
tcpServer.close();
udpServer.close();
